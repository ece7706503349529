"""What every workload shares: a scratch database migrated by the real migrations, timing, output.

A workload is a module in bench/workloads/ with ``run(ctx: BenchContext) -> list[Result]``.
Each gets a database of its own, cloned from a template the real migrations built, so no
workload sees another's rows. Each measures plainsql and its raw-psycopg baseline in the same
process on the same database and reports both, so the ratio is meaningful on any machine.
In a smoke run (``--smoke``) every workload does a small fraction of its work: it checks
that the workloads run, and its figures mean nothing. Nothing here asserts anything.

Where the server's work is what differs (a schema against another), a workload also records
the server's CPU time (:class:`ServerCPU`): the database's backends' user and system time from
``/proc``, when the server runs on this machine. On a machine shared with other work, wall
time counts the waits for a CPU too; the backends' own CPU time does not.
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import sql

from plainsql import Settings

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class BenchContext:
    """One workload's scratch database: a fresh clone of the migrated template, dropped after."""

    settings: Settings  # DATABASE_URL points at the scratch database
    conninfo: str
    smoke: bool = False  # a quick run: small sizes, figures not meaningful
    # Another fresh clone of the same template on the same server (dropped when its block
    # ends), for contenders that need a schema of their own; None where there is no template.
    clone: Callable[[], AbstractContextManager[BenchContext]] | None = None

    def another_database(self) -> AbstractContextManager[BenchContext]:
        """A second scratch database like this one, for the duration of a ``with`` block."""
        if self.clone is None:
            raise RuntimeError("this bench context cannot clone its database")
        return self.clone()

    def act_as(self, user_id: str) -> list[sql.Composed]:
        """What plainsql's units of work set first: the application's role (when
        ``transaction-role`` is set) and the acting user; for raw psycopg contenders."""
        statements = [
            sql.SQL("SET LOCAL {} = {}").format(
                sql.Identifier(self.settings.acting_user_setting), sql.Literal(user_id)
            )
        ]
        if self.settings.transaction_role:
            role = sql.Identifier(self.settings.transaction_role)
            statements.insert(0, sql.SQL("SET LOCAL ROLE {}").format(role))
        return statements

    def size(self, full: int, smoke: int) -> int:
        """``full`` in a real run, ``smoke`` in a smoke run (counts, rows, repeats)."""
        return smoke if self.smoke else full


@dataclass(frozen=True, slots=True)
class Measurement:
    """One contender's figure: the median of its rounds, with their spread.

    ``cpu_seconds`` is the client's (this process's) CPU time over the same rounds' median:
    what plainsql's own layer costs, free of the server's share and of the machine's noise.
    ``server_cpu_seconds`` is the server backends' CPU time (:class:`ServerCPU`), its rounds'
    median (``server_cpu_min``: the least of them); None when it was not measured or could not
    be read. ``fastest`` is the fastest round's wall time.
    """

    label: str
    seconds: float
    operations: int
    peak_bytes: int
    cpu_seconds: float = 0.0
    spread: float = 0.0  # (slowest - fastest round) / median; 0 for a single round
    rounds: int = 1
    server_cpu_seconds: float | None = None
    server_cpu_min: float | None = None
    fastest: float | None = None
    cpu_min_seconds: float = 0.0  # the least client CPU of the rounds (0: a single round)

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else float("inf")

    @property
    def cpu_per_operation_us(self) -> float:
        return self.cpu_seconds / self.operations * 1e6 if self.operations else 0.0

    @property
    def cpu_min_per_operation_us(self) -> float:
        return self.cpu_min_seconds / self.operations * 1e6 if self.operations else 0.0


@dataclass(frozen=True, slots=True)
class Ratio:
    """A comparison a workload states besides plainsql against raw psycopg: ``over`` /
    ``under`` in wall time and in server CPU time, against the ``bound`` it must stay within
    (printed as "within" or "OVER"; nothing asserts it)."""

    label: str
    over: Measurement
    under: Measurement
    bound: float | None = None

    @property
    def time(self) -> float:
        return _ratio(self.over.seconds, self.under.seconds) or float("inf")

    @property
    def fastest(self) -> float | None:
        """The fastest rounds' ratio: the figures least disturbed by the machine's other work."""
        return _ratio(self.over.fastest, self.under.fastest)

    @property
    def server_cpu(self) -> float | None:
        return _ratio(self.over.server_cpu_seconds, self.under.server_cpu_seconds)

    @property
    def server_cpu_min(self) -> float | None:
        return _ratio(self.over.server_cpu_min, self.under.server_cpu_min)


def _ratio(over: float | None, under: float | None) -> float | None:
    return over / under if over is not None and under else None


@dataclass(frozen=True, slots=True)
class Result:
    """One workload: plainsql's figure against the baseline's (and optional extra figures)."""

    workload: str
    unit: str  # "calls", "rows", ...
    plainsql: Measurement
    baseline: Measurement
    others: tuple[Measurement, ...] = ()
    ratios: tuple[Ratio, ...] = ()
    # Figures printed after the others and compared only by ``ratios`` (not to plainsql's):
    # the same contenders on another schema, say.
    related: tuple[Measurement, ...] = ()


class ServerCPU:
    """The CPU time (user + system) of a database's client backends, read from ``/proc``.

    A monitor connection of its own lists the database's client backends (itself excepted)
    in ``pg_stat_activity``; each one's ``utime + stime`` comes from ``/proc/<pid>/stat``.
    That holds only when the server runs on this machine, in this machine's process ids (the
    embedded server, a local one): the backend's parent must be the checkpointer's parent, both
    named postgres here. Otherwise (a remote server, a container's own process ids, a /proc
    that hides other users' processes) :attr:`available` is False and every figure is None.
    Clock-tick resolution (10 ms at the usual 100 Hz): meaningful for figures of a second.
    Autovacuum and the other background processes are not counted.
    """

    def __init__(self, conninfo: str) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        found = self._conn.execute(
            "SELECT pg_backend_pid(),"
            " (SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer')"
        ).fetchone()
        self.available = False
        if found is not None and found[1] is not None:
            own, checkpointer = (_proc_stat(found[0]), _proc_stat(found[1]))
            self.available = (
                own is not None
                and checkpointer is not None
                and own[0] == checkpointer[0] == "postgres"
                and own[1] == checkpointer[1]
            )

    def close(self) -> None:
        self._conn.close()

    def sample(self) -> dict[int, int] | None:
        """Each client backend's CPU ticks so far, by process id; None when unavailable."""
        if not self.available:
            return None
        pids = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
        ticks = {}
        for (pid,) in pids:
            stat = _proc_stat(pid)
            if stat is not None:
                ticks[pid] = stat[2]
        return ticks

    def seconds(self, before: dict[int, int] | None, after: dict[int, int] | None) -> float | None:
        """The CPU seconds the backends spent between two samples (a backend that started in
        between counts whole; one that ended in between is lost)."""
        if before is None or after is None:
            return None
        return sum(t - before.get(pid, 0) for pid, t in after.items()) / self._tick


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """A process's name, parent id and CPU ticks (utime + stime) from /proc; None if hidden."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()  # fields 3.. of proc(5): state, ppid, ...
    return name, int(fields[1]), int(fields[11]) + int(fields[12])


def measure(
    label: str,
    operations: int,
    fn: Callable[[], T],
    *,
    memory: bool = False,
    server: ServerCPU | None = None,
) -> Measurement:
    """Time one call of ``fn`` (doing ``operations`` operations): wall clock, this process's
    CPU time, optionally peak Python memory and the server's CPU time."""
    if memory:
        tracemalloc.start()
    before = server.sample() if server else None
    cpu_started = time.process_time()
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    server_cpu = server.seconds(before, server.sample()) if server else None
    peak = 0
    if memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Measurement(
        label, elapsed, operations, peak, cpu, server_cpu_seconds=server_cpu, fastest=elapsed
    )


async def measure_async(
    label: str, operations: int, fn: Callable[[], Awaitable[object]]
) -> Measurement:
    """:func:`measure` for a coroutine, run on the current event loop."""
    cpu_started = time.process_time()
    started = time.perf_counter()
    await fn()
    elapsed = time.perf_counter() - started
    return Measurement(label, elapsed, operations, 0, time.process_time() - cpu_started)


def median_of(runs: list[Measurement]) -> Measurement:
    """The median round (by wall time), with the CPU medians and the rounds' spread."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    cpu = statistics.median(m.cpu_seconds for m in runs)
    servers = [m.server_cpu_seconds for m in runs if m.server_cpu_seconds is not None]
    complete = len(servers) == len(runs)
    spread = (ordered[-1].seconds - ordered[0].seconds) / middle.seconds if middle.seconds else 0
    return replace(
        middle,
        cpu_seconds=cpu,
        spread=spread,
        rounds=len(runs),
        server_cpu_seconds=statistics.median(servers) if complete else None,
        server_cpu_min=min(servers) if complete else None,
        fastest=ordered[0].seconds,
        cpu_min_seconds=min(m.cpu_seconds for m in runs),
    )


def interleaved(repeats: int, *contenders: Callable[[], Measurement]) -> tuple[Measurement, ...]:
    """Run the contenders in turn for ``repeats`` rounds; each one's median.

    Interleaving means a burst of load from the rest of the machine hits every contender
    alike, so the ratio stays meaningful on a busy machine; the spread says how busy it was.
    Each round starts one contender later (A B C, B C A, C A B, ...): none is always first
    after a warm-up or always right after the same neighbour.
    """
    runs: list[list[Measurement]] = [[] for _ in contenders]
    for round_number in range(repeats):
        for slot in _round_order(round_number, len(contenders)):
            runs[slot].append(contenders[slot]())
    return tuple(median_of(slot) for slot in runs)


def _round_order(round_number: int, count: int) -> list[int]:
    first = round_number % count
    return [*range(first, count), *range(first)]


async def interleaved_async(
    repeats: int, *contenders: Callable[[], Awaitable[Measurement]]
) -> tuple[Measurement, ...]:
    """:func:`interleaved` for contenders that are coroutines."""
    runs: list[list[Measurement]] = [[] for _ in contenders]
    for round_number in range(repeats):
        for slot in _round_order(round_number, len(contenders)):
            runs[slot].append(await contenders[slot]())
    return tuple(median_of(slot) for slot in runs)


def format_result(result: Result) -> str:
    lines = [f"{result.workload}"]
    for m in (result.plainsql, result.baseline, *result.others, *result.related):
        memory = f"  peak {m.peak_bytes / 1e6:8.1f} MB" if m.peak_bytes else ""
        spread = f" ±{m.spread * 50:4.1f}%" if m.rounds > 1 else "       "
        cpu = f"  cpu {m.cpu_per_operation_us:7.1f} µs/{result.unit[:-1] or result.unit}"
        server = ""
        if m.server_cpu_seconds is not None:
            server = f"  server cpu {m.server_cpu_seconds:7.3f} s"
            if m.rounds > 1 and m.server_cpu_min is not None:
                server += f" (min {m.server_cpu_min:.3f})"
        if m.cpu_min_seconds:
            cpu += f" (min {m.cpu_min_per_operation_us:.1f})"
        lines.append(
            f"  {m.label:<52} {m.seconds:8.3f} s{spread} {m.per_second:11,.0f} "
            f"{result.unit}/s{cpu if m.cpu_seconds else ''}{server}{memory}"
        )
    for other in result.others:
        lines.extend(_against(result.plainsql, other))
    if result.plainsql.peak_bytes and result.baseline.peak_bytes:
        # Timings taken under tracemalloc are distorted: only the memory ratio is meaningful.
        memory_ratio = result.plainsql.peak_bytes / result.baseline.peak_bytes
        lines.append(f"  ratio plainsql / {result.baseline.label}: {memory_ratio:6.2f}x (memory)")
    else:
        lines.extend(_against(result.plainsql, result.baseline))
    lines.extend(_format_ratio(ratio) for ratio in result.ratios)
    return "\n".join(lines)


def _against(plainsql: Measurement, other: Measurement) -> list[str]:
    """plainsql's figure over ``other``'s: in time, and in client CPU per operation when both
    measured it (the medians' ratio, and the least rounds' when there were several)."""
    lines = [f"  ratio plainsql / {other.label}: {plainsql.seconds / other.seconds:6.2f}x (time)"]
    if plainsql.cpu_seconds and other.cpu_seconds:
        own = plainsql.cpu_per_operation_us / other.cpu_per_operation_us
        least = ""
        if plainsql.cpu_min_seconds and other.cpu_min_seconds:
            ratio = plainsql.cpu_min_per_operation_us / other.cpu_min_per_operation_us
            least = f"; min to min {ratio:.2f}x"
        lines.append(
            f"  ratio plainsql / {other.label}: {own:6.2f}x (client CPU per operation, "
            f"medians{least})"
        )
    return lines


def _format_ratio(ratio: Ratio) -> str:
    """One line: the medians' ratio in time and in server CPU, each judged against the bound,
    with the ratio of the fastest rounds and of the least server CPU beside it."""

    def judged(value: float) -> str:
        if ratio.bound is None:
            return ""
        return " within" if value <= ratio.bound else " OVER"

    def least(value: float | None) -> str:
        rounds = min(ratio.over.rounds, ratio.under.rounds)
        return f" (min {value:.2f}x)" if value is not None and rounds > 1 else ""

    server = ratio.server_cpu
    line = f"  {ratio.label}: {ratio.time:5.2f}x time{least(ratio.fastest)}{judged(ratio.time)}, "
    if server is None:
        line += "server CPU not readable"
    else:
        line += f"{server:5.2f}x server CPU{least(ratio.server_cpu_min)}{judged(server)}"
    if ratio.bound is not None:
        line += f" (bound {ratio.bound:.2f}x)"
    return line
