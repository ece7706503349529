"""What the sync and async psycopg adapters share: records from rows, error mapping, SQL text.

The adapters themselves are written once: :mod:`plainsql.runtime._adapter_async` by hand, and
:mod:`plainsql.runtime._adapter` derived from it by ``tools/async_to_sync.py`` (``make lint``
fails when the two disagree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiosql.types import SQLOperationType
from psycopg.rows import RowFactory, class_row, dict_row

from plainsql import _sqltext as sqltext
from plainsql.runtime._slow import threshold_seconds

Params = Mapping[str, Any]
RecordClasses = Mapping[str, type[Any]]


def row_factory(record_classes: RecordClasses, query_name: str) -> RowFactory[Any]:
    """Dict rows, or the query's record: built by its ``from_row(values)`` (typegen's records:
    positional, no keyword dict per row), else by column name (psycopg's ``class_row``)."""
    record_class = record_classes.get(query_name)
    if record_class is None:
        return dict_row
    from_row: Callable[[Any], Any] | None = getattr(record_class, "from_row", None)
    if from_row is None:
        return class_row(record_class)
    built = from_row

    def positional(cursor: Any) -> Callable[[Any], Any]:
        return built

    return positional


class AdapterBase:
    """State and SQL processing common to both adapters."""

    def __init__(
        self, record_classes: RecordClasses | None = None, *, slow_query_ms: int | None = None
    ) -> None:
        self.record_classes: dict[str, type[Any]] = dict(record_classes or {})
        # A call slower than this (seconds) is logged (plainsql.runtime._slow); inf: never.
        self.slow_after = threshold_seconds(slow_query_ms)
        self._row_factories: dict[str, RowFactory[Any]] = {}
        # typegen's `AS "col!"` / `AS "col?"` marks, by query name (stripped from the SQL).
        self.nullability_overrides: dict[str, dict[str, bool]] = {}

    def row_factory_of(self, query_name: str) -> RowFactory[Any]:
        """The row factory of ``query_name``, built on its first call."""
        factory = self._row_factories.get(query_name)
        if factory is None:
            factory = self._row_factories[query_name] = row_factory(self.record_classes, query_name)
        return factory

    def process_sql(self, query_name: str, op_type: SQLOperationType, sql: str) -> str:
        sql, overrides = sqltext.strip_nullability_overrides(sql)
        if overrides:
            self.nullability_overrides[query_name] = overrides
        # A script runs without parameters, where psycopg does not unescape %%.
        return sql if op_type is SQLOperationType.SCRIPT else sqltext.to_pyformat(sql)
