"""What every workload shares: a scratch database migrated by the real migrations, timing, output.

A workload is a module in bench/workloads/ with ``run(ctx: BenchContext) -> list[Result]``.
Each gets a database of its own, cloned from a template the real migrations built, so no
workload sees another's rows. Each measures plainsql and its raw-psycopg baseline in the same
process on the same database and reports both, so the ratio is meaningful on any machine.
In a smoke run (``--smoke``) every workload does a small fraction of its work: it checks
that the workloads run, and its figures mean nothing. Nothing here asserts anything.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

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
    """

    label: str
    seconds: float
    operations: int
    peak_bytes: int
    cpu_seconds: float = 0.0
    spread: float = 0.0  # (slowest - fastest round) / median; 0 for a single round
    rounds: int = 1
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
class Result:
    """One workload: plainsql's figure against the baseline's (and optional extra figures)."""

    workload: str
    unit: str  # "calls", "rows", ...
    plainsql: Measurement
    baseline: Measurement
    others: tuple[Measurement, ...] = ()

    @property
    def ratio(self) -> float:
        """plainsql's time over the baseline's: 1.10 means 10% slower, 0.2 five times faster."""
        return self.plainsql.seconds / self.baseline.seconds

    @property
    def cpu_ratio(self) -> float:
        """plainsql's client CPU per operation over the baseline's."""
        base = self.baseline.cpu_seconds / self.baseline.operations
        return self.plainsql.cpu_seconds / self.plainsql.operations / base if base else 0.0


def measure(
    label: str, operations: int, fn: Callable[[], T], *, memory: bool = False
) -> Measurement:
    """Time one call of ``fn`` (doing ``operations`` operations): wall clock, this process's
    CPU time, and optionally peak Python memory."""
    if memory:
        tracemalloc.start()
    cpu_started = time.process_time()
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = 0
    if memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Measurement(label, elapsed, operations, peak, cpu)


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
    """The median round (by wall time), with the CPU median and the rounds' spread."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    cpu = statistics.median(m.cpu_seconds for m in runs)
    cpu_min = min(m.cpu_seconds for m in runs)
    spread = (ordered[-1].seconds - ordered[0].seconds) / middle.seconds if middle.seconds else 0
    return replace(
        middle, cpu_seconds=cpu, spread=spread, rounds=len(runs), cpu_min_seconds=cpu_min
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
    for m in (result.plainsql, result.baseline, *result.others):
        memory = f"  peak {m.peak_bytes / 1e6:8.1f} MB" if m.peak_bytes else ""
        spread = f" ±{m.spread * 50:4.1f}%" if m.rounds > 1 else "       "
        cpu = f"  cpu {m.cpu_per_operation_us:7.1f} µs/{result.unit[:-1] or result.unit}"
        if m.cpu_min_seconds:
            cpu += f" (min {m.cpu_min_per_operation_us:.1f})"
        lines.append(
            f"  {m.label:<52} {m.seconds:8.3f} s{spread} {m.per_second:11,.0f} "
            f"{result.unit}/s{cpu if m.cpu_seconds else ''}{memory}"
        )
    for other in result.others:
        lines.append(
            f"  ratio plainsql / {other.label}: {result.plainsql.seconds / other.seconds:6.2f}x"
            " (time)"
        )
        if result.plainsql.cpu_seconds and other.cpu_seconds:
            own = result.plainsql.cpu_per_operation_us / other.cpu_per_operation_us
            least = ""
            if result.plainsql.cpu_min_seconds and other.cpu_min_seconds:
                ratio = result.plainsql.cpu_min_per_operation_us / other.cpu_min_per_operation_us
                least = f"; min to min {ratio:.2f}x"
            lines.append(
                f"  ratio plainsql / {other.label}: {own:6.2f}x (client CPU per operation, "
                f"medians{least})"
            )
    if result.plainsql.peak_bytes and result.baseline.peak_bytes:
        # Timings taken under tracemalloc are distorted: only the memory ratio is meaningful.
        memory_ratio = result.plainsql.peak_bytes / result.baseline.peak_bytes
        lines.append(f"  ratio plainsql / {result.baseline.label}: {memory_ratio:6.2f}x (memory)")
    else:
        lines.append(f"  ratio plainsql / {result.baseline.label}: {result.ratio:6.2f}x (time)")
        if result.plainsql.cpu_seconds and result.baseline.cpu_seconds:
            least = ""
            if result.plainsql.cpu_min_seconds and result.baseline.cpu_min_seconds:
                ratio = (
                    result.plainsql.cpu_min_per_operation_us
                    / result.baseline.cpu_min_per_operation_us
                )
                least = f"; min to min {ratio:.2f}x"
            lines.append(
                f"  ratio plainsql / {result.baseline.label}: {result.cpu_ratio:6.2f}x "
                f"(client CPU per operation, medians{least})"
            )
    return "\n".join(lines)
