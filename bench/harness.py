"""What every workload shares: a scratch database migrated by the real migrations, timing, output.

A workload is a module in bench/workloads/ with ``run(ctx: BenchContext) -> list[Result]``.
Each gets a database of its own, cloned from a template the real migrations built, so no
workload sees another's rows. Each measures plainsql and its raw-psycopg baseline in the same
process on the same database and reports both, so the ratio is meaningful on any machine.
In a smoke run (``--smoke``) every workload does a small fraction of its work: it checks
that the workloads run, and its figures mean nothing. Nothing here asserts anything.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from plainsql.config import Settings

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class BenchContext:
    """One workload's scratch database: a fresh clone of the migrated template, dropped after."""

    settings: Settings  # DATABASE_URL points at the scratch database
    conninfo: str
    smoke: bool = False  # a quick run: small sizes, figures not meaningful

    def size(self, full: int, smoke: int) -> int:
        """``full`` in a real run, ``smoke`` in a smoke run (counts, rows, repeats)."""
        return smoke if self.smoke else full


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str
    seconds: float
    operations: int
    peak_bytes: int

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else float("inf")


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


def measure(
    label: str, operations: int, fn: Callable[[], T], *, memory: bool = False
) -> Measurement:
    """Time one call of ``fn`` (doing ``operations`` operations); optionally peak memory."""
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    peak = 0
    if memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Measurement(label, elapsed, operations, peak)


def best_of(repeats: int, measure_once: Callable[[], Measurement]) -> Measurement:
    """The fastest of ``repeats`` runs: the least disturbed by the rest of the machine."""
    return min((measure_once() for _ in range(repeats)), key=lambda m: m.seconds)


def interleaved(repeats: int, *contenders: Callable[[], Measurement]) -> tuple[Measurement, ...]:
    """Run the contenders in turn (A B A B ...) and keep each one's fastest run.

    Interleaving means a burst of load from the rest of the machine hits every contender
    alike, so the ratio stays meaningful on a busy machine.
    """
    runs: list[list[Measurement]] = [[] for _ in contenders]
    for _ in range(repeats):
        for slot, contender in zip(runs, contenders, strict=True):
            slot.append(contender())
    return tuple(min(slot, key=lambda m: m.seconds) for slot in runs)


def format_result(result: Result) -> str:
    lines = [f"{result.workload}"]
    for m in (result.plainsql, result.baseline, *result.others):
        memory = f"  peak {m.peak_bytes / 1e6:8.1f} MB" if m.peak_bytes else ""
        lines.append(
            f"  {m.label:<36} {m.seconds:9.3f} s  {m.per_second:12,.0f} {result.unit}/s{memory}"
        )
    for other in result.others:
        lines.append(
            f"  ratio {other.label} / {result.plainsql.label}: "
            f"{other.seconds / result.plainsql.seconds:6.2f}x"
        )
    if result.plainsql.peak_bytes and result.baseline.peak_bytes:
        # Timings taken under tracemalloc are distorted: only the memory ratio is meaningful.
        memory_ratio = result.plainsql.peak_bytes / result.baseline.peak_bytes
        lines.append(f"  ratio plainsql / {result.baseline.label}: {memory_ratio:6.2f}x (memory)")
    else:
        lines.append(f"  ratio plainsql / {result.baseline.label}: {result.ratio:6.2f}x (time)")
    return "\n".join(lines)
