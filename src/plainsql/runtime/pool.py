"""Connection pools (sync and async) built from the settings, opened and closed as context managers.

    with open_pool(settings) as pool:
        with pool.connection() as conn:
            ...

A connection is checked before it is handed out only when its previous checkout was more
than :data:`IDLE_CHECK_AFTER` seconds ago (a round trip per checkout would double the cost of a
one-query call); a connection that died while in use is discarded by the pool, and
:class:`plainsql.runtime.database_async.AsyncDatabase` retries a unit whose BEGIN found it dead.
Connections are in autocommit mode: a statement outside a unit of work commits on its own
(one round trip, no BEGIN/COMMIT); ``AsyncDatabase.transaction()`` (or
``conn.transaction()``) makes a transaction. Connections carry ``application_name`` and
``statement_timeout``; with the
``prepared-statements`` setting off, psycopg prepares nothing (for poolers that cannot keep
prepared statements). A server that cannot be reached fails the ``with`` at once with
:class:`DatabaseUnavailable` naming host and port, instead of a bare pool timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from plainsql.config import Settings, describe_target
from plainsql.runtime._deadline import deadline_seconds
from plainsql.runtime.connection import PlainConnection
from plainsql.runtime.connection_async import AsyncPlainConnection
from plainsql.server import server_conninfo, session_options, unavailable, with_session_options

# The connection and pool types plainsql hands out (rows are built per query, so the
# connection's own row type is left open). Application code names these instead of
# spelling ``Any``.
Conn: TypeAlias = psycopg.Connection[Any]
AsyncConn: TypeAlias = psycopg.AsyncConnection[Any]
Pool: TypeAlias = ConnectionPool[Conn]
AsyncPool: TypeAlias = AsyncConnectionPool[AsyncConn]


# Pools opened and closed, and each connection a pool adds (its growth); psycopg_pool's own
# records (under psycopg.pool, at INFO for every checkout) say when it shrinks.
logger = logging.getLogger("plainsql.pool")

# A connection idle for longer than this is checked (one round trip) before it is handed out.
IDLE_CHECK_AFTER = 5.0


def _configure(settings: Settings, name: str) -> Callable[[Conn], None]:
    seconds = deadline_seconds(settings)

    def configure(conn: Conn) -> None:
        logger.debug("pool %r: new connection, server process %d", name, conn.info.backend_pid)
        conn.autocommit = True
        if not settings.prepared_statements:
            conn.prepare_threshold = None
        if isinstance(conn, PlainConnection):
            conn.deadline = seconds
            conn.last_used = time.monotonic()

    return configure


def _check_if_idle(conn: Conn) -> None:
    # Idle time is measured from the previous checkout: a ``reset`` callback would give the
    # return time, but psycopg_pool then hands every returned connection to a worker thread,
    # which costs each checkout more than the check it saves.
    if not isinstance(conn, PlainConnection):
        return
    now, last = time.monotonic(), conn.last_used
    conn.last_used = now
    if now - last > IDLE_CHECK_AFTER:
        ConnectionPool.check_connection(conn)


def _async_configure(settings: Settings, name: str) -> Callable[[AsyncConn], Awaitable[None]]:
    seconds = deadline_seconds(settings)

    async def configure(conn: AsyncConn) -> None:
        logger.debug("pool %r: new connection, server process %d", name, conn.info.backend_pid)
        await conn.set_autocommit(True)
        if not settings.prepared_statements:
            conn.prepare_threshold = None
        if isinstance(conn, AsyncPlainConnection):
            conn.deadline = seconds
            conn.last_used = time.monotonic()

    return configure


async def _async_check_if_idle(conn: AsyncConn) -> None:
    if not isinstance(conn, AsyncPlainConnection):
        return
    now, last = time.monotonic(), conn.last_used
    conn.last_used = now
    if now - last > IDLE_CHECK_AFTER:
        await AsyncConnectionPool.check_connection(conn)


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
        connection_class=PlainConnection,
        check=_check_if_idle,
        configure=_configure(settings, name),
        **_pool_arguments(settings, target, name),
    )
    try:
        pool.open(wait=True, timeout=settings.connect_timeout + 1)
    except PoolTimeout:
        pool.close()
        raise _probe_failure(settings, target) from None
    _log_open(pool)
    try:
        yield pool
    finally:
        pool.close()
        _log_closed(pool)


@asynccontextmanager
async def open_async_pool(
    settings: Settings, conninfo: str | None = None, *, name: str = "plainsql"
) -> AsyncIterator[AsyncConnectionPool[psycopg.AsyncConnection[Any]]]:
    """An async pool on the configured server (or ``conninfo``), closed when the block ends."""
    target = server_conninfo(settings) if conninfo is None else conninfo
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
        connection_class=AsyncPlainConnection,
        check=_async_check_if_idle,
        configure=_async_configure(settings, name),
        **_pool_arguments(settings, target, name),
    )
    try:
        await pool.open(wait=True, timeout=settings.connect_timeout + 1)
    except PoolTimeout:
        await pool.close()
        raise _probe_failure(settings, target) from None
    _log_open(pool)
    try:
        yield pool
    finally:
        await pool.close()
        _log_closed(pool)


def _log_open(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> None:
    target = describe_target(pool.conninfo) if isinstance(pool.conninfo, str) else "?"
    logger.info(
        "pool %r open on %s: %d to %d connections",
        pool.name,
        target,
        pool.min_size,
        pool.max_size,
    )


def _log_closed(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> None:
    stats = pool.get_stats()
    logger.info(
        "pool %r closed: %d connections made, %d lost, %d requests (%d waited, %d timed out)",
        pool.name,
        stats.get("connections_num", 0),
        stats.get("connections_lost", 0),
        stats.get("requests_num", 0),
        stats.get("requests_queued", 0),
        stats.get("requests_errors", 0),
    )


def pool_statistics(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> dict[str, int]:
    """psycopg_pool's counters (pool_size, pool_available, requests_num, ...) without resetting."""
    return dict(pool.get_stats())
