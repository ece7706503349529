"""aiosql driver adapter for an async psycopg 3 connection.

This is the source of both adapters: :mod:`plainsql.adapter_sync` is derived from it by
``tools/async_to_sync.py`` (``make format`` runs it; ``make lint`` checks the two agree).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from plainsql.adapter_common import AdapterBase, Mapped, Params, row_factory


class AsyncPsycopgAdapter(AdapterBase):
    """aiosql driver adapter for an async psycopg 3 connection."""

    is_aio_driver = True

    def _cursor(
        self, conn: psycopg.AsyncConnection[Any], query_name: str
    ) -> psycopg.AsyncCursor[Any]:
        return conn.cursor(row_factory=row_factory(self.record_classes, query_name))

    async def select(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
    ) -> list[Any]:
        with Mapped(query_name):
            async with self._cursor(conn, query_name) as cur:
                await cur.execute(sql, parameters)
                return await cur.fetchall()

    async def select_one(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
    ) -> Any:
        with Mapped(query_name):
            async with self._cursor(conn, query_name) as cur:
                await cur.execute(sql, parameters)
                return await cur.fetchone()

    async def select_value(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        with Mapped(query_name):
            async with conn.cursor() as cur:
                await cur.execute(sql, parameters)
                row = await cur.fetchone()
                return None if row is None else row[0]

    @asynccontextmanager
    async def select_cursor(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> AsyncIterator[psycopg.AsyncCursor[Any]]:
        with Mapped(query_name):
            async with self._cursor(conn, query_name) as cur:
                await cur.execute(sql, parameters)
                yield cur

    async def insert_update_delete(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> int:
        with Mapped(query_name):
            async with conn.cursor() as cur:
                await cur.execute(sql, parameters)
                return int(cur.rowcount)

    async def insert_update_delete_many(
        self,
        conn: psycopg.AsyncConnection[Any],
        query_name: str,
        sql: str,
        parameters: list[Params],
    ) -> int:
        with Mapped(query_name):
            async with conn.cursor() as cur:
                await cur.executemany(sql, parameters)
                return int(cur.rowcount)

    async def insert_returning(
        self, conn: psycopg.AsyncConnection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        return await self.select_one(conn, query_name, sql, parameters)

    async def execute_script(self, conn: psycopg.AsyncConnection[Any], sql: str) -> str:
        with Mapped("script"):
            async with conn.cursor() as cur:
                await cur.execute(sql)
                return str(cur.statusmessage)
