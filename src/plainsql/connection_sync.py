# WARNING: this file is generated from src/plainsql/connection_async.py by tools/async_to_sync.py.
# DO NOT CHANGE: edit the async source and run `python tools/async_to_sync.py`.
"""plainsql's pooled connection and cursor (async source of :mod:`plainsql.connection_sync`).

Generated from :mod:`plainsql.connection_async`, the one to edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

import psycopg
from psycopg.abc import Params, Query
from psycopg.rows import Row

from plainsql.deadline import Guarded


class PlainConnection(psycopg.Connection[Row]):
    """A psycopg connection with a statement deadline and a cursor for BEGIN/COMMIT."""

    __slots__ = ("_unit_cursor", "deadline", "last_used")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = 0.0
        self.last_used = 0.0
        self._unit_cursor: psycopg.Cursor[Any] | None = None
        self.cursor_factory = DeadlineCursor

    def unit_cursor(self) -> psycopg.Cursor[Any]:
        """The cursor the runtime sends ``BEGIN ...`` and ``COMMIT`` through."""
        cur = self._unit_cursor
        if cur is None or cur.closed:
            cur = self._unit_cursor = self.cursor()
        return cur


class DeadlineCursor(psycopg.Cursor[Row]):
    """A cursor whose statements fail with DeadlineExceeded when the server does not answer."""

    def execute(
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        parent: Any = super()
        conn = self.connection
        seconds = conn.deadline if isinstance(conn, PlainConnection) else 0.0
        with Guarded(conn, seconds):
            parent.execute(query, params, prepare=prepare, binary=binary)
        return self

    def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        parent: Any = super()
        conn = self.connection
        seconds = conn.deadline if isinstance(conn, PlainConnection) else 0.0
        with Guarded(conn, seconds):
            parent.executemany(query, params_seq, returning=returning)
