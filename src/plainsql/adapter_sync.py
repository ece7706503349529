# WARNING: this file is generated from src/plainsql/adapter_async.py by tools/async_to_sync.py.
# DO NOT CHANGE: edit the async source and run `python tools/async_to_sync.py`.
"""aiosql driver adapter for a sync psycopg 3 connection.

Generated from :mod:`plainsql.adapter_async`, the one to edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from plainsql.adapter_common import AdapterBase, Mapped, Params, row_factory


class PsycopgAdapter(AdapterBase):
    """aiosql driver adapter for a sync psycopg 3 connection."""

    is_aio_driver = False

    def _cursor(self, conn: psycopg.Connection[Any], query_name: str) -> psycopg.Cursor[Any]:
        return conn.cursor(row_factory=row_factory(self.record_classes, query_name))

    def select(
        self,
        conn: psycopg.Connection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
    ) -> list[Any]:
        with Mapped(query_name), self._cursor(conn, query_name) as cur:
            cur.execute(sql, parameters)
            return cur.fetchall()

    def select_one(
        self,
        conn: psycopg.Connection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
    ) -> Any:
        with Mapped(query_name), self._cursor(conn, query_name) as cur:
            cur.execute(sql, parameters)
            return cur.fetchone()

    def select_value(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        with Mapped(query_name), conn.cursor() as cur:
            cur.execute(sql, parameters)
            row = cur.fetchone()
            return None if row is None else row[0]

    @contextmanager
    def select_cursor(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> Iterator[psycopg.Cursor[Any]]:
        with Mapped(query_name), self._cursor(conn, query_name) as cur:
            cur.execute(sql, parameters)
            yield cur

    def insert_update_delete(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> int:
        with Mapped(query_name), conn.cursor() as cur:
            cur.execute(sql, parameters)
            return int(cur.rowcount)

    def insert_update_delete_many(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: list[Params]
    ) -> int:
        with Mapped(query_name), conn.cursor() as cur:
            cur.executemany(sql, parameters)
            return int(cur.rowcount)

    def insert_returning(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        return self.select_one(conn, query_name, sql, parameters)

    def execute_script(self, conn: psycopg.Connection[Any], sql: str) -> str:
        with Mapped("script"), conn.cursor() as cur:
            cur.execute(sql)
            return str(cur.statusmessage)
