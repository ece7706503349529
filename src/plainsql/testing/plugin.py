"""pytest fixtures for code that uses plainsql, on a real PostgreSQL (see plainsql.testing).

Session: ``plainsql_server``, ``plainsql_template``, ``queries``, ``async_queries``.
Per test: ``database_name`` (a fresh copy of the migrated template), ``database_url``,
``db_settings`` (Settings pointing at it), ``conn`` (a sync connection, rolled back after the
test), ``pool`` and ``async_pool``, and ``empty_database_url`` (no migrations applied).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from plainsql.config import Settings
from plainsql.pool import open_async_pool, open_pool
from plainsql.queries import Queries, load_async_queries, load_queries
from plainsql.testing import (
    TestServer,
    build_template,
    cloned_database,
    drop_template,
    open_test_server,
    scratch_database,
)


@pytest.fixture(scope="session")
def plainsql_server() -> Iterator[TestServer]:
    """The PostgreSQL server this session's tests run on."""
    with open_test_server() as server:
        yield server


@pytest.fixture(scope="session")
def plainsql_template(plainsql_server: TestServer) -> Iterator[str]:
    """Name of a template database built by the real migrations, once per session."""
    name = build_template(plainsql_server)
    yield name
    drop_template(plainsql_server, name)


@pytest.fixture
def database_name(plainsql_server: TestServer, plainsql_template: str) -> Iterator[str]:
    """A migrated database of this test's own."""
    with cloned_database(plainsql_server, plainsql_template) as name:
        yield name


@pytest.fixture
def database_url(plainsql_server: TestServer, database_name: str) -> str:
    return plainsql_server.conninfo(database_name)


@pytest.fixture
def db_settings(plainsql_server: TestServer, database_name: str) -> Settings:
    """Settings pointing at this test's database, small pool."""
    return plainsql_server.settings_for(database_name)


@pytest.fixture
def empty_database_url(plainsql_server: TestServer) -> Iterator[str]:
    """A database with no migrations applied, for migration tests."""
    with scratch_database(plainsql_server) as name:
        yield plainsql_server.conninfo(name)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A sync connection to this test's database; whatever it leaves uncommitted is rolled back."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def pool(db_settings: Settings) -> Iterator[ConnectionPool[psycopg.Connection[Any]]]:
    with open_pool(db_settings) as opened:
        yield opened


@pytest.fixture
async def async_pool(
    db_settings: Settings,
) -> AsyncIterator[AsyncConnectionPool[psycopg.AsyncConnection[Any]]]:
    async with open_async_pool(db_settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def queries(plainsql_server: TestServer) -> Queries:
    """Sync query functions for the project's sql/ folder."""
    return load_queries(plainsql_server.settings.sql_dir)


@pytest.fixture(scope="session")
def async_queries(plainsql_server: TestServer) -> Queries:
    """Async query functions for the project's sql/ folder."""
    return load_async_queries(plainsql_server.settings.sql_dir)


def pytest_report_header(config: pytest.Config) -> str:
    import os

    if os.environ.get("PLAINSQL_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"):
        return "plainsql: tests run on the server in PLAINSQL_TEST_DATABASE_URL / DATABASE_URL"
    return "plainsql: tests run on a testcontainers PostgreSQL if Docker answers, else embedded"
