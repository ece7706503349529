# WARNING: this file is generated from src/plainsql/runtime_async.py by tools/async_to_sync.py.
# DO NOT CHANGE: edit the async source and run `python tools/async_to_sync.py`.
"""The runtime path, written once (async): a database handle over a pool, and its units of work.

Generated from :mod:`plainsql.runtime_async`, the one to edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg.pq import TransactionStatus
from psycopg_pool import PoolTimeout

from plainsql.commands import run_command
from plainsql.config import Settings
from plainsql.errors import (
    CommitUncertain,
    ConnectionLost,
    DeadlineExceeded,
    PoolExhausted,
    SerializationFailure,
    connection_lost,
    map_error,
)
from plainsql.pool import Conn, Pool
from plainsql.runtime_common import COMMIT, ROLLBACK, begin_statement, unit_isolation
from plainsql.server import unavailable

T = TypeVar("T")


class Database:
    """What a service is given: the pool, and units of work over it."""

    def __init__(self, pool: Pool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    def _getconn(self) -> Conn:
        try:
            return self.pool.getconn()
        except PoolTimeout as exc:
            pool, size, timeout = (self.pool.name, self.pool.max_size, self.pool.timeout)
            message = f"no free connection in pool {pool!r} (size {size}) within {timeout:g} s"
            raise PoolExhausted(message, pool=pool, size=size) from exc
        except psycopg.OperationalError as exc:
            target = self.pool.conninfo if isinstance(self.pool.conninfo, str) else ""
            raise unavailable(target, exc) from exc

    @contextmanager
    def connection(self, *, acting_user: str | None = None) -> Iterator[Conn]:
        """A connection for statements that each commit on their own (no BEGIN/COMMIT), as the
        login role.

        With an ``acting_user`` the call needs a transaction (the role and the setting are
        transaction-local): its statements run as one unit of work, as :meth:`transaction`
        runs them, with the ``transaction-role`` and the acting user.
        """
        if acting_user is not None:
            with self.transaction(acting_user=acting_user) as unit:
                yield unit
            return
        conn = self._getconn()
        try:
            restore = not conn.autocommit
            if restore:
                conn.set_autocommit(True)
            try:
                yield conn
            except psycopg.Error as exc:
                raise _mapped(exc, committing=False) from exc
            finally:
                if restore and (not conn.closed):
                    conn.set_autocommit(False)
        finally:
            self.pool.putconn(conn)

    @contextmanager
    def transaction(
        self,
        *,
        acting_user: str | None = None,
        read_only: bool = False,
        isolation: IsolationLevel | None = None,
    ) -> Iterator[Conn]:
        """A unit of work: commits when the block ends, rolls back on any error."""
        settings = self.settings
        begin = begin_statement(
            unit_isolation(isolation),
            read_only,
            settings.acting_user_setting,
            acting_user,
            settings.transaction_role,
        )
        for attempt in (1, 2):
            conn = self._getconn()
            try:
                restore = not conn.autocommit
                if restore:
                    conn.set_autocommit(True)
                try:
                    try:
                        run_command(conn, begin)
                    except psycopg.Error as exc:
                        if attempt == 1 and connection_lost(exc):
                            continue
                        raise _mapped(exc, committing=False) from exc
                    try:
                        yield conn
                    except BaseException as exc:
                        _roll_back(conn)
                        if isinstance(exc, psycopg.Error):
                            raise _mapped(exc, committing=False) from exc
                        raise
                    try:
                        run_command(conn, COMMIT)
                    except (psycopg.Error, DeadlineExceeded) as exc:
                        raise _mapped(exc, committing=True) from exc
                finally:
                    if restore and (not conn.closed):
                        conn.set_autocommit(False)
            finally:
                self.pool.putconn(conn)
            return

    def retry(self, unit: Callable[[], T], *, attempts: int = 3) -> tuple[T, int]:
        """Run ``unit`` (which opens its own transaction) again after a serialization failure
        or a deadlock, at most ``attempts`` times; returns its result and the retries made."""
        for retries in range(attempts):
            try:
                return (unit(), retries)
            except SerializationFailure:
                if retries == attempts - 1:
                    raise
        raise AssertionError("unreachable")


def _roll_back(conn: Conn) -> None:
    """End the failed unit; a connection already gone is discarded by the pool anyway."""
    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        run_command(conn, ROLLBACK)
    except (psycopg.Error, DeadlineExceeded):
        conn.close()


def _mapped(exc: psycopg.Error | DeadlineExceeded, *, committing: bool) -> Exception:
    if isinstance(exc, DeadlineExceeded):
        return CommitUncertain(CommitUncertain.explain(exc)) if committing else exc
    if connection_lost(exc):
        cls = CommitUncertain if committing else ConnectionLost
        return cls(cls.explain(exc))
    return map_error(exc, query_name="transaction")
