"""Shared test settings: the database fixtures come from plainsql's pytest plugin.

The plugin names its fixtures ``plainsql_*``; this repository's tests use them under the short
names below (a project's own choice, as any user of the plugin may make).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from plainsql.config import Settings
from plainsql.queries import Queries
from plainsql.runtime_async import AsyncDatabase


@pytest.fixture
def database_name(plainsql_database: str) -> str:
    return plainsql_database


@pytest.fixture
def database_url(plainsql_database_url: str) -> str:
    return plainsql_database_url


@pytest.fixture
def db_settings(plainsql_settings: Settings) -> Settings:
    return plainsql_settings


@pytest.fixture
def empty_database_url(plainsql_empty_database_url: str) -> str:
    return plainsql_empty_database_url


@pytest.fixture
def conn(plainsql_conn: psycopg.Connection[tuple[Any, ...]]) -> psycopg.Connection[tuple[Any, ...]]:
    return plainsql_conn


@pytest.fixture
def pool(
    plainsql_pool: ConnectionPool[psycopg.Connection[Any]],
) -> ConnectionPool[psycopg.Connection[Any]]:
    return plainsql_pool


@pytest.fixture
def async_pool(
    plainsql_async_pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]],
) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    return plainsql_async_pool


@pytest.fixture
def async_db(plainsql_async_db: AsyncDatabase) -> AsyncDatabase:
    return plainsql_async_db


@pytest.fixture
def queries(plainsql_queries: Queries) -> Queries:
    return plainsql_queries


@pytest.fixture
def async_queries(plainsql_async_queries: Queries) -> Queries:
    return plainsql_async_queries
