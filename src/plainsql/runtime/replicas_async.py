"""Read replicas: a pool per replica, and the router that picks one for a read.

    async with open_async_pool(settings) as pool, open_async_replicas(settings) as replicas:
        db = AsyncDatabase(pool, settings, replicas=replicas)

This is the source of :mod:`plainsql.runtime.replicas` (derived by ``tools/async_to_sync.py``).
Each URL of ``replica-urls`` gets a pool of its own, built as the primary's is (the same
sizes, timeouts and connection settings), and named ``<name>-1``, ``<name>-2``, ...; the
routing state and the monitor threads are :mod:`plainsql.runtime._replicas`. With no replica
configured, :func:`open_async_replicas` opens nothing and every read stays on the primary.

A replica that cannot be reached when the pools open is no error: it serves no read until it
answers (its pool keeps trying in the background). Opening waits, at most ``connect-timeout``
plus 1 s, for the monitor's first poll of each replica (blocking, as the primary pool's probe
does: start-up work), so replicas that answer serve from the first call. A read that finds
no free connection of its replica within :data:`REPLICA_WAIT` seconds, or a dead one, goes to
the primary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from plainsql.config import Settings
from plainsql.runtime._pool_common import log_closed, log_open, pool_arguments, pool_statistics
from plainsql.runtime._replicas import ReplicaStats, Router, logger
from plainsql.runtime.connection_async import AsyncPlainConnection
from plainsql.runtime.pool_async import AsyncConn, AsyncPool, _check_if_idle, _configure
from plainsql.server import server_conninfo, through_pooler

# Seconds a read waits for a free connection of its replica before it goes to the primary.
REPLICA_WAIT = 0.5


@dataclass(frozen=True, slots=True, eq=False)
class AsyncReplica:
    """One replica a read may go to: its pool, and the timeout its units send with BEGIN."""

    index: int
    name: str
    pool: AsyncPool
    unit_timeout: int | None  # statement_timeout for each BEGIN, through a pooler only


class AsyncReplicas:
    """The replicas a database handle may read from (its ``replicas=``).

    ``statistics()`` gives each replica's state, lag, reads and pool counters;
    ``primary_reads`` counts the reads that a replica could have served and the primary did.
    """

    def __init__(self, router: Router | None, members: list[AsyncReplica]) -> None:
        self.router = router
        self.members = members

    def __bool__(self) -> bool:
        return bool(self.members)

    @property
    def primary_reads(self) -> int:
        return 0 if self.router is None else self.router.primary_reads

    def pick(self, position: int) -> AsyncReplica | None:
        """A replica that may serve a read of a scope at WAL ``position``, or None."""
        if self.router is None:
            return None
        index = self.router.choose(position)
        return None if index is None else self.members[index]

    async def getconn(self, replica: AsyncReplica) -> AsyncConn | None:
        """A connection of ``replica``, or None (its read goes to the primary)."""
        try:
            return await replica.pool.getconn(timeout=REPLICA_WAIT)
        except PoolTimeout:
            logger.debug(
                "%s: no free connection in %g s; the read goes to the primary",
                replica.name,
                REPLICA_WAIT,
            )
            return None
        except psycopg.OperationalError as exc:
            self.failed(replica, exc)
            return None

    def failed(self, replica: AsyncReplica, exc: BaseException) -> None:
        """A read found ``replica`` unreachable: it serves none until its monitor hears from it."""
        if self.router is not None:
            self.router.failed(replica.index, exc)

    def statistics(self) -> list[ReplicaStats]:
        """Each replica's state, replay position, lag, reads and pool counters."""
        if self.router is None:
            return []
        return self.router.statistics([pool_statistics(m.pool) for m in self.members])


@asynccontextmanager
async def open_async_replicas(
    settings: Settings, primary_conninfo: str | None = None, *, name: str = "plainsql-replica"
) -> AsyncIterator[AsyncReplicas]:
    """The pools of ``replica-urls`` and their monitor, closed when the block ends; the
    primary (to measure the replicas' lag) is the configured server, or ``primary_conninfo``."""
    if not settings.replica_urls:
        yield AsyncReplicas(None, [])
        return
    primary = server_conninfo(settings) if primary_conninfo is None else primary_conninfo
    router = Router(settings, primary, settings.replica_urls)
    members: list[AsyncReplica] = []
    try:
        for index, state in enumerate(router.states):
            url, pool_name = state.conninfo, f"{name}-{index + 1}"
            pool: AsyncPool = AsyncConnectionPool(
                connection_class=AsyncPlainConnection,
                check=_check_if_idle,
                configure=_configure(settings, pool_name, url),
                **pool_arguments(settings, url, pool_name),
            )
            # Not waited for: a replica that does not answer yet is the monitor's business.
            await pool.open(wait=False)
            pooled = through_pooler(settings, url)
            unit_timeout = settings.statement_timeout_ms if pooled else None
            members.append(AsyncReplica(index, state.name, pool, unit_timeout))
            log_open(pool)
        router.start(wait=settings.connect_timeout + 1.0)
        yield AsyncReplicas(router, members)
    finally:
        router.stop()
        for member in members:
            await member.pool.close()
            log_closed(member.pool)
