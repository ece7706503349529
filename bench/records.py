"""Records of the benchmark queries (bench/sql), written the way typegen writes them: frozen,
slotted dataclasses built positionally by ``from_row`` (no keyword dict per row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class BenchPoint:
    id: int
    label: str
    value: float | None

    @classmethod
    def from_row(cls, values: Sequence[Any]) -> BenchPoint:
        return cls(*values)


@dataclass(frozen=True, slots=True)
class BenchEvent:
    id: int
    label: str
    amount: int
    created_at: datetime

    @classmethod
    def from_row(cls, values: Sequence[Any]) -> BenchEvent:
        return cls(*values)


RECORD_CLASSES: dict[str, type[Any]] = {
    "get_bench_point_by_id": BenchPoint,
    "get_bench_w5_point_by_id": BenchPoint,
    "get_bench_replica_point_by_id": BenchPoint,
    "list_bench_points": BenchPoint,
    "insert_bench_event": BenchEvent,
}
