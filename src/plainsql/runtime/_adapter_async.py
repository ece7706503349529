"""aiosql driver adapter for an async psycopg 3 connection.

This is the source of both adapters: :mod:`plainsql.runtime._adapter` is derived from it by
``tools/async_to_sync.py`` (``make format`` runs it; ``make lint`` checks the two agree).

Every call is on the path of every query, so it is kept lean: the row factory of each query is
built once (:meth:`AdapterBase.row_factory_of`), cursors are not closed explicitly (a
client-side cursor holds nothing on the server; psycopg's ``conn.execute`` does the same), and
driver errors are mapped in an ``except`` clause, which costs nothing when nothing fails.
Each call is timed for the slow-query log (:mod:`plainsql.runtime._slow`): two
``perf_counter`` reads and a comparison. A read checks whether a result may be reused (a
deduplicating scope is open, or a query cache serves this adapter: :mod:`plainsql.runtime._reuse`):
an attribute and a context variable read when neither is; a write empties the open scope.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any

import psycopg

from plainsql.errors import map_error
from plainsql.runtime._adapter_common import CLIENT_ERRORS, AdapterBase, Params, query_failure
from plainsql.runtime._reads_async import is_read
from plainsql.runtime._reuse import (
    LEADING,
    MISSING,
    SCOPE,
    AsyncFlight,
    Lead,
    NotReused,
    ReuseProbe,
    Stamp,
    copied,
    params_key,
    written,
)
from plainsql.runtime._slow import report

logger = logging.getLogger("plainsql.cache")

Run = Callable[..., Awaitable[Any]]  # the read itself: select, select_one or select_value


class AsyncPsycopgAdapter(AdapterBase):
    """aiosql driver adapter for an async psycopg 3 connection."""

    is_aio_driver = True

    async def select(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
        *,
        reusing: bool = True,
    ) -> list[Any]:
        if reusing and (self.cache is not None or SCOPE.get() is not None):
            rows: list[Any] = await self._reused(conn, query_name, sql, parameters, self.select)
            return rows
        started = perf_counter()
        try:
            cur = conn.cursor(row_factory=self.row_factory_of(query_name))
            await cur.execute(sql, parameters)
            rows = await cur.fetchall()
        except CLIENT_ERRORS as exc:
            query_failure(exc, query_name, conn, parameters)
        elapsed = perf_counter() - started
        if elapsed > self.slow_after:
            report(query_name, elapsed, len(rows), parameters)
        return rows

    async def select_one(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
        *,
        reusing: bool = True,
    ) -> Any:
        if reusing and (self.cache is not None or SCOPE.get() is not None):
            return await self._reused(conn, query_name, sql, parameters, self.select_one)
        started = perf_counter()
        try:
            cur = conn.cursor(row_factory=self.row_factory_of(query_name))
            await cur.execute(sql, parameters)
            row = await cur.fetchone()
        except CLIENT_ERRORS as exc:
            query_failure(exc, query_name, conn, parameters)
        elapsed = perf_counter() - started
        if elapsed > self.slow_after:
            report(query_name, elapsed, 0 if row is None else 1, parameters)
        return row

    async def select_value(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        *,
        reusing: bool = True,
    ) -> Any:
        if reusing and (self.cache is not None or SCOPE.get() is not None):
            return await self._reused(conn, query_name, sql, parameters, self.select_value)
        started = perf_counter()
        try:
            cur = conn.cursor()
            await cur.execute(sql, parameters)
            row = await cur.fetchone()
        except CLIENT_ERRORS as exc:
            query_failure(exc, query_name, conn, parameters)
        elapsed = perf_counter() - started
        if elapsed > self.slow_after:
            report(query_name, elapsed, 0 if row is None else 1, parameters)
        return None if row is None else row[0]

    @asynccontextmanager
    async def select_cursor(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> AsyncIterator[psycopg.AsyncCursor[Any]]:
        try:
            async with conn.cursor(row_factory=self.row_factory_of(query_name)) as cur:
                started = perf_counter()
                await cur.execute(sql, parameters)
                elapsed = perf_counter() - started  # until the first rows: the rest streams
                if elapsed > self.slow_after:
                    report(query_name, elapsed, None, parameters)
                yield cur
        except CLIENT_ERRORS as exc:
            query_failure(exc, query_name, conn, parameters)

    async def insert_update_delete(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> int:
        written()
        started = perf_counter()
        try:
            cur = conn.cursor()
            await cur.execute(sql, parameters)
        except CLIENT_ERRORS as exc:
            query_failure(exc, query_name, conn, parameters)
        elapsed = perf_counter() - started
        if elapsed > self.slow_after:
            report(query_name, elapsed, cur.rowcount, parameters)
        return int(cur.rowcount)

    async def insert_update_delete_many(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: list[Params],
    ) -> int:
        """One execution per parameter mapping, pipelined by psycopg's ``executemany``: the
        batch costs one round trip, not one per row."""
        written()
        started = perf_counter()
        try:
            cur = conn.cursor()
            await cur.executemany(sql, parameters)
        except CLIENT_ERRORS as exc:
            query_failure(exc, query_name, conn, parameters)
        elapsed = perf_counter() - started
        if elapsed > self.slow_after:
            report(query_name, elapsed, cur.rowcount, parameters[0] if parameters else ())
        return int(cur.rowcount)

    async def insert_returning(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        written()
        return await self.select_one(conn, query_name, sql, parameters, reusing=False)

    async def execute_script(self, conn: psycopg.AsyncConnection[Any], sql: str) -> str:
        written()
        try:
            cur = conn.cursor()
            await cur.execute(sql)
        except psycopg.Error as exc:
            raise map_error(exc, query_name="script") from exc
        return str(cur.statusmessage)

    async def _reused(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        run: Run,
    ) -> Any:
        """The result of a read: an earlier one of the open scope or the cache when they have
        it, or that of an identical read under way, else ``run``'s, kept for the next caller
        (see plainsql.runtime._reuse).

        Only a read in a read-only READ COMMITTED unit of work is reused: its connection
        carries the unit's stamp (the pool and the BEGIN statement, which names the role and
        the acting user). A unit of one query first hands its query a :class:`ReuseProbe`
        carrying that stamp instead of a connection: a result found then costs no round trip,
        and an identical read under way is waited for; else the look raises
        :class:`NotReused`, with the :class:`Lead` of the reads it now leads, and the unit
        runs. In a scope, a query is first asked of the server (once per query, by the unit
        that runs it): one that is not a read empties the scope and runs."""
        scope = SCOPE.get()
        probing = isinstance(conn, ReuseProbe)  # a unit looking before it takes a connection
        if scope is not None:
            read = self.reads.get(query_name)
            if read is None and not probing:
                try:
                    read = await is_read(conn, sql)
                except psycopg.Error as exc:
                    logger.debug("%s: not classified (%s)", query_name, type(exc).__name__)
                    read = False  # runs as usual; asked again only if the unit was the cause
                    if not isinstance(
                        exc, psycopg.errors.InFailedSqlTransaction | psycopg.OperationalError
                    ):
                        self.reads[query_name] = read
                else:
                    self.reads[query_name] = read
                    logger.debug("%s: %s", query_name, "a read" if read else "not a read")
            if read is False:  # (None: a look, which may lead the read; its unit asks)
                if probing:
                    raise NotReused(query_name)
                scope.clear()
                return await run(conn, query_name, sql, parameters, reusing=False)
        cache = self.cache
        store = None
        stamp: Stamp | None = getattr(conn, "reuse_stamp", None)
        if stamp is not None and cache is not None and stamp[0] is cache.pool:
            store = cache.store if query_name in cache.store.specs else None
        key = None if stamp is None or (scope is None and store is None) else params_key(parameters)
        if stamp is None or key is None:
            return await run(conn, query_name, sql, parameters, reusing=False)
        in_scope = (self, query_name, stamp, key)
        if scope is not None:
            found = scope.results.get(in_scope, MISSING)
            if found is not MISSING:
                scope.reused += 1
                return copied(found)
        in_cache = (self, query_name, stamp[1], key)  # typed and dict rows apart
        if store is not None:
            found = store.get(in_cache, query_name, count_miss=False)
            if found is not MISSING:
                if scope is not None:
                    scope.results[in_scope] = found
                    scope.ran += 1
                return copied(found)
        # Nothing kept: the read waits for an identical one under way, or runs and leads the
        # identical reads that come meanwhile (docs/caching.md, "Concurrent identical reads").
        lead = LEADING.get()
        if lead is None or lead.key != in_scope:  # (else: this unit's look took the lead)
            lead = Lead(in_scope, query_name, scope, store, in_cache)
            leads = conn.may_lead if isinstance(conn, ReuseProbe) else True
            flight = lead.arrive(AsyncFlight if leads else None, waits=probing)
            if flight is not None:
                try:
                    found = await flight.wait()
                except BaseException:
                    lead.land(MISSING)  # cancelled: the reads waiting for this one run
                    raise
                if found is not MISSING:
                    return copied(lead.served(found))
                # The read waited for failed, or was cancelled: this one runs itself.
        if probing:
            raise NotReused(query_name, lead if lead.leads else None)
        if store is not None:
            store.missed(query_name)
        since: float = getattr(conn, "last_used", 0.0)  # its checkout: before BEGIN
        try:
            found = await run(conn, query_name, sql, parameters, reusing=False)
        except BaseException:
            lead.land(MISSING)
            raise
        lead.land(found, since)
        return copied(found)
