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

from plainsql.adapter_common import AdapterBase, Params
from plainsql.errors import map_error


class PsycopgAdapter(AdapterBase):
    """aiosql driver adapter for a sync psycopg 3 connection."""

    is_aio_driver = False

    def select(
        self,
        conn: psycopg.Connection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
    ) -> list[Any]:
        try:
            cur = conn.cursor(row_factory=self.row_factory_of(query_name))
            cur.execute(sql, parameters)
            return cur.fetchall()
        except psycopg.Error as exc:
            raise map_error(exc, query_name=query_name) from exc

    def select_one(
        self,
        conn: psycopg.Connection[Any],
        query_name: str,
        sql: str,
        parameters: Params,
        record_class: Any = None,
    ) -> Any:
        try:
            cur = conn.cursor(row_factory=self.row_factory_of(query_name))
            cur.execute(sql, parameters)
            return cur.fetchone()
        except psycopg.Error as exc:
            raise map_error(exc, query_name=query_name) from exc

    def select_value(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        try:
            cur = conn.cursor()
            cur.execute(sql, parameters)
            row = cur.fetchone()
        except psycopg.Error as exc:
            raise map_error(exc, query_name=query_name) from exc
        return None if row is None else row[0]

    @contextmanager
    def select_cursor(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> Iterator[psycopg.Cursor[Any]]:
        try:
            with conn.cursor(row_factory=self.row_factory_of(query_name)) as cur:
                cur.execute(sql, parameters)
                yield cur
        except psycopg.Error as exc:
            raise map_error(exc, query_name=query_name) from exc

    def insert_update_delete(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> int:
        try:
            cur = conn.cursor()
            cur.execute(sql, parameters)
        except psycopg.Error as exc:
            raise map_error(exc, query_name=query_name) from exc
        return int(cur.rowcount)

    def insert_update_delete_many(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: list[Params]
    ) -> int:
        """One execution per parameter mapping, pipelined by psycopg's ``executemany``: the
        batch costs one round trip, not one per row."""
        try:
            cur = conn.cursor()
            cur.executemany(sql, parameters)
        except psycopg.Error as exc:
            raise map_error(exc, query_name=query_name) from exc
        return int(cur.rowcount)

    def insert_returning(
        self, conn: psycopg.Connection[Any], query_name: str, sql: str, parameters: Params
    ) -> Any:
        return self.select_one(conn, query_name, sql, parameters)

    def execute_script(self, conn: psycopg.Connection[Any], sql: str) -> str:
        try:
            cur = conn.cursor()
            cur.execute(sql)
        except psycopg.Error as exc:
            raise map_error(exc, query_name="script") from exc
        return str(cur.statusmessage)
