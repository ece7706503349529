"""Shared test settings: the database fixtures come from plainsql's pytest plugin.

The plugin names its fixtures ``plainsql_*``; this repository's tests use them under the short
names below (a project's own choice, as any user of the plugin may make).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from typing import Any, ForwardRef, Literal, Union, get_args, get_origin, get_type_hints

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from plainsql import AsyncDatabase, Queries, Settings


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


Conforms = Callable[[object, Any, Mapping[str, Any]], bool]


@pytest.fixture
def conforms() -> Conforms:
    """``conforms(value, hint, namespace)``: whether a value fits a generated annotation, for
    the soundness tests of typegen's test project and of the application alike."""
    return _conforms


def _conforms(value: object, hint: Any, namespace: Mapping[str, Any]) -> bool:
    """Whether ``value`` is of type ``hint`` (the subset of typing the generator writes); names
    in ``hint`` are looked up in ``namespace`` (the generated records and queries)."""
    if isinstance(hint, str | ForwardRef):
        hint = eval(hint if isinstance(hint, str) else hint.__forward_arg__, dict(namespace))
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg, namespace) for arg in get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if origin is Literal:
        return value in get_args(hint)
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_conforms(v, item, namespace) for v in value)
    if origin is dict:
        key, item = get_args(hint)
        return isinstance(value, dict) and all(
            _conforms(k, key, namespace) and _conforms(v, item, namespace) for k, v in value.items()
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = get_type_hints(hint, dict(namespace))
        return type(value) is hint and all(
            _conforms(getattr(value, f), t, namespace) for f, t in fields.items()
        )
    if hint is int:
        return type(value) is int  # not a bool
    return isinstance(hint, type) and isinstance(value, hint)
