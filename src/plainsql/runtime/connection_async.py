"""plainsql's pooled connection and cursor, carrying what the runtime needs on every call.

The pools of :mod:`plainsql.runtime.pool_async` (and its sync twin) make connections of this
class. Compared with psycopg's own, a connection carries three things the runtime needs on
every call without a lookup:

- ``deadline``: the client-side limit of one statement (:mod:`plainsql.runtime._deadline`); every
  statement sent through one of its cursors is armed with it;
- ``last_used``: when it was last checked out (the pool checks only long-idle connections);
- ``pooled``: it goes through a declared transaction pooler, so its cursors refuse
  session-level statements (:func:`plainsql.runtime._session.refuse_session_level`);
- ``unit_cursor()``: one cursor kept for ``BEGIN``/``COMMIT``, so a unit of work does not build
  two cursors of its own on every call;
- ``reuse_stamp``: set while a read-only READ COMMITTED unit of work runs on it (the pool and
  the unit's ``BEGIN``, naming its role and acting user), where a read's result may be reused
  (:mod:`plainsql.runtime._reuse`); None otherwise.

Generated into the sync twin by ``tools/async_to_sync.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

import psycopg
from psycopg.abc import Params, Query
from psycopg.rows import Row

from plainsql.runtime._deadline import Guarded
from plainsql.runtime._session import refuse_session_level


class AsyncPlainConnection(psycopg.AsyncConnection[Row]):
    """A psycopg connection with a statement deadline and a cursor for BEGIN/COMMIT."""

    __slots__ = ("_unit_cursor", "deadline", "last_used", "pooled", "reuse_stamp")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = 0.0
        self.last_used = 0.0
        self.pooled = False
        self.reuse_stamp: tuple[object, str] | None = None
        self._unit_cursor: psycopg.AsyncCursor[Any] | None = None
        self.cursor_factory = AsyncDeadlineCursor

    def unit_cursor(self) -> psycopg.AsyncCursor[Any]:
        """The cursor the runtime sends ``BEGIN ...`` and ``COMMIT`` through."""
        cur = self._unit_cursor
        if cur is None or cur.closed:
            cur = self._unit_cursor = self.cursor()
        return cur


class AsyncDeadlineCursor(psycopg.AsyncCursor[Row]):
    """A cursor whose statements fail with DeadlineExceeded when the server does not answer."""

    async def execute(
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        # psycopg overloads execute() for strings and t-string Templates; this passes both on.
        parent: Any = super()
        conn = self.connection
        seconds = 0.0
        if isinstance(conn, AsyncPlainConnection):
            seconds = conn.deadline
            if conn.pooled:
                refuse_session_level(query)
        with Guarded(conn, seconds):
            await parent.execute(query, params, prepare=prepare, binary=binary)
        return self

    async def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        # A batch (pipelined by psycopg) gets the deadline once, for the whole batch.
        parent: Any = super()
        conn = self.connection
        seconds = conn.deadline if isinstance(conn, AsyncPlainConnection) else 0.0
        with Guarded(conn, seconds):
            await parent.executemany(query, params_seq, returning=returning)
