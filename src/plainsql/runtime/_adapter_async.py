"""aiosql driver adapter for an async psycopg 3 connection.

This is the source of both adapters: :mod:`plainsql.runtime._adapter` is derived from it by
``tools/async_to_sync.py`` (``make format`` runs it; ``make lint`` checks the two agree).

Every call is on the path of every query, so it is kept lean: the row factory of each query is
built once (:meth:`AdapterBase.row_factory_of`), cursors are not closed explicitly (a
client-side cursor holds nothing on the server; psycopg's ``conn.execute`` does the same), and
driver errors are mapped in an ``except`` clause, which costs nothing when nothing fails.
Each call is timed for the slow-query log (:mod:`plainsql.runtime._slow`): two
``perf_counter`` reads and a comparison.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any

import psycopg

from plainsql.errors import map_error
from plainsql.runtime._adapter_common import CLIENT_ERRORS, AdapterBase, Params, query_failure
from plainsql.runtime._slow import report


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
    ) -> list[Any]:
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
    ) -> Any:
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
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
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
        return await self.select_one(conn, query_name, sql, parameters)

    async def execute_script(self, conn: psycopg.AsyncConnection[Any], sql: str) -> str:
        try:
            cur = conn.cursor()
            await cur.execute(sql)
        except psycopg.Error as exc:
            raise map_error(exc, query_name="script") from exc
        return str(cur.statusmessage)
