"""One migration runner per database at a time: a PostgreSQL advisory lock on its own session.

The lock is a session-level ``pg_advisory_lock`` on a fixed key, taken on a connection that
does nothing else, so it is held for the whole run whatever the migration connection does
(non-transactional statements, reconnects) and released by the server the moment the
runner's process dies. A second runner says once that it waits, naming the holder (pid and
``application_name``, from ``pg_locks`` and ``pg_stat_activity``), and polls
``pg_try_advisory_lock`` until a deadline; on timeout the message names the holder in full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.errors import MigrationLockTimeout
from plainsql.server import connect

# "plainsql" in ASCII, as a signed 64-bit key: the same key in every database. Advisory locks
# are per database, so runners on different databases never wait for each other.
LOCK_KEY = 0x706C61696E73716C
POLL_SECONDS = 0.2

logger = logging.getLogger("plainsql.migrate")


@contextmanager
def migration_lock(
    settings: Settings,
    conninfo: str,
    *,
    timeout: float,
    application_name: str,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[psycopg.Connection[Any]]:
    """Hold the migration lock of the database at ``conninfo`` for the ``with`` block.

    When another session holds it, ``on_wait`` is called once with a line naming the holder,
    and the lock is polled for until ``timeout`` seconds have passed.
    """
    conn = connect(settings, conninfo, autocommit=True)
    try:
        conn.execute("SELECT set_config('application_name', %s, false)", (application_name,))
        started = time.monotonic()
        deadline = started + max(0.0, timeout)
        waited = False
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if row is not None and row[0]:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MigrationLockTimeout(_timeout_message(conn, timeout))
            if not waited:
                waited = True
                message = _waiting_message(conn, remaining)
                logger.info("%s", message)
                if on_wait is not None:
                    on_wait(message)
            time.sleep(min(POLL_SECONDS, remaining))
        if waited:
            logger.info("took the migration lock after %.1f s", time.monotonic() - started)
        try:
            yield conn
        finally:
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        conn.close()


def lock_holders(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """The sessions holding the migration lock on ``conn``'s database."""
    cursor = conn.execute(
        """
        SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.usename,
               a.backend_start, a.state, a.query
        FROM pg_locks l
        JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1
        ORDER BY a.pid
        """,
        ((LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF),
    )
    names = [c.name for c in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _waiting_message(conn: psycopg.Connection[Any], remaining: float) -> str:
    holders = lock_holders(conn)
    who = (
        "; ".join(f"pid {h['pid']}, application_name {h['application_name']!r}" for h in holders)
        or "a session that released it just now"
    )
    return (
        f"waiting for the migration lock, held by {who} "
        f"(giving up in {remaining:.0f}s; --lock-timeout sets how long)"
    )


def _timeout_message(conn: psycopg.Connection[Any], timeout: float) -> str:
    holders = lock_holders(conn)
    if not holders:
        who = "a session that released it just now"
    else:
        who = "; ".join(
            f"pid {h['pid']}, application_name {h['application_name']!r}, "
            f"client {h['client_addr'] or 'local socket'}, user {h['usename']}, "
            f"connected since {h['backend_start']:%Y-%m-%d %H:%M:%S %Z}"
            for h in holders
        )
    hint = (
        f" (if that runner is gone for good: SELECT pg_terminate_backend({holders[0]['pid']}))"
        if holders
        else ""
    )
    return (
        f"another migration runner holds the migration lock (waited {timeout:g}s): {who}. "
        f"Wait for it to finish, or retry with a longer --lock-timeout{hint}"
    )
