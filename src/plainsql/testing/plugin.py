"""pytest fixtures for a project that uses plainsql, on a real PostgreSQL (see plainsql.testing).

Every fixture is named ``plainsql_*``, so the plugin, registered for every project that
installs plainsql, never shadows a project's own fixtures. Session: ``plainsql_server``,
``plainsql_template``, ``plainsql_queries``, ``plainsql_async_queries``. Per test:
``plainsql_database`` (the name of a fresh copy of the migrated template),
``plainsql_database_url``, ``plainsql_settings`` (Settings pointing at it), ``plainsql_conn``
(a sync connection, rolled back after the test), ``plainsql_pool``, ``plainsql_async_pool``,
``plainsql_db`` and ``plainsql_async_db`` (the runtime over them) and
``plainsql_empty_database_url`` (no migrations applied).

The async fixtures are pytest-asyncio fixtures, so they work in its strict mode (the default:
mark async tests with ``@pytest.mark.asyncio``) and in auto mode alike. Without the
``testing`` extra the sync fixtures still work and the async ones say what to install.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from plainsql import AsyncPool, Pool, open_async_pool, open_pool
from plainsql.config import Settings
from plainsql.queries import Queries, load_async_queries, load_queries
from plainsql.runtime.database import Database
from plainsql.runtime.database_async import AsyncDatabase
from plainsql.server import scratch_database
from plainsql.testing import (
    TestServer,
    build_template,
    cloned_database,
    describe_server_choice,
    drop_template,
    open_test_server,
)

F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(fn: F) -> F:
    """A pytest-asyncio fixture; without the ``testing`` extra, one that says what to install."""
    try:
        import pytest_asyncio
    except ImportError:

        def missing() -> None:
            pytest.fail(
                f"{fn.__name__} needs pytest-asyncio: pip install 'plainsql[testing]'",
                pytrace=False,
            )

        missing.__doc__ = fn.__doc__
        return pytest.fixture(name=fn.__name__)(missing)  # type: ignore[return-value]
    return pytest_asyncio.fixture(fn)  # type: ignore[return-value]  # typed as Any there


@pytest.fixture(scope="session")
def plainsql_server() -> Iterator[TestServer]:
    """The PostgreSQL server this session's tests run on (named in the test header)."""
    with open_test_server() as server:
        yield server


@pytest.fixture(scope="session")
def plainsql_template(plainsql_server: TestServer) -> Iterator[str]:
    """Name of a template database built by the real migrations, once per session."""
    name = build_template(plainsql_server)
    yield name
    drop_template(plainsql_server, name)


@pytest.fixture
def plainsql_database(plainsql_server: TestServer, plainsql_template: str) -> Iterator[str]:
    """The name of a migrated database of this test's own, dropped after the test."""
    with cloned_database(plainsql_server, plainsql_template) as name:
        yield name


@pytest.fixture
def plainsql_database_url(plainsql_server: TestServer, plainsql_database: str) -> str:
    """The connection string of this test's migrated database."""
    return plainsql_server.conninfo(plainsql_database)


@pytest.fixture
def plainsql_settings(plainsql_server: TestServer, plainsql_database: str) -> Settings:
    """The project's settings, pointing at this test's database."""
    return plainsql_server.settings_for(plainsql_database)


@pytest.fixture
def plainsql_empty_database_url(plainsql_server: TestServer) -> Iterator[str]:
    """A database with no migrations applied, for migration tests."""
    with scratch_database(
        plainsql_server.settings, "test", conninfo=plainsql_server.admin_conninfo
    ) as conninfo:
        yield conninfo


@pytest.fixture
def plainsql_conn(
    plainsql_database_url: str,
) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A sync connection to this test's database; whatever it leaves uncommitted is rolled back."""
    with psycopg.connect(plainsql_database_url) as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def plainsql_pool(plainsql_settings: Settings) -> Iterator[ConnectionPool[psycopg.Connection[Any]]]:
    """plainsql's sync pool on this test's database."""
    with open_pool(plainsql_settings) as opened:
        yield opened


@_async_fixture
async def plainsql_async_pool(
    plainsql_settings: Settings,
) -> AsyncIterator[AsyncConnectionPool[psycopg.AsyncConnection[Any]]]:
    """plainsql's async pool on this test's database."""
    async with open_async_pool(plainsql_settings) as opened:
        yield opened


@pytest.fixture
def plainsql_db(plainsql_pool: Pool, plainsql_settings: Settings) -> Database:
    """plainsql's sync runtime (units of work) over ``plainsql_pool``."""
    return Database(plainsql_pool, plainsql_settings)


@pytest.fixture
def plainsql_async_db(plainsql_async_pool: AsyncPool, plainsql_settings: Settings) -> AsyncDatabase:
    """plainsql's async runtime (units of work) over ``plainsql_async_pool``."""
    return AsyncDatabase(plainsql_async_pool, plainsql_settings)


@pytest.fixture(scope="session")
def plainsql_queries(plainsql_server: TestServer) -> Queries:
    """Sync query functions for the project's sql/ folder."""
    return load_queries(plainsql_server.settings.sql_dir, settings=plainsql_server.settings)


@pytest.fixture(scope="session")
def plainsql_async_queries(plainsql_server: TestServer) -> Queries:
    """Async query functions for the project's sql/ folder."""
    return load_async_queries(plainsql_server.settings.sql_dir, settings=plainsql_server.settings)


def pytest_report_header(config: pytest.Config) -> str:
    return f"plainsql: {describe_server_choice()}"
