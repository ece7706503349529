"""The query cache: the results of the queries marked ``-- plainsql: cache ttl=...``, kept per
role, acting user and parameters, dropped when the server says a table they read was written.

    async with open_async_cache(db, queries) as cache:
        ...  # read-only units of db's pool now serve the marked queries from the cache

This is the source of :mod:`plainsql.runtime.cache` (the sync cache, derived by
``tools/async_to_sync.py``; its listener is a thread where this one is a task). Opening it:

1. connects over the direct URL (``DIRECT_URL``, else ``DATABASE_URL``: ``LISTEN`` needs a
   session of its own, never a transaction pooler's);
2. asks the server what each marked query reads (:mod:`plainsql.runtime._reads_async`) and
   refuses to open (:class:`~plainsql.errors.CacheError`, naming file, line and query) when a
   query is not a plain read, when its reads cannot be known and its directive lists no
   tables, or when a table it reads has no ``plainsql_cache_notify`` trigger (``plainsql cache
   migration`` writes the migration that adds them);
3. ``LISTEN plainsql_cache``: every write to a watched table, from any process, psql or a
   cascade, notifies the table's oid at its commit, and the entries of every query reading it
   are dropped. When the listening connection drops, the cache empties itself and serves
   nothing until it listens again (it reconnects by itself).

A result is served and kept only inside a read-only READ COMMITTED unit of work on the
database handle's pool (``db.unit(read_only=True)``, ``db.transaction(read_only=True)``):
a read-write unit sees its own writes, a REPEATABLE READ unit its own snapshot. The counters
go to ``plainsql.cache_stats`` every 10 s and at close (``plainsql stats`` shows them). Logs
go to ``plainsql.cache``: table names, query names and counts, never a parameter value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.errors import CacheError, DatabaseUnavailable
from plainsql.queries import Queries
from plainsql.runtime._cache_sql import ADD_STATS, CHANNEL, MISSING_TRIGGERS, TRIGGER
from plainsql.runtime._reads_async import analyse
from plainsql.runtime._reads_common import Reads
from plainsql.runtime._reuse import (
    CACHES_OPEN,
    AsyncWorker,
    CacheSpec,
    CacheStore,
    QueryCounts,
    async_join,
    async_sleep,
    async_spawn,
)
from plainsql.runtime.database_async import AsyncDatabase
from plainsql.server import session_conninfo, unavailable, with_session_options

logger = logging.getLogger("plainsql.cache")

POLL_SECONDS = 0.2  # the listener looks at its stop flag (and the flush clock) this often
FLUSH_SECONDS = 10.0  # the counters go to plainsql.cache_stats this often
RECONNECT_SECONDS = (0.05, 2.0)  # first and longest pause between reconnection attempts

Listener = psycopg.AsyncConnection[Any]


class AsyncQueryCache:
    """An open query cache (:func:`open_async_cache`).

    ``reads`` holds, per cached query, what the server said it reads; ``tables`` the names of
    the watched tables by oid. ``stats()`` gives this process's counters per query.
    """

    def __init__(
        self,
        db: AsyncDatabase,
        conninfo: str,
        store: CacheStore,
        reads: dict[str, Reads],
        listener: Listener,
    ) -> None:
        self.pool = db.pool
        self.settings: Settings = db.settings
        self.store = store
        self.reads = reads
        self.tables = {oid: name for r in reads.values() for oid, name in r.tables.items()}
        self._conninfo = conninfo
        self._listener: Listener | None = listener
        self.listener_pid: int | None = listener.info.backend_pid
        self._closing = False
        self._flushed = store.snapshot()
        self._flush_failed = False
        self._worker: AsyncWorker | None = None

    # -- what an application (or its tests) may look at

    @property
    def listening(self) -> bool:
        """Whether the cache listens (it serves and keeps results only then)."""
        return self.store.listening

    @property
    def notifications(self) -> int:
        """How many notifications of a write the cache has received."""
        return self.store.notifications

    @property
    def drops(self) -> int:
        """How many times its listening connection dropped (each time it emptied itself)."""
        return self.store.drops

    def stats(self) -> dict[str, QueryCounts]:
        """This process's hits, misses, evictions and invalidations, per cached query."""
        return self.store.snapshot()

    def clear(self) -> None:
        """Forget every result kept (the counters stay)."""
        self.store.clear()

    async def wait_for_notification(self, seen: int, *, within: float = 30.0) -> None:
        """Return once more than ``seen`` notifications have arrived (``seen``: the value of
        :attr:`notifications` before the write); :class:`TimeoutError` after ``within``
        seconds. For tests and scripts that must act after another process's write is known."""
        await self._wait(lambda: self.store.notifications > seen, within, "a notification")

    async def wait_for_drop(self, seen: int, *, within: float = 30.0) -> None:
        """Return once the listening connection has dropped more than ``seen`` times."""
        await self._wait(lambda: self.store.drops > seen, within, "the listener to drop")

    async def wait_until_listening(self, *, within: float = 30.0) -> None:
        """Return once the cache listens (again)."""
        await self._wait(lambda: self.store.listening, within, "the cache to listen")

    async def _wait(self, done: Any, within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the query cache waited {within:g} s for {what}")
            await async_sleep(0.005)

    # -- the listener

    async def _listen(self) -> None:
        """Receive notifications until closed; reconnect (empty) when the connection drops.
        Whatever ends it, the cache serves nothing more: nobody would invalidate it."""
        try:
            await self._listen_until_closed()
        finally:
            self.store.dropped()

    async def _listen_until_closed(self) -> None:
        flushed_at = time.monotonic()
        while not self._closing:
            listener = self._listener
            if listener is None:
                self._listener = await self._reconnect()
                continue
            try:
                async for note in listener.notifies(timeout=POLL_SECONDS):
                    self._notified(note.payload, note.pid)
                if time.monotonic() - flushed_at >= FLUSH_SECONDS:
                    flushed_at = time.monotonic()
                    await self._flush(listener)
            except Exception as exc:  # the connection, or anything else: never serve unheard
                self._listener = None
                self.listener_pid = None
                dropped = self.store.dropped()
                logger.warning(
                    "the query cache's listening connection dropped (%s): %d results "
                    "forgotten; nothing is served from the cache until it listens again",
                    type(exc).__name__,
                    dropped,
                    exc_info=not isinstance(exc, psycopg.Error),
                )
                with suppress(psycopg.Error):
                    await listener.close()

    def _notified(self, payload: str, pid: int) -> None:
        try:
            oid = int(payload)
        except ValueError:
            logger.debug("a notification on %s that names no table: ignored", CHANNEL)
            return
        names = self.store.invalidate(oid)
        if names:
            logger.debug(
                "%s written (server process %d): entries of %s dropped",
                self.tables.get(oid, oid),
                pid,
                ", ".join(names),
            )

    async def _reconnect(self) -> Listener | None:
        pause = RECONNECT_SECONDS[0]
        while not self._closing:
            try:
                listener = await _listen_on(self.settings, self._conninfo)
            except DatabaseUnavailable as exc:
                logger.debug("the query cache cannot listen yet: %s", exc)
                waited = 0.0
                while waited < pause and not self._closing:
                    step = min(POLL_SECONDS, pause - waited)
                    await async_sleep(step)
                    waited += step
                pause = min(pause * 2, RECONNECT_SECONDS[1])
                continue
            self.listener_pid = listener.info.backend_pid
            self.store.listening_again()
            logger.info("the query cache listens again (server process %d)", self.listener_pid)
            return listener
        return None

    async def _flush(self, listener: Listener) -> None:
        """Add this process's counters since the last flush to plainsql.cache_stats."""
        now = self.store.snapshot()
        deltas = {
            name: counts.minus(self._flushed.get(name, QueryCounts()))
            for name, counts in now.items()
        }
        deltas = {
            n: d for n, d in deltas.items() if d.hits or d.misses or d.evictions or d.invalidations
        }
        if not deltas:
            return
        names = sorted(deltas)
        try:
            await listener.execute(
                ADD_STATS,
                (
                    names,
                    [deltas[n].hits for n in names],
                    [deltas[n].misses for n in names],
                    [deltas[n].evictions for n in names],
                    [deltas[n].invalidations for n in names],
                ),
            )
        except psycopg.Error as exc:
            if not self._flush_failed:
                logger.warning(
                    "the query cache cannot add its counters to plainsql.cache_stats (%s); "
                    "`plainsql stats` will not show them",
                    exc.diag.message_primary or type(exc).__name__,
                )
            self._flush_failed = True
            if listener.closed:
                raise
            return
        self._flushed = now
        logger.debug("counters of %d cached queries flushed", len(names))

    async def _close(self) -> None:
        self._closing = True
        if self._worker is not None:
            await async_join(self._worker)
        listener = self._listener
        self._listener = None
        if listener is not None:
            with suppress(psycopg.Error):
                await self._flush(listener)
            await listener.close()
        logger.info("query cache closed")


async def _listen_on(settings: Settings, conninfo: str) -> Listener:
    """A connection of its own (autocommit) that has run ``LISTEN plainsql_cache``."""
    try:
        listener = await psycopg.AsyncConnection.connect(
            with_session_options(settings, conninfo), autocommit=True
        )
    except psycopg.Error as exc:
        raise unavailable(conninfo, exc) from exc
    try:
        await listener.execute(f"LISTEN {CHANNEL}")
    except psycopg.Error as exc:
        await listener.close()
        raise unavailable(conninfo, exc) from exc
    return listener


@asynccontextmanager
async def open_async_cache(
    db: AsyncDatabase,
    queries: Queries,
    *,
    max_entries: int | None = None,
    max_mb: int | None = None,
) -> AsyncIterator[AsyncQueryCache]:
    """Open the cache of ``queries``' cached queries for the read-only units of ``db``'s pool,
    closed when the block ends (see the module's docstring). ``queries`` is what
    :func:`~plainsql.load_async_queries` returned: the typed queries typegen built on it are
    served too. ``max_entries`` and ``max_mb`` bound it (default: the ``cache-max-entries``
    and ``cache-max-mb`` settings)."""
    adapter: Any = queries.driver_adapter
    if adapter.cache is not None:
        raise CacheError("these queries already have a query cache open: close it first")
    settings = db.settings
    conninfo = session_conninfo(settings, "the query cache (LISTEN)")
    listener = await _listen_on(settings, conninfo)
    try:
        specs: dict[str, CacheSpec] = dict(adapter.cache_specs)
        reads = await _analysed(listener, queries, specs)
        store = CacheStore(
            specs,
            {name: frozenset(r.tables) for name, r in reads.items()},
            max_entries=settings.cache_max_entries if max_entries is None else max_entries,
            max_bytes=(settings.cache_max_mb if max_mb is None else max_mb) * 1024 * 1024,
        )
        # LISTEN ran before the analysis: a write committed since then is notified.
        store.listening_again()
        cache = AsyncQueryCache(db, conninfo, store, reads, listener)
    except BaseException:
        await listener.close()
        raise
    cache._worker = async_spawn(cache._listen, "plainsql query cache listener")
    served = [adapter, *adapter.followers]  # the typed queries built on these (typegen)
    for each in served:
        each.cache = cache
    CACHES_OPEN[0] += 1
    logger.info(
        "query cache open: %d queries, %d tables watched (%s), at most %d results",
        len(specs),
        len(cache.tables),
        ", ".join(sorted(cache.tables.values())),
        store.max_entries,
    )
    try:
        yield cache
    finally:
        for each in served:
            each.cache = None
        CACHES_OPEN[0] -= 1
        await cache._close()


async def _analysed(
    conn: Listener, queries: Queries, specs: dict[str, CacheSpec]
) -> dict[str, Reads]:
    """What each cached query reads; :class:`CacheError` listing every query that cannot be
    cached and every table without its trigger."""
    reads: dict[str, Reads] = {}
    problems: list[str] = []
    for name, spec in sorted(specs.items()):
        fn: Any = queries.get(name)
        where = f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}: {name}"
        try:
            found = await analyse(conn, fn.sql, spec.tables)
        except psycopg.Error as exc:
            problems.append(f"{where}: the server cannot parse it: {exc.diag.message_primary}")
            continue
        refusal = found.refusal(spec)
        if refusal is not None:
            problems.append(f"{where}: not cacheable: {refusal}")
            continue
        reads[name] = found
    watched = {oid: name for r in reads.values() for oid, name in r.tables.items()}
    if watched:
        cur = await conn.execute(MISSING_TRIGGERS, (sorted(watched),))
        for (oid,) in await cur.fetchall():
            users = sorted(n for n, r in reads.items() if oid in r.tables)
            problems.append(
                f"table {watched[oid]} (read by {', '.join(users)}) has no {TRIGGER} trigger: "
                "run `plainsql cache migration`, review the migration it writes and apply it"
            )
    if problems:
        raise CacheError("the query cache cannot open:\n  " + "\n  ".join(problems))
    return reads
