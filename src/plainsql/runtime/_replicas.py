"""Read replicas: the read-your-writes scope, what is known of each replica, and which may serve.

Written once for both runtimes; the pools of the replicas are in
:mod:`plainsql.runtime.replicas_async` (and its sync twin). Nothing here runs on the path of a
call but :meth:`Router.choose` (a few attribute reads) and :func:`current_scope` (a context
variable): the replay positions are read in the background, by one thread per replica and one
for the primary, every ``replica-poll``, on connections of their own.

- **A scope** (:class:`Scope`) remembers the WAL position of its last commit (a unit of work
  that may write, committed while the scope is active, asks the primary for
  ``pg_current_wal_insert_lsn()`` in COMMIT's round trip). A replica serves the scope only once
  its replay position has reached that one.
- **A replica serves reads** while it answers, is a standby (``pg_is_in_recovery()``), was
  heard from lately, and is no further behind than ``replica-max-lag``. Its lag is a time: how
  long ago the primary was last at (or before) the position the replica has replayed, from the
  primary's own positions sampled by its thread, so a paused or stalled replica is behind as
  soon as the primary moves on, and an idle pair is never behind.
- Any other case is the primary's: nothing is raised to the caller, and a replica that answers
  again (within the lag limit) is taken back at the next poll.

Logs under ``plainsql.replicas``: a replica that stops or starts serving, and why.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from plainsql.config import Settings, describe_target
from plainsql.errors import DatabaseUnavailable, InvalidScope, scrub_secrets
from plainsql.runtime._deadline import Guarded
from plainsql.server import session_options

logger = logging.getLogger("plainsql.replicas")

REPLICA_SAFE = "replica-safe"

# The largest WAL position: a scope whose last commit's position is unknown (its capture
# failed after the COMMIT succeeded) is pinned to the primary until its next commit.
UNKNOWN_POSITION = (1 << 64) - 1

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")

# What the monitor asks: the replica's state, and the primary's position. One statement each.
REPLICA_QUERY = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"
PRIMARY_QUERY = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END"
)
# A monitor statement the server does not answer within this is a failed poll.
POLL_TIMEOUT_S = 2.0
# A replica not heard from for this long (its thread stuck in a poll) serves no read; three
# polls, when replica-poll is longer.
SILENT_AFTER_S = 1.0
# Seconds between a failed poll and the next attempt (a replica that is down is tried again
# this often, and taken back at the first poll that succeeds).
RETRY_AFTER_S = 0.5
# How far back the primary's positions are kept beyond the lag limit: a replica behind all of
# them is at least that far behind.
HISTORY_EXTRA_S = 10.0


def parse_lsn(text: str) -> int:
    """``16/B374D848`` (PostgreSQL's text of a WAL position) as a number."""
    match = _LSN.match(text)
    if match is None:
        raise ValueError(f"not a WAL position: {text!r}")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(position: int) -> str:
    """A WAL position as PostgreSQL writes it (``16/B374D848``)."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


# -- the read-your-writes scope --------------------------------------------------------------

_active: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "plainsql_scope", default=None
)


def current_scope() -> Scope | None:
    """The scope active in this task or thread (:meth:`Scope.active`), if any."""
    return _active.get()


class Scope:
    """What a request or a user's session has written: the WAL position of its last commit.

    While a scope is active (``with scope.active():``, per task or thread), every unit of work
    that may write records its commit's position in it, and a replica serves its reads only
    once it has replayed past that position: the scope always reads its own writes. It travels
    as text (``scope.token()``, ``Scope.from_token(text)``), in a cookie or to another process:
    the guarantee goes with it. A new scope has written nothing, and any healthy replica may
    serve it.
    """

    __slots__ = ("_lock", "_position")

    def __init__(self) -> None:
        self._position = 0
        self._lock = threading.Lock()  # threads of one session may commit at once

    @classmethod
    def from_token(cls, token: str | None) -> Scope:
        """The scope a :meth:`token` stands for; an empty token or None is a new scope. A
        token that is not one (altered, truncated, from another program) is
        :class:`~plainsql.errors.InvalidScope` (its text is not shown)."""
        scope = cls()
        if token:
            try:
                scope._position = parse_lsn(token.strip())
            except ValueError:
                raise InvalidScope(
                    f"a read-your-writes token is a WAL position such as 16/B374D848 (or "
                    f"empty); got {len(token)} characters of something else",
                    query_name="scope",
                ) from None
        return scope

    @property
    def position(self) -> int:
        """The WAL position of the scope's last commit (0: it has written nothing)."""
        return self._position

    def token(self) -> str:
        """The scope as text, for a cookie or another process (empty when it wrote nothing)."""
        return format_lsn(self._position) if self._position else ""

    def __str__(self) -> str:
        return self.token()

    def __repr__(self) -> str:
        return f"Scope({self.token()!r})"

    def note(self, position: int | None) -> None:
        """A unit of this scope committed at ``position`` (None: at a position not known)."""
        with self._lock:
            if position is None:
                self._position = UNKNOWN_POSITION
            elif position > self._position or self._position == UNKNOWN_POSITION:
                # Read after an unknown one, a position is later on the same server: it wins.
                self._position = position

    @contextmanager
    def active(self) -> Iterator[Scope]:
        """This scope for the units of work of the block (in this task or thread)."""
        reset = _active.set(self)
        try:
            yield self
        finally:
            _active.reset(reset)


# -- what is known of each replica -----------------------------------------------------------


@dataclass(slots=True, eq=False)
class ReplicaState:
    """One replica as its monitor thread last saw it (routing reads it, never writes it)."""

    name: str  # "replica-1", in the order of replica-urls
    target: str  # host:port/db, for messages: never the password
    conninfo: str = field(repr=False)
    serving: bool = False
    replay_position: int = 0
    lag_seconds: float = math.inf
    heard_at: float = 0.0  # time.monotonic() of the last answer
    kind: str = "new"  # serving, unreachable, behind, primary, unmeasured
    reason: str = "not polled yet"  # why it does not serve (when it does not)
    reads: int = 0  # reads routed to it (best effort under threads)


@dataclass(frozen=True, slots=True)
class ReplicaStats:
    """A replica's figures, as :meth:`Router.statistics` reports them."""

    name: str
    target: str
    serving: bool
    reason: str  # why it does not serve; "" when it does
    replay_position: str  # "16/B374D848", "" when unknown
    lag_seconds: float | None  # None when unknown
    reads: int
    pool: dict[str, int]


class Router:
    """The replicas' states, the primary's recent positions, and the choice of a replica.

    ``choose`` is on the path of every read that may go to a replica; everything else runs in
    the monitor threads (:meth:`start`), one per replica and one for the primary.
    """

    def __init__(self, settings: Settings, primary_conninfo: str, urls: tuple[str, ...]) -> None:
        self.settings = settings
        self.max_lag = settings.replica_max_lag_ms / 1000
        self.interval = settings.replica_poll_ms / 1000
        self.silent_after = max(SILENT_AFTER_S, 3 * self.interval)
        self.primary_conninfo = primary_conninfo
        self.states = [
            ReplicaState(f"replica-{number}", describe_target(url), url)
            for number, url in enumerate(urls, start=1)
        ]
        self.primary_reads = 0  # reads that could have gone to a replica and went to the primary
        self._serving: tuple[int, ...] = ()
        self._turn = itertools.count()
        # (time.monotonic(), flush position) of the primary, oldest first; a position seen
        # again moves its entry's time forward: "the primary was still here then".
        self._history: list[tuple[float, int]] = []
        self._primary_reason = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unpolled = len(self.states) + 1
        self._polled_once = threading.Event()
        self._primary_polled = threading.Event()

    # -- the path of a call ---------------------------------------------------------------

    def choose(self, position: int) -> int | None:
        """The index of a replica that may serve a read of a scope at ``position`` (0: any),
        in turn among those serving; None: the primary's."""
        serving = self._serving
        if serving:
            now = time.monotonic()
            count = len(serving)
            start = next(self._turn)
            for offset in range(count):
                index = serving[(start + offset) % count]
                state = self.states[index]
                if state.replay_position >= position and now - state.heard_at < self.silent_after:
                    state.reads += 1
                    return index
        self.primary_reads += 1
        return None

    def failed(self, index: int, exc: BaseException) -> None:
        """A read found replica ``index`` unreachable: it serves nothing until its monitor
        hears from it again."""
        self._set(index, False, "unreachable", f"unreachable ({_reason(exc)})")

    # -- statistics -----------------------------------------------------------------------

    def statistics(self, pools: list[dict[str, int]]) -> list[ReplicaStats]:
        """Each replica's state, lag, reads and pool counters (``pools``, in order)."""
        return [
            ReplicaStats(
                name=state.name,
                target=state.target,
                serving=state.serving,
                reason="" if state.serving else state.reason,
                replay_position=format_lsn(state.replay_position) if state.replay_position else "",
                lag_seconds=None if math.isinf(state.lag_seconds) else state.lag_seconds,
                reads=state.reads,
                pool=pool,
            )
            for state, pool in zip(self.states, pools, strict=True)
        ]

    # -- the monitor threads --------------------------------------------------------------

    def start(self, wait: float) -> None:
        """Start the monitor threads; wait (at most ``wait`` seconds) until each has polled
        once, so that a replica that answers serves from the first call."""
        if not self.states:
            return
        deadline = time.monotonic() + wait
        watches: list[tuple[str, str, Poll, Failed]] = [
            ("primary", self.primary_conninfo, self._sample_primary, self._primary_failed)
        ]
        for index, state in enumerate(self.states):
            watches.append((state.name, state.conninfo, *self._watchers(index)))
        self._threads = [
            threading.Thread(
                target=self._watch,
                args=(conninfo, poll, failed),
                name=f"plainsql-{name}-monitor",
                daemon=True,
            )
            for name, conninfo, poll, failed in watches
        ]
        # The primary's position first: a replica's first poll can then measure its lag.
        self._threads[0].start()
        self._primary_polled.wait(timeout=max(0.0, deadline - time.monotonic()))
        for thread in self._threads[1:]:
            thread.start()
        self._polled_once.wait(timeout=max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Stop the monitor threads (each closes its connection)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.settings.connect_timeout + POLL_TIMEOUT_S + 1)

    def _watch(self, conninfo: str, poll: Poll, failed: Failed) -> None:
        """One monitor thread: connect (again after any failure), poll, sleep; until stopped."""
        conn: psycopg.Connection[Any] | None = None
        first = True
        while not self._stop.is_set():
            pause = self.interval
            try:
                if conn is None or conn.closed:
                    conn = self._connect(conninfo)
                poll(conn)
            except (psycopg.Error, ValueError, DatabaseUnavailable) as exc:  # or DeadlineExceeded
                if conn is not None:
                    conn.close()
                conn = None
                failed(exc)
                pause = max(pause, RETRY_AFTER_S)  # a server that is down is not hammered
            except Exception as exc:  # a monitor thread must not die: log it and carry on
                logger.exception("replica monitor: %s", _reason(exc))
            if first:
                first = False
                if poll == self._sample_primary:
                    self._primary_polled.set()
                with self._lock:
                    self._unpolled -= 1
                    if self._unpolled == 0:
                        self._polled_once.set()
            self._stop.wait(pause)
        if conn is not None:
            conn.close()

    def _connect(self, conninfo: str) -> psycopg.Connection[Any]:
        options = session_options(self.settings)
        options["options"] = f"-c statement_timeout={int(POLL_TIMEOUT_S * 1000)}"
        options["application_name"] = f"{self.settings.application_name} replica monitor"
        conn = psycopg.connect(make_conninfo(conninfo, **options), autocommit=True)
        conn.prepare_threshold = None  # one statement, once per poll
        return conn

    def _sample_primary(self, conn: psycopg.Connection[Any]) -> None:
        with Guarded(conn, POLL_TIMEOUT_S + 1):
            row = conn.execute(PRIMARY_QUERY).fetchone()
        if row is None or row[0] is None:
            self._primary_failed(ValueError("the primary is in recovery (pg_is_in_recovery())"))
            return  # no position to measure the replicas against
        position, now = parse_lsn(str(row[0])), time.monotonic()
        with self._lock:
            history = self._history
            if history and history[-1][1] == position:
                history[-1] = (now, position)
            else:
                history.append((now, position))
            keep = now - self.max_lag - HISTORY_EXTRA_S
            while len(history) > 1 and history[1][0] < keep:
                del history[0]
            recovered, self._primary_reason = self._primary_reason, ""
        if recovered:
            logger.info("the primary's WAL position is read again")

    def _primary_failed(self, exc: BaseException) -> None:
        reason = _reason(exc)
        with self._lock:
            first, self._primary_reason = not self._primary_reason, reason
        if first:
            logger.warning(
                "cannot read the primary's WAL position (%s): the replicas' lag is measured "
                "against the last one read",
                reason,
            )

    def lag_of(self, replayed: int, now: float) -> float:
        """How long ago the primary was last at or before ``replayed`` (0: it has not moved
        beyond it); ``inf`` when that is not known yet (the primary not sampled, or sampled
        for less than the lag limit, and always beyond the replica)."""
        with self._lock:
            history = list(self._history)
        if not history:
            return math.inf
        if replayed >= history[-1][1]:
            return 0.0
        for sampled_at, position in reversed(history):
            if position <= replayed:
                return max(0.0, now - sampled_at)
        # Behind everything kept: the primary passed this position before its oldest sample,
        # so the replica is at least that far behind; no more is known.
        at_least = now - history[0][0]
        return at_least if at_least > self.max_lag else math.inf

    def _watchers(self, index: int) -> tuple[Poll, Failed]:
        """The poll of replica ``index``, and what a failed one does."""
        state = self.states[index]

        def poll(conn: psycopg.Connection[Any]) -> None:
            with Guarded(conn, POLL_TIMEOUT_S + 1):
                row = conn.execute(REPLICA_QUERY).fetchone()
            now = time.monotonic()
            in_recovery, replayed = row if row is not None else (False, None)
            state.heard_at = now
            if not in_recovery or replayed is None:
                state.lag_seconds = math.inf
                self._set(index, False, "primary", "it is not a standby (pg_is_in_recovery())")
                return
            state.replay_position = parse_lsn(str(replayed))
            state.lag_seconds = lag = self.lag_of(state.replay_position, now)
            if math.isinf(lag):
                reason = (
                    "its lag is not known yet (it has not replayed the oldest WAL position "
                    "read on the primary)"
                )
                self._set(index, False, "unmeasured", reason)
            elif lag > self.max_lag:
                reason = f"{lag:.1f} s behind the primary (replica-max-lag {self.max_lag:g} s)"
                self._set(index, False, "behind", reason)
            else:
                self._set(index, True, "serving", "")

        def failed(exc: BaseException) -> None:
            state.lag_seconds = math.inf
            self._set(index, False, "unreachable", f"unreachable ({_reason(exc)})")

        return poll, failed

    def _set(self, index: int, serving: bool, kind: str, reason: str) -> None:
        """Record whether replica ``index`` serves, and why not; log a change of either (not
        each poll: a lagging replica's lag changes at every one)."""
        state = self.states[index]
        with self._lock:
            changed = kind != state.kind
            state.serving, state.kind, state.reason = serving, kind, reason
            self._serving = tuple(i for i, s in enumerate(self.states) if s.serving)
        if not changed:
            return
        if serving:
            logger.info("%s (%s) serves reads", state.name, state.target)
        else:
            logger.warning(
                "%s (%s) serves no reads, the primary does: %s", state.name, state.target, reason
            )


Poll = Callable[[psycopg.Connection[Any]], None]
Failed = Callable[[BaseException], None]


def _reason(exc: BaseException) -> str:
    """The first line of an error, without any password."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return scrub_secrets(lines[0] if lines else type(exc).__name__)


def marked_replica_safe(query: Callable[..., Any]) -> bool:
    """Whether ``query`` (a typed query's method, or a query function of ``load_queries``) is
    marked ``-- plainsql: replica-safe`` in its SQL file. On the path of every one-query unit:
    a few attribute reads, never ``Queries.__getattr__`` (which looks for close names)."""
    owner = getattr(query, "__self__", None)
    # typegen's classes say their namespace (read from the class's own dict: a missing
    # attribute would cost an exception on every call of the other kind)
    namespace = type(owner).__dict__.get("_namespace")
    if namespace is not None:
        adapter = getattr(owner, "_a", None)
        short = getattr(query, "__name__", "")
        name = f"{namespace}.{short}" if namespace else short
    else:  # plainsql.queries.Queries: the function's name is the query's full name
        attributes = getattr(owner, "__dict__", None)
        adapter = attributes.get("driver_adapter") if attributes else None
        name = getattr(query, "__name__", "")
    directives: Any = getattr(adapter, "directives", None)
    return bool(directives) and REPLICA_SAFE in directives.get(name, ())
