"""Connection pools (sync and async) built from the settings, opened and closed as context managers.

    with open_pool(settings) as pool:
        with pool.connection() as conn:
            ...

Connections are checked before they are handed out (a server restart costs one retry, not
an error), carry ``application_name`` and ``statement_timeout``, and a server that cannot
be reached fails the ``with`` at once with :class:`DatabaseUnavailable` naming host and
port, instead of a bare pool timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from plainsql.config import Settings
from plainsql.server import server_conninfo, session_options, unavailable, with_session_options

# The connection and pool types plainsql hands out (rows are built per query, so the
# connection's own row type is left open). Application code names these instead of
# spelling ``Any``.
Conn: TypeAlias = psycopg.Connection[Any]
AsyncConn: TypeAlias = psycopg.AsyncConnection[Any]
Pool: TypeAlias = ConnectionPool[Conn]
AsyncPool: TypeAlias = AsyncConnectionPool[AsyncConn]


def _pool_arguments(settings: Settings, conninfo: str, name: str) -> dict[str, Any]:
    return {
        "conninfo": conninfo,
        "kwargs": session_options(settings),
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "max_idle": settings.pool_max_idle,
        "timeout": settings.pool_timeout,
        "name": name,
        "open": False,
    }


def _probe_failure(settings: Settings, conninfo: str) -> Exception:
    """Connect once outside the pool to learn why the pool could not."""
    try:
        psycopg.connect(with_session_options(settings, conninfo)).close()
    except psycopg.Error as exc:
        return unavailable(conninfo, exc)
    return unavailable(conninfo, TimeoutError("the pool could not open a connection in time"))


@contextmanager
def open_pool(
    settings: Settings, conninfo: str | None = None, *, name: str = "plainsql"
) -> Iterator[ConnectionPool[psycopg.Connection[Any]]]:
    """A sync pool on the configured server (or ``conninfo``), closed when the block ends."""
    target = server_conninfo(settings) if conninfo is None else conninfo
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        check=ConnectionPool.check_connection, **_pool_arguments(settings, target, name)
    )
    try:
        pool.open(wait=True, timeout=settings.connect_timeout + 1)
    except PoolTimeout:
        pool.close()
        raise _probe_failure(settings, target) from None
    try:
        yield pool
    finally:
        pool.close()


@asynccontextmanager
async def open_async_pool(
    settings: Settings, conninfo: str | None = None, *, name: str = "plainsql"
) -> AsyncIterator[AsyncConnectionPool[psycopg.AsyncConnection[Any]]]:
    """An async pool on the configured server (or ``conninfo``), closed when the block ends."""
    target = server_conninfo(settings) if conninfo is None else conninfo
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
        check=AsyncConnectionPool.check_connection, **_pool_arguments(settings, target, name)
    )
    try:
        await pool.open(wait=True, timeout=settings.connect_timeout + 1)
    except PoolTimeout:
        await pool.close()
        raise _probe_failure(settings, target) from None
    try:
        yield pool
    finally:
        await pool.close()


def pool_statistics(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> dict[str, int]:
    """psycopg_pool's counters (pool_size, pool_available, requests_num, ...) without resetting."""
    return dict(pool.get_stats())
