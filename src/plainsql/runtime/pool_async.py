"""Connection pools built from the settings, opened and closed as context managers.

    async with open_async_pool(settings) as pool:
        async with pool.connection() as conn:
            ...

This is the source of :mod:`plainsql.runtime.pool` (the sync pool, derived by
``tools/async_to_sync.py``). A connection is checked before it is handed out only when its
previous checkout was more than :data:`IDLE_CHECK_AFTER` seconds ago (a round trip per checkout
would double the cost of a one-query call); a connection that died while in use is discarded
by the pool, and :class:`plainsql.runtime.database_async.AsyncDatabase` retries a unit whose
BEGIN found it dead. Connections are in autocommit mode: a statement outside a unit of work
commits on its own (one round trip, no BEGIN/COMMIT); ``AsyncDatabase.transaction()`` (or
``conn.transaction()``) makes a transaction. Connections carry ``application_name`` and
``statement_timeout``; with the ``prepared-statements`` setting off, psycopg prepares nothing
(for poolers that cannot keep prepared statements). Through a declared transaction pooler
(``transaction-pooler``) they prepare nothing unless ``pooler-prepared-statements`` is set,
and refuse session-level statements (``LISTEN``, session ``SET``, session advisory locks).
A server that cannot be reached fails the ``with`` at once with :class:`DatabaseUnavailable`
naming host and port, instead of a bare pool timeout.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from plainsql.config import Settings
from plainsql.runtime._deadline import deadline_seconds
from plainsql.runtime._pool_common import IDLE_CHECK_AFTER as IDLE_CHECK_AFTER
from plainsql.runtime._pool_common import (
    log_closed,
    log_open,
    logger,
    pool_arguments,
    probe,
    probe_failure,
)
from plainsql.runtime._pool_common import pool_statistics as pool_statistics
from plainsql.runtime.connection_async import AsyncPlainConnection
from plainsql.server import prepares, server_conninfo, through_pooler

# The connection and pool types plainsql hands out (rows are built per query, so the
# connection's own row type is left open). Application code names these instead of
# spelling ``Any``.
AsyncConn: TypeAlias = psycopg.AsyncConnection[Any]
AsyncPool: TypeAlias = AsyncConnectionPool[AsyncConn]


def _configure(
    settings: Settings, name: str, target: str
) -> Callable[[AsyncConn], Awaitable[None]]:
    seconds = deadline_seconds(settings)
    pooled = through_pooler(settings, target)
    prepared = prepares(settings, pooled)

    async def configure(conn: AsyncConn) -> None:
        logger.debug("pool %r: new connection, server process %d", name, conn.info.backend_pid)
        await conn.set_autocommit(True)
        if not prepared:
            conn.prepare_threshold = None
        if isinstance(conn, AsyncPlainConnection):
            conn.deadline = seconds
            conn.pooled = pooled
            conn.last_used = time.monotonic()

    return configure


async def _check_if_idle(conn: AsyncConn) -> None:
    # Idle time is measured from the previous checkout: a ``reset`` callback would give the
    # return time, but psycopg_pool then hands every returned connection to a worker, which
    # costs each checkout more than the check it saves.
    if not isinstance(conn, AsyncPlainConnection):
        return
    now, last = time.monotonic(), conn.last_used
    conn.last_used = now
    if now - last > IDLE_CHECK_AFTER:
        await AsyncConnectionPool.check_connection(conn)


@asynccontextmanager
async def open_async_pool(
    settings: Settings, conninfo: str | None = None, *, name: str = "plainsql"
) -> AsyncIterator[AsyncPool]:
    """A pool on the configured server (or ``conninfo``), closed when the block ends."""
    target = server_conninfo(settings) if conninfo is None else conninfo
    # One connection first, within the connect timeout: a server that is down, refuses the
    # login or never answers fails here with its reason, before the pool starts retrying.
    # (It blocks for that connect: opening a pool is start-up work.)
    failure = probe(settings, target)
    if failure is not None:
        raise failure
    pool: AsyncPool = AsyncConnectionPool(
        connection_class=AsyncPlainConnection,
        check=_check_if_idle,
        configure=_configure(settings, name, target),
        **pool_arguments(settings, target, name),
    )
    try:
        await pool.open(wait=True, timeout=settings.connect_timeout + 1)
    except PoolTimeout:
        await pool.close()
        raise probe_failure(settings, target) from None
    log_open(pool)
    try:
        yield pool
    finally:
        await pool.close()
        log_closed(pool)
