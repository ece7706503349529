"""BEGIN, COMMIT and ROLLBACK of a unit of work, sent through libpq directly.

Everything else of :mod:`plainsql.runtime.database_async` / :mod:`plainsql.runtime.database` is
written once; these two functions are the exception, by design: how to wait is the one thing a
sync and an async runtime must do differently.

A command sent through a psycopg cursor costs about 10 µs more client CPU than the command
itself (query conversion, prepare bookkeeping, result objects); a one-query unit sends two of
them, and with 8 workers sharing one interpreter that client CPU is what limits throughput
(``make bench``, W5). So both functions hand the command to libpq (psycopg's public
``pgconn`` wrapper), as psycopg does for its own BEGIN and COMMIT:

- :func:`run_command` (sync) calls ``PQexec``, which waits with the GIL released. It cannot
  be interrupted by Ctrl-C; the statement deadline (:mod:`plainsql.runtime._deadline`) still
  applies.
- :func:`async_run_command` sends the command and waits for the answer on the event loop
  (``add_reader``), never blocking it. Cancelled mid-command, it closes the connection (its
  state is unknown), which the pool then replaces.

Both raise psycopg's errors (the runtime maps them), or
:class:`~plainsql.errors.DeadlineExceeded` when the watchdog cut the connection off.

:func:`commit_at` and :func:`async_commit_at` commit a unit that may have written inside a
read-your-writes scope (:mod:`plainsql.runtime._replicas`): ``COMMIT; SELECT
pg_current_wal_insert_lsn()`` as one string, so the position costs one statement and no round
trip of its own. Both wait with the GIL released or on the event loop, as above.
"""

from __future__ import annotations

import asyncio
import select
from typing import Any

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result
from psycopg.pq import ConnStatus, ExecStatus

from plainsql.errors import DeadlineExceeded
from plainsql.runtime._deadline import GRACE, Guarded, watchdog
from plainsql.runtime._replicas import parse_lsn
from plainsql.runtime.connection import PlainConnection
from plainsql.runtime.connection_async import AsyncPlainConnection

# plainsql's connections are opened with client_encoding UTF8 (plainsql.server.session_options).
_ENCODING = "utf-8"
_OK = (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK)
# The insert position is at or after the end of the commit record, even when the COMMIT did
# not wait for its flush (synchronous_commit = off); the write and flush positions may not be.
_COMMIT_AT = b"COMMIT; SELECT pg_current_wal_insert_lsn()::text"


def run_command(conn: psycopg.Connection[Any], statement: str) -> None:
    """Send ``statement`` (simple protocol, no parameters) and wait for its end."""
    seconds = conn.deadline if isinstance(conn, PlainConnection) else 0.0
    with Guarded(conn, seconds):
        result = conn.pgconn.exec_(statement.encode(_ENCODING))
    if result.status not in _OK:
        _raise_for(conn, result, seconds)


async def async_run_command(conn: psycopg.AsyncConnection[Any], statement: str) -> None:
    """Send ``statement`` (simple protocol, no parameters) and wait for its end."""
    seconds = conn.deadline if isinstance(conn, AsyncPlainConnection) else 0.0
    try:
        with Guarded(conn, seconds):
            result = await _exec_async(conn.pgconn, statement.encode(_ENCODING))
    except (psycopg.Error, DeadlineExceeded):
        raise
    except BaseException:
        conn.pgconn.finish()  # cancelled with the command in flight: the pool replaces it
        raise
    if result.status not in _OK:
        _raise_for(conn, result, seconds)


def commit_at(conn: psycopg.Connection[Any]) -> int | None:
    """COMMIT, and the WAL position after it, in one round trip; None when the COMMIT
    succeeded but the position could not be read. A failed COMMIT raises as
    :func:`run_command` does."""
    seconds = conn.deadline if isinstance(conn, PlainConnection) else 0.0
    with Guarded(conn, seconds):
        results = _exec_all(conn.pgconn, _COMMIT_AT)
    return _position_after_commit(conn, results, seconds)


async def async_commit_at(conn: psycopg.AsyncConnection[Any]) -> int | None:
    """COMMIT, and the WAL position after it, in one round trip (see :func:`commit_at`)."""
    seconds = conn.deadline if isinstance(conn, AsyncPlainConnection) else 0.0
    try:
        with Guarded(conn, seconds):
            results = await _exec_all_async(conn.pgconn, _COMMIT_AT)
    except (psycopg.Error, DeadlineExceeded):
        raise
    except BaseException:
        conn.pgconn.finish()  # cancelled with the command in flight: the pool replaces it
        raise
    return _position_after_commit(conn, results, seconds)


def _position_after_commit(
    conn: psycopg.BaseConnection[Any], results: list[pq.abc.PGresult], seconds: float
) -> int | None:
    if not results:
        raise psycopg.OperationalError("the server sent no result")
    if results[0].status not in _OK:
        _raise_for(conn, results[0], seconds)
    if len(results) < 2 or results[1].status != ExecStatus.TUPLES_OK or results[1].ntuples != 1:
        return None
    value = results[1].get_value(0, 0)
    try:
        return parse_lsn(value.decode()) if value else None
    except ValueError:
        return None


# The send-and-read loop is written out in each of the three functions below on purpose: they
# run for every BEGIN and COMMIT, and one generator shared by all three cost about 10 µs more
# client CPU per command (measured against these loops, alternating, in one process).
def _exec_all(pgconn: pq.abc.PGconn, command: bytes) -> list[pq.abc.PGresult]:
    """Every result of a multi-statement command, waiting in ``select`` (the GIL released)."""
    pgconn.send_query(command)
    while pgconn.flush():
        select.select([], [pgconn.socket], [])
    results: list[pq.abc.PGresult] = []
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                return results
            results.append(result)
        select.select([pgconn.socket], [], [])


async def _exec_all_async(pgconn: pq.abc.PGconn, command: bytes) -> list[pq.abc.PGresult]:
    """Every result of a multi-statement command, waiting on the event loop."""
    loop = asyncio.get_running_loop()
    pgconn.send_query(command)
    while pgconn.flush():
        await _ready(loop, pgconn.socket, write=True)
    results: list[pq.abc.PGresult] = []
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                return results
            results.append(result)
        await _ready(loop, pgconn.socket)


def _raise_for(conn: psycopg.BaseConnection[Any], result: pq.abc.PGresult, seconds: float) -> None:
    if conn.pgconn.status != ConnStatus.OK:
        error: psycopg.Error = psycopg.OperationalError(
            result.get_error_message(_ENCODING) or "the connection to the server was lost"
        )
    else:
        error = error_from_result(result, encoding=_ENCODING)
    if seconds and watchdog().expired(conn):
        raise DeadlineExceeded(DeadlineExceeded.explain(seconds, GRACE)) from error
    raise error


async def _exec_async(pgconn: pq.abc.PGconn, command: bytes) -> pq.abc.PGresult:
    """libpq's asynchronous command processing: send, then read until the last result; the
    first failed result of a multi-statement command, else the last one."""
    loop = asyncio.get_running_loop()
    pgconn.send_query(command)
    while pgconn.flush():
        await _ready(loop, pgconn.socket, write=True)
    found: pq.abc.PGresult | None = None
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                if found is None:
                    raise psycopg.OperationalError("the server sent no result")
                return found
            if found is None or found.status in _OK:
                found = result
        await _ready(loop, pgconn.socket)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool = False) -> None:
    """Wait until ``fd`` is readable (or writable)."""
    done = loop.create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await done
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)
