"""What the sync and async psycopg adapters share: records from rows, error mapping, SQL text.

The adapters themselves are written once: :mod:`plainsql.runtime._adapter_async` by hand, and
:mod:`plainsql.runtime._adapter` derived from it by ``tools/async_to_sync.py`` (``make lint``
fails when the two disagree).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import psycopg
from aiosql.types import SQLOperationType
from psycopg.adapt import Transformer
from psycopg.rows import RowFactory, class_row, dict_row

from plainsql import _sqltext as sqltext
from plainsql._directives import Directive
from plainsql.errors import InvalidInput, map_error
from plainsql.runtime._reuse import CacheSpec
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
        self,
        record_classes: RecordClasses | None = None,
        *,
        slow_query_ms: int | None = None,
        directives: Mapping[str, Mapping[str, Directive]] | None = None,
    ) -> None:
        self.record_classes: dict[str, type[Any]] = dict(record_classes or {})
        # A call slower than this (seconds) is logged (plainsql.runtime._slow); inf: never.
        self.slow_after = threshold_seconds(slow_query_ms)
        self._row_factories: dict[str, RowFactory[Any]] = {}
        # typegen's `AS "col!"` / `AS "col?"` marks, by query name (stripped from the SQL).
        self.nullability_overrides: dict[str, dict[str, bool]] = {}
        # The `-- plainsql: ...` lines of each query that has any (plainsql._directives).
        self.directives: dict[str, Mapping[str, Directive]] = dict(directives or {})
        # The queries whose SQL says `-- plainsql: cache ...` (plainsql.runtime._reuse), and
        # the cache serving them while one is open (plainsql.runtime.cache_async): a
        # QueryCache or an AsyncQueryCache, typed loosely here to keep the imports one-way.
        self.cache_specs: dict[str, CacheSpec] = {}
        self.cache: Any = None
        # Whether each query only reads, as the server said the first time a scope met it.
        self.reads: dict[str, bool] = {}
        # Adapters of the same SQL with record classes of their own (typegen's typed queries,
        # linked by follow()): a cache opened on these queries serves them too.
        self.followers: weakref.WeakSet[AdapterBase] = weakref.WeakSet()

    def follow(self, source: AdapterBase) -> None:
        """Serve the same queries as ``source`` (the adapter of the loaded SQL): its
        directives, its slow-query threshold, and the query cache opened on it, now and later."""
        self.directives = source.directives
        self.slow_after = source.slow_after
        self.cache_specs = source.cache_specs
        self.cache = source.cache
        source.followers.add(self)

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


# What psycopg raises, client-side, for a parameter it cannot send: a NUL byte in text
# (DataError), a type it has no dumper for (ProgrammingError), text that is not valid UTF-8
# (UnicodeEncodeError), a Jsonb value json cannot dump (TypeError, ValueError).
CLIENT_ERRORS = (psycopg.Error, UnicodeEncodeError, TypeError, ValueError)
_CLIENT_SIDE = (psycopg.DataError, psycopg.ProgrammingError)


def _unsendable(conn: Any, value: Any) -> BaseException | None:
    """Why psycopg cannot send ``value`` on ``conn``, or None."""
    try:
        Transformer.from_context(conn).as_literal(value)
    except CLIENT_ERRORS as exc:
        return exc
    return None


def _reason(exc: BaseException) -> str:
    """What is wrong with a parameter, never its value (Python's messages may quote it)."""
    if isinstance(exc, UnicodeEncodeError):
        return "is not valid UTF-8 text (a lone surrogate)"
    if isinstance(exc, psycopg.DataError):
        return "holds a NUL byte, which PostgreSQL text cannot"
    if isinstance(exc, psycopg.ProgrammingError):
        return f"is a {_type_named(exc)}"
    return f"cannot be converted for PostgreSQL ({type(exc).__name__})"


def _type_named(exc: BaseException) -> str:
    # psycopg: "cannot adapt type 'set' using placeholder '%s' (format: AUTO)": a type name
    text = str(exc)
    start = text.find("type '")
    if start < 0:
        return "value psycopg cannot adapt"
    name = text[start + 6 : text.find("'", start + 6)]
    return f"{name}, which psycopg cannot adapt"


def query_failure(exc: Exception, query_name: str, conn: Any, parameters: Any) -> NoReturn:
    """Raise what a failed named query raises: a server error mapped (:func:`map_error`); a
    parameter psycopg cannot send, :class:`InvalidInput` naming the query and the parameter
    (not the value); anything else as it came. Called in the adapters' ``except`` clause."""
    if isinstance(exc, psycopg.Error) and (exc.sqlstate or not isinstance(exc, _CLIENT_SIDE)):
        raise map_error(exc, query_name=query_name) from exc
    batches = parameters if isinstance(parameters, list) else [parameters]
    for batch in batches:
        items = batch.items() if isinstance(batch, Mapping) else enumerate(batch or ())
        for name, value in items:
            why = _unsendable(conn, value)
            if why is not None:
                message = f"parameter {name!r} {_reason(why)}"
                raise InvalidInput(message, query_name=query_name) from exc
    if isinstance(exc, psycopg.Error):
        raise map_error(exc, query_name=query_name) from exc
    raise exc
