"""Short DDL lock waits: who blocks a migration, what is logged, and when it tries again.

A migration runs with ``lock_timeout`` set to ``ddl-lock-timeout`` (500 ms by default), so a
statement queued behind a long transaction gives up before the application's queries, queued
behind *it*, wait long. While a migration runs, :class:`BlockerWatch` polls
``pg_blocking_pids`` of the migration's session from another session (the runner's lock
session, idle otherwise), so that when the wait ends in a lock timeout the log can name the
session that held the lock: its pid, ``application_name``, the first line of its query (string
literals hidden) and how long its transaction has been open. :func:`backoff` gives the waits
between attempts: 1 s, doubling up to 30 s, each with jitter, until ``ddl-retry-seconds`` are
spent.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from plainsql.errors import scrub_secrets

log = logging.getLogger("plainsql.migrate")

FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 30.0
POLL_SECONDS = 0.1
QUERY_SHOWN_CHARS = 120

_BLOCKERS = """
SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''), coalesce(a.query, ''),
       extract(epoch FROM now() - coalesce(a.xact_start, a.query_start, a.backend_start))
FROM pg_stat_activity a
WHERE a.pid = ANY(pg_blocking_pids(%s))
ORDER BY a.pid
"""


@dataclass(frozen=True, slots=True)
class Blocker:
    """A session that held a lock a migration waited for."""

    pid: int
    application_name: str
    state: str
    query: str  # the first line of its current (or, idle in a transaction, last) query
    running_seconds: float  # how long its transaction (or query) has been open

    def describe(self) -> str:
        what = "last query" if self.state.startswith("idle") else "query"
        return (
            f"pid {self.pid} (application_name {self.application_name!r}, {self.state or '?'}, "
            f"open for {self.running_seconds:.1f}s, {what}: {self.query!r})"
        )


_STRING_LITERAL = re.compile(r"(?:[EeBbXxNn]|[Uu]&)?'(?:[^']|'')*'?")


def first_line(query: str) -> str:
    """The query's first line, its string literals hidden (another session's SQL may carry
    values in them), at most 120 characters."""
    line = next((t.strip() for t in query.splitlines() if t.strip()), "")
    line = _STRING_LITERAL.sub("'...'", scrub_secrets(line))
    return line if len(line) <= QUERY_SHOWN_CHARS else line[: QUERY_SHOWN_CHARS - 3] + "..."


def blockers_of(conn: psycopg.Connection[Any], pid: int) -> list[Blocker]:
    """The sessions ``pid`` waits for now (empty when it waits for nothing)."""
    rows = conn.execute(_BLOCKERS, (pid,)).fetchall()
    return [Blocker(r[0], r[1], r[2], first_line(r[3]), float(r[4] or 0)) for r in rows]


def describe_blockers(blockers: list[Blocker]) -> str:
    if not blockers:
        return "a session that let go before it could be named"
    return "; ".join(b.describe() for b in blockers)


class BlockerWatch:
    """Polls, on ``watcher``, which sessions block ``pid``; :meth:`take` returns the last seen.

    Used as a context manager around a migration's run; the thread ends with the block.
    """

    def __init__(self, watcher: psycopg.Connection[Any] | None, pid: int) -> None:
        self.watcher = watcher
        self.pid = pid
        self._seen: list[Blocker] = []
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BlockerWatch:
        if self.watcher is not None:
            self._thread = threading.Thread(
                target=self._poll, name="plainsql-migrate-blockers", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _poll(self) -> None:
        assert self.watcher is not None
        while not self._stop.wait(POLL_SECONDS):
            try:
                found = blockers_of(self.watcher, self.pid)
            except psycopg.Error:
                return  # the run goes on; its waits are then logged without the holder
            if found:
                with self._guard:
                    self._seen = found

    def take(self) -> list[Blocker]:
        """The blockers seen since the last call (then forgets them)."""
        with self._guard:
            seen, self._seen = self._seen, []
        return seen


def backoff(total: float) -> Iterator[float]:
    """Seconds to sleep before each retry: 1, 2, 4 ... up to 30, each scaled by a random
    0.5-1.0 (so runners retrying together spread out), until ``total`` would be exceeded."""
    spent = 0.0
    step = FIRST_RETRY_SECONDS
    while True:
        delay = step * random.uniform(0.5, 1.0)
        if spent + delay > total:
            return
        spent += delay
        yield delay
        step = min(step * 2, LONGEST_RETRY_SECONDS)
