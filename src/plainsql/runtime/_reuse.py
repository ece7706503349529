"""Reusing a read's result, without I/O: the per-scope deduplication and the query cache's store.

Both flavours of the runtime share this module (the adapters, the units of work, and
:mod:`plainsql.runtime.cache_async` with its sync twin); the long form is docs/caching.md.

- :func:`deduplicate_reads` opens a **scope** (a context variable): within it, a read run in a
  read-only READ COMMITTED unit of work with the same query, parameters, role and acting user
  as an earlier one returns the earlier result instead of running again. A write in the scope
  (a named query that is not a read, or a read-write unit ending) empties it.
- :class:`CacheStore` holds the results of the queries whose SQL says ``-- plainsql: cache``:
  bounded in entries and bytes (the least recently used entry is evicted first), each entry
  kept at most its query's ``ttl``, dropped when a table the query reads is written (the
  listener calls :meth:`CacheStore.invalidate`), emptied when the listening connection drops.
  Nothing is served or stored while nobody listens.
- A read that finds nothing kept runs once for all the identical reads at the same time: a
  :class:`Lead` registers it (a flight) in the scope and the store, and the identical reads
  that look before taking a connection wait for it; when it fails or is cancelled they run
  themselves. A write forgets the flights it could make stale.

A key never holds a parameter *value* in a log line: only names and counts are logged.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

from aiosql.types import SQLOperationType

from plainsql._directives import Directive

# -- the directive ------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>ms|s|min|m|h)$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_TABLE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$")
READ_OPERATIONS: Final = frozenset(
    {SQLOperationType.SELECT, SQLOperationType.SELECT_ONE, SQLOperationType.SELECT_VALUE}
)


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """What a query's ``-- plainsql: cache ttl=30s [tables=a,b]`` line says."""

    ttl: float  # seconds
    tables: tuple[str, ...] = ()  # watched besides what the server says the query reads


def cache_spec(directive: Directive, operation: SQLOperationType) -> CacheSpec:
    """The cache directive of a query, checked; :class:`ValueError` says what is wrong."""
    if operation not in READ_OPERATIONS:
        raise ValueError(
            "directive 'cache': only a read can be cached (a query named without a suffix, "
            "or with ^ or $), not this one"
        )
    raw = directive.options.get("ttl")
    if raw is None:
        raise ValueError("directive 'cache' needs ttl=<duration>, e.g. ttl=30s (ms, s, min, h)")
    match = _DURATION.match(raw)
    if match is None or float(match["number"]) <= 0:
        raise ValueError(
            f"directive 'cache': ttl must be a duration like 500ms, 30s, 5min or 1h, got {raw!r}"
        )
    ttl = float(match["number"]) * _SECONDS[match["unit"]]
    tables: tuple[str, ...] = ()
    if "tables" in directive.options:
        tables = tuple(t for t in directive.options["tables"].split(",") if t)
        bad = [t for t in tables if not _TABLE.match(t)]
        if bad or not tables:
            raise ValueError(
                "directive 'cache': tables= takes table names separated by commas "
                f"(schema.table or table), got {directive.options['tables']!r}"
            )
    return CacheSpec(ttl, tables)


# -- keys ---------------------------------------------------------------------------------------

MISSING: Final = object()  # "no result kept" (None is a result: a ^ query found no row)

# A unit of work's stamp on its connection (plainsql.runtime.database_async): the pool, and
# its BEGIN statement, which names the isolation level, the role and the acting user.
Stamp = tuple[object, str]


def params_key(parameters: Mapping[str, Any] | Any) -> Hashable | None:
    """The parameters as a key: each value with its type (``1``, ``1.0`` and ``True`` are equal
    in Python and differ in SQL); lists as tuples; None when a value cannot be a key."""
    try:
        items = parameters.items() if isinstance(parameters, Mapping) else enumerate(parameters)
        return tuple((name, _value_key(value)) for name, value in items)
    except TypeError:
        return None


def _value_key(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return (type(value), tuple(_value_key(v) for v in value))
    if isinstance(value, Decimal):
        return (Decimal, str(value))  # 1.0 and 1.00: equal, yet numeric keeps the scale
    hash(value)  # TypeError for what cannot be a key (a dict, a Jsonb wrapper)
    return (type(value), value)


def copied(result: Any) -> Any:
    """What a reused result is handed out as: a new list of the rows, and dict rows copied, so
    that a caller changing its result never changes what the next caller gets. Records
    (typegen's frozen dataclasses) and values are shared as they are."""
    if isinstance(result, list):
        return [dict(row) if type(row) is dict else row for row in result]
    if type(result) is dict:
        return dict(result)
    return result


# -- identical reads under way (single flight) -------------------------------------------------


class _Flight:
    """A read under way that identical reads wait for instead of running (docs/caching.md,
    "Concurrent identical reads"): its result once it lands, :data:`MISSING` when it failed."""

    __slots__ = ("_landed", "result")

    def __init__(self, landed: asyncio.Event | threading.Event) -> None:
        self.result: Any = MISSING
        self._landed = landed

    def land(self, result: Any) -> None:
        """Wake the waiters (once): with ``result``, or :data:`MISSING` (they run themselves)."""
        if not self._landed.is_set():
            self.result = result
            self._landed.set()


class AsyncFlight(_Flight):
    """A read under way, waited for by tasks of its event loop (a cancelled waiter stops
    waiting alone)."""

    __slots__ = ()
    _landed: asyncio.Event

    def __init__(self) -> None:
        super().__init__(asyncio.Event())

    async def wait(self) -> Any:
        await self._landed.wait()
        return self.result


class Flight(_Flight):
    """A read under way, waited for by threads."""

    __slots__ = ()
    _landed: threading.Event

    def __init__(self) -> None:
        super().__init__(threading.Event())

    def wait(self) -> Any:
        self._landed.wait()
        return self.result


F = TypeVar("F", Flight, AsyncFlight)


# -- deduplication, per scope -------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class ReadScope:
    """The reads of one scope (:func:`deduplicate_reads`): ``ran`` counts the reads that ran,
    ``reused`` those answered from an earlier one (kept, or under way), ``cleared`` the writes
    that emptied it (a read keeps its result only if none came since it began)."""

    results: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    flights: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    ran: int = 0
    reused: int = 0
    cleared: int = 0
    # Tasks started inside a scope share it, and so do threads handed its context
    # (asyncio.to_thread): the lock keeps the results, the flights and `cleared` in step.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self._lock:
            if self.results:
                self.results.clear()
            if self.flights:
                self.flights.clear()  # a read under way began before the write: nobody joins it
            self.cleared += 1

    def flight(self, key: Hashable, new: Callable[[], F] | None) -> tuple[F | None, bool]:
        """The read of ``key`` under way in this scope, to wait for (False); else a new one
        made by ``new``, which the caller leads (True); else (``new`` None) nothing."""
        with self._lock:
            flight = self.flights.get(key)
            if flight is not None or new is None:
                return flight, False
            flight = self.flights[key] = new()
            return flight, True

    def keep(self, key: Hashable, result: Any, generation: int) -> None:
        """``result`` of a read that ran, begun when the scope's ``cleared`` was
        ``generation``: kept unless a write emptied the scope since."""
        if result is MISSING:
            return
        with self._lock:
            self.ran += 1
            if self.cleared == generation:
                self.results[key] = result

    def landed(self, key: Hashable, flight: Flight | AsyncFlight) -> None:
        with self._lock:
            if self.flights.get(key) is flight:
                del self.flights[key]


SCOPE: ContextVar[ReadScope | None] = ContextVar("plainsql_read_scope", default=None)


@contextmanager
def deduplicate_reads() -> Iterator[ReadScope]:
    """A scope in which the same read runs once: ``with plainsql.deduplicate_reads(): ...``
    around a request. Within it, a read (a named query the server says only reads: no
    ``FOR UPDATE``, no VOLATILE function) run in a read-only unit of work with the same role,
    acting user and parameters as an earlier one (or one under way) returns the earlier
    result. A named query that is not a read, or a read-write unit of work ending, empties
    the scope. It works in async code too (a context variable: tasks started inside share
    it)."""
    scope = ReadScope()
    token = SCOPE.set(scope)
    try:
        yield scope
    finally:
        SCOPE.reset(token)


# How many query caches are open in this process: a unit of one query looks for a reused
# result before it takes a connection only when one is (or a scope is open).
CACHES_OPEN: list[int] = [0]


class NotReused(Exception):
    """The query needs a connection: no earlier result answers it. ``lead``: what the read
    leads or must do when it runs (:class:`Lead`), or None."""

    def __init__(self, reason: str, lead: Lead | None = None) -> None:
        super().__init__(reason)
        self.lead = lead


class ReuseProbe:
    """What a read-only unit of one query hands its query function before it takes a
    connection (``AsyncUnit.run``): the unit's stamp, so that a result kept for that role,
    acting user and those parameters answers without a round trip, and whether the unit may
    lead identical reads (it runs on the primary). Anything else asked of it raises
    :class:`NotReused`, and the unit then runs the query as usual."""

    __slots__ = ("may_lead", "reuse_stamp")

    def __init__(self, stamp: Stamp, may_lead: bool) -> None:
        self.reuse_stamp = stamp
        self.may_lead = may_lead

    def __getattr__(self, name: str) -> Any:
        raise NotReused(name)


class Lead:
    """One read that runs, and the identical reads waiting for it: the flights it registered
    (in its scope, in the cache), which it lands with its result, or with :data:`MISSING`
    when it fails or is cancelled (its waiters then run themselves).

    A unit's look, holding no connection yet, may register flights; the unit then runs with
    the lead in :data:`LEADING` (``with lead:``), so that its read knows the flights are its
    own, and whatever the read did not land lands empty when the unit ends.
    """

    __slots__ = (
        "cache_flight",
        "cache_key",
        "generation",
        "key",
        "query",
        "scope",
        "scope_flight",
        "store",
        "token",
        "waited",
    )

    def __init__(
        self,
        key: Hashable,
        query: str,
        scope: ReadScope | None,
        store: CacheStore | None,
        cache_key: Hashable,
    ) -> None:
        self.key = key  # the read's key in its scope: adapter, query, stamp, parameters
        self.query = query
        self.scope = scope
        self.generation = 0 if scope is None else scope.cleared  # when the read began
        self.store = store
        self.cache_key = cache_key
        self.scope_flight: Any = None
        self.cache_flight: Any = None
        self.waited: ReadScope | CacheStore | None = None
        self.token: Token[Lead | None] | None = None

    def arrive(self, new: Callable[[], F] | None, *, waits: bool) -> F | None:
        """Register the flights this read leads where none is under way (``new`` makes one;
        None: it leads none). ``waits`` (a look holding no connection): returns the first
        flight under way it finds, to wait for; else None. A read holding a connection never
        waits: its transaction's locks could be what the leader waits for."""
        if self.scope is not None:
            flight, leading = self.scope.flight(self.key, new)
            if leading:
                self.scope_flight = flight
            elif flight is not None and waits:
                self.waited = self.scope
                return flight
        if self.store is not None:
            flight, leading = self.store.flight(self.cache_key, self.query, new)
            if leading:
                self.cache_flight = flight
            elif flight is not None and waits:
                self.waited = self.store
                return flight
        return None

    @property
    def leads(self) -> bool:
        """Whether identical reads may be waiting for this one."""
        return self.scope_flight is not None or self.cache_flight is not None

    def served(self, result: Any) -> Any:
        """``result`` of the identical read this one waited for, counted (a reuse of the
        scope, a hit of the cache) and, from the cache, kept in the scope and handed on to
        the reads waiting for this one."""
        if self.scope is not None and self.waited is self.scope:
            self.scope.reused += 1  # it registered nothing: there is nothing to land
            self.scope = self.store = None
        elif self.store is not None:
            self.store.served(self.query)
            self.land(result)
        return result

    def land(self, result: Any, since: float | None = None) -> None:
        """The read ended: ``result`` kept where the rules allow (the cache's, and the scope's:
        no write since the read began) and handed to its waiters; :data:`MISSING`: it failed
        or never ran. ``since``: when the unit that read it took its connection (None: the
        result came from the cache). Once; later calls do nothing."""
        store, scope = self.store, self.scope
        if store is not None:
            if since is not None and result is not MISSING:
                store.store(self.cache_key, self.query, result, since)
            if self.cache_flight is not None:
                store.landed(self.cache_key, self.cache_flight)
                self.cache_flight.land(result)
        if scope is not None:
            scope.keep(self.key, result, self.generation)
            if self.scope_flight is not None:
                scope.landed(self.key, self.scope_flight)
                self.scope_flight.land(result)
        self.store = self.scope = self.scope_flight = self.cache_flight = None

    def __enter__(self) -> Lead:
        self.token = LEADING.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            LEADING.reset(self.token)
        self.land(MISSING)


# The read a unit's look took the lead of (set while that unit runs: Lead.__enter__).
LEADING: ContextVar[Lead | None] = ContextVar("plainsql_leading_read", default=None)


def written() -> None:
    """A write happened in the current scope, if any: forget its reads."""
    scope = SCOPE.get()
    if scope is not None:
        scope.clear()


# -- the cache's store --------------------------------------------------------------------------


@dataclass(slots=True)
class QueryCounts:
    """One cached query's counters: ``hits`` (answered from the cache), ``misses`` (ran on
    the server), ``evictions`` (entries dropped to stay within the bounds) and
    ``invalidations`` (entries dropped because a table the query reads was written)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidations: int = 0

    def minus(self, other: QueryCounts) -> QueryCounts:
        return QueryCounts(
            self.hits - other.hits,
            self.misses - other.misses,
            self.evictions - other.evictions,
            self.invalidations - other.invalidations,
        )


@dataclass(slots=True)
class _Entry:
    result: Any
    query: str
    expires: float
    size: int


class CacheStore:
    """The entries of a query cache, bounded, with what invalidates each query's entries.

    ``reads`` maps each cached query to the tables (oids) whose writes invalidate it. Every
    method takes the lock: the sync cache's listener is a thread of its own.
    """

    def __init__(
        self,
        specs: Mapping[str, CacheSpec],
        reads: Mapping[str, frozenset[int]],
        *,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.specs = dict(specs)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.clock = clock
        self.counts = {name: QueryCounts() for name in specs}
        self.reads = {name: tuple(reads.get(name, ())) for name in specs}
        self.readers: dict[int, tuple[str, ...]] = {}
        for name, tables in reads.items():
            for oid in tables:
                self.readers[oid] = (*self.readers.get(oid, ()), name)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._keys: dict[str, set[Hashable]] = {name: set() for name in specs}
        # The misses under way (a flight each, with its query), which identical misses wait
        # for: forgotten, like the entries, when a table their query reads is written.
        self._flights: dict[Hashable, tuple[str, Flight | AsyncFlight]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        # When each table was last written (the listener's clock), and since when the cache
        # listens: a result read before either is not kept (see store()).
        self._written: dict[int, float] = {}
        self.listening = False
        self.listening_since = float("inf")
        self.notifications = 0
        self.drops = 0

    # -- what the runtime calls, on the path of a cached query

    def get(self, key: Hashable, query: str, *, count_miss: bool = True) -> Any:
        """The result kept under ``key``, or :data:`MISSING` (counted as a hit or a miss;
        ``count_miss=False``: the caller counts it when it runs, :meth:`missed`)."""
        with self._lock:
            counts = self.counts[query]
            entry = self._entries.get(key) if self.listening else None
            if entry is not None and entry.expires <= self.clock():
                self._remove(key, entry)
                entry = None
            if entry is None:
                if count_miss:
                    counts.misses += 1
                return MISSING
            self._entries.move_to_end(key)
            counts.hits += 1
            return entry.result

    def store(self, key: Hashable, query: str, result: Any, since: float) -> bool:
        """Keep ``result`` of ``query``, read by a unit that began at ``since`` (the clock's
        time, before its snapshot): not kept when nobody listened then, or when a table the
        query reads was written since (its notification may have come before this result was
        read from an older snapshot). Returns whether it was kept."""
        size = approximate_size(result)
        with self._lock:
            if not self.listening or since <= self.listening_since:
                return False
            if any(self._written.get(oid, -1.0) >= since for oid in self.reads[query]):
                return False
            if size > self.max_bytes:
                return False
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
                self._keys[old.query].discard(key)
            self._entries[key] = _Entry(result, query, self.clock() + self.specs[query].ttl, size)
            self._keys[query].add(key)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                evicted_key, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
                self._keys[evicted.query].discard(evicted_key)
                self.counts[evicted.query].evictions += 1
            return True

    def flight(
        self, key: Hashable, query: str, new: Callable[[], F] | None
    ) -> tuple[F | None, bool]:
        """The miss of ``key`` under way, to wait for (False); else a new one made by ``new``,
        which the caller leads (True); else (``new`` None, or nobody listens: a write would
        go unheard) nothing."""
        with self._lock:
            under_way = self._flights.get(key)
            if under_way is not None:
                return cast(F, under_way[1]), False
            if new is None or not self.listening:
                return None, False
            flight = new()
            self._flights[key] = (query, flight)
            return flight, True

    def landed(self, key: Hashable, flight: Flight | AsyncFlight) -> None:
        with self._lock:
            under_way = self._flights.get(key)
            if under_way is not None and under_way[1] is flight:
                del self._flights[key]

    def served(self, query: str) -> None:
        """A read got the result of an identical miss it waited for: a hit."""
        with self._lock:
            self.counts[query].hits += 1

    def missed(self, query: str) -> None:
        """A read of ``query`` goes to the server."""
        with self._lock:
            self.counts[query].misses += 1

    # -- what the listener calls

    def invalidate(self, oid: int) -> tuple[str, ...]:
        """Table ``oid`` was written: drop the entries of every query reading it; returns
        those queries."""
        with self._lock:
            self.notifications += 1
            self._written[oid] = self.clock()
            names = self.readers.get(oid, ())
            if self._flights:  # a read under way may have begun before the write: none joins it
                for key in [k for k, (name, _) in self._flights.items() if name in names]:
                    del self._flights[key]
            for name in names:
                keys = self._keys[name]
                self.counts[name].invalidations += len(keys)
                for key in keys:
                    entry = self._entries.pop(key)
                    self._bytes -= entry.size
                keys.clear()
            return names

    def dropped(self) -> int:
        """The listening connection is gone: empty the cache, serve and keep nothing until
        :meth:`listening_again`. Returns how many entries were dropped."""
        with self._lock:
            count = len(self._entries)
            self.listening = False
            self.listening_since = float("inf")
            self.drops += 1
            self._clear()
            return count

    def listening_again(self) -> None:
        """``LISTEN`` is in effect (again): results read from now on may be kept."""
        with self._lock:
            self._clear()
            self.listening = True
            self.listening_since = self.clock()

    def clear(self) -> None:
        with self._lock:
            self._clear()

    # -- what people look at

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def snapshot(self) -> dict[str, QueryCounts]:
        with self._lock:
            return {
                name: QueryCounts(c.hits, c.misses, c.evictions, c.invalidations)
                for name, c in self.counts.items()
            }

    def _clear(self) -> None:
        self._entries.clear()
        self._flights.clear()
        for keys in self._keys.values():
            keys.clear()
        self._bytes = 0

    def _remove(self, key: Hashable, entry: _Entry) -> None:
        del self._entries[key]
        self._keys[entry.query].discard(key)
        self._bytes -= entry.size


def approximate_size(value: Any, depth: int = 0) -> int:
    """Roughly how many bytes ``value`` holds: its own size plus its items' (lists, dicts,
    slotted records), four levels deep. A bound, not an accounting."""
    size = sys.getsizeof(value)
    if depth >= 4 or isinstance(value, str | bytes | int | float | bool):
        return size
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(approximate_size(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return size + sum(
            approximate_size(k, depth + 1) + approximate_size(v, depth + 1)
            for k, v in value.items()
        )
    slots = getattr(type(value), "__slots__", None)
    if slots and not isinstance(value, Decimal):
        names = (slots,) if isinstance(slots, str) else slots
        return size + sum(approximate_size(getattr(value, n, None), depth + 1) for n in names)
    return size


# -- background work: a task (async) or a thread (sync), for the cache's listener ---------------

AsyncWorker = asyncio.Task[None]
Worker = threading.Thread


def async_spawn(target: Callable[[], Awaitable[None]], name: str) -> AsyncWorker:
    async def run() -> None:
        await target()

    return asyncio.get_running_loop().create_task(run(), name=name)


def spawn(target: Callable[[], None], name: str) -> Worker:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


async def async_join(worker: AsyncWorker) -> None:
    await worker


def join(worker: Worker) -> None:
    worker.join()


async def async_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)
