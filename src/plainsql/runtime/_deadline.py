"""A client-side deadline on every statement of a pooled connection.

The server enforces ``statement_timeout`` itself, but not when it cannot run at all (frozen by
SIGSTOP, swapped out, its host stalled): the caller would then wait forever on a socket the
kernel keeps open. So each statement sent on a plainsql pooled connection is *armed* with a
deadline of ``statement_timeout`` plus :data:`GRACE` seconds. A single watchdog thread
(started on first use, never at import) looks at the armed connections every
:data:`TICK` seconds and shuts down the socket of one whose deadline passed: the blocked call
returns at once with a connection error, which plainsql raises as
:class:`~plainsql.errors.DeadlineExceeded`, and the pool discards the connection.

Arming is a dict store under a lock (no thread, no timer per statement). A statement that
the server answers in time is never touched. With ``statement_timeout`` 0 there is no
deadline.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from contextlib import suppress
from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.errors import DeadlineExceeded

# Seconds beyond statement_timeout before the client gives up: the server's own cancel (at
# statement_timeout) must have had time to arrive, and a large result time to transfer.
GRACE = 5.0
# How often the watchdog looks: a frozen call fails at most this late after its deadline.
TICK = 0.25

logger = logging.getLogger("plainsql.deadline")


def deadline_seconds(settings: Settings) -> float:
    """How long one statement may take before the client gives up; 0: no deadline."""
    if settings.statement_timeout_ms <= 0:
        return 0.0
    return settings.statement_timeout_ms / 1000 + GRACE


class Watchdog:
    """Deadlines of the statements in flight, and the thread that enforces them."""

    def __init__(self) -> None:
        self._due: dict[int, tuple[float, psycopg.BaseConnection[Any]]] = {}
        self._expired: weakref.WeakSet[psycopg.BaseConnection[Any]] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # arm() and disarm() are single dict operations (atomic in CPython): no lock on the path
    # of every statement. The watchdog pops an entry before acting on it, so an entry disarmed
    # meanwhile is left alone; only a statement answered in the instant after its deadline
    # (statement_timeout plus the grace) can still be cut off.

    def arm(self, conn: psycopg.BaseConnection[Any], seconds: float) -> None:
        """``conn`` is about to wait on the server for at most ``seconds``."""
        self._due[id(conn)] = (time.monotonic() + seconds, conn)
        if self._thread is None:
            self._start()

    def disarm(self, conn: psycopg.BaseConnection[Any]) -> None:
        """The statement on ``conn`` is done (answered or failed)."""
        self._due.pop(id(conn), None)

    def expired(self, conn: psycopg.BaseConnection[Any]) -> bool:
        """Whether the watchdog cut ``conn`` off."""
        return conn in self._expired

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="plainsql-deadline", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            now = time.monotonic()
            for key, entry in list(self._due.items()):
                if entry[0] > now:
                    continue
                current = self._due.pop(key, None)
                if current is not entry:  # answered meanwhile, perhaps already re-armed
                    if current is not None:
                        self._due.setdefault(key, current)
                    continue
                conn = entry[1]
                self._expired.add(conn)
                _log_cut(conn)
                _sever(conn)


def _log_cut(conn: psycopg.BaseConnection[Any]) -> None:
    """Say which connection the watchdog cuts off (its server pid and limit, not its statement)."""
    try:
        pid: int | str = conn.info.backend_pid
    except psycopg.Error:
        pid = "?"
    logger.warning(
        "cut off a statement past its deadline (%.1f s: statement-timeout-ms plus %g s) on "
        "the connection to server process %s; the caller gets DeadlineExceeded",
        getattr(conn, "deadline", 0.0),
        GRACE,
        pid,
    )


def _sever(conn: psycopg.BaseConnection[Any]) -> None:
    """Shut the connection's socket down: the call blocked on it fails at once."""
    try:
        fd = conn.pgconn.socket
    except psycopg.Error:
        return  # already closed
    with suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


class Guarded:
    """``with Guarded(conn, seconds):`` around one wait on the server: armed for ``seconds``
    (no deadline when 0), and a connection error caused by the watchdog raised as
    :class:`~plainsql.errors.DeadlineExceeded` (a class, not a generator: it runs on every
    statement)."""

    __slots__ = ("conn", "seconds")

    def __init__(self, conn: psycopg.BaseConnection[Any], seconds: float) -> None:
        self.conn = conn
        self.seconds = seconds

    def __enter__(self) -> None:
        if self.seconds:
            watchdog().arm(self.conn, self.seconds)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if not self.seconds:
            return
        guard = watchdog()
        guard.disarm(self.conn)
        if isinstance(exc, psycopg.OperationalError) and guard.expired(self.conn):
            raise DeadlineExceeded(DeadlineExceeded.explain(self.seconds, GRACE)) from exc


_watchdog: Watchdog | None = None
_create_lock = threading.Lock()


def watchdog() -> Watchdog:
    """The process's watchdog (created on first use)."""
    global _watchdog
    if _watchdog is None:
        with _create_lock:
            if _watchdog is None:
                _watchdog = Watchdog()
    return _watchdog
