"""Load the named queries under sql/ with aiosql, through our own psycopg 3 adapters.

``load_queries(path)`` gives sync query functions, ``load_async_queries(path)`` async ones;
a folder is a namespace (``queries.auth.get_user_by_id(conn, user_id=...)``).

What our layer fixes in aiosql 15's psycopg support (each has a test in
tests/toolkit/test_queries.py):

- a literal ``%`` (``like 'a%'``, ``select '%'``) no longer breaks psycopg's placeholders;
- array slices ``arr[1:2]`` / ``arr[lo:hi]`` are not taken for parameters;
- ``:x`` inside ``$$ ... $$`` bodies, strings and comments is not a parameter;
- ``<!`` returns the whole RETURNING row, sync and async alike (aiosql's sync adapter
  returned a bare value for one column and the row otherwise; the async one always the row);
- ``*!`` returns the affected-row count in async too (aiosql's returned None);
- a plain select returns a list in both modes (aiosql's sync one was a lazy generator that
  ran nothing until iterated, the async one an async generator); ``<name>_cursor`` streams;
- errors are mapped to plainsql's tree and carry the query's full name;
- an unknown query name raises :class:`QueryNotFound` with close names; a malformed file
  raises :class:`SQLFileError` with the file and the line (aiosql counted lines after
  removing block comments, and silently dropped SQL before the first ``-- name:``);
- two queries with the same name in one folder are an error instead of a silent override.

The adapters live in :mod:`plainsql.runtime._adapter_async` (the source) and
:mod:`plainsql.runtime._adapter` (derived from it); rows are dicts unless a record class is bound
to the query (:func:`plainsql.runtime._adapter_common.row_factory`). This is the only module that
uses aiosql's private names; tests/toolkit/test_queries.py pins each aiosql behaviour it relies
on or corrects.
"""

from __future__ import annotations

__all__ = [
    "AsyncPsycopgAdapter",
    "PsycopgAdapter",
    "Queries",
    "RecordClasses",
    "load_async_queries",
    "load_queries",
]

import difflib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import aiosql
from aiosql.queries import Queries as AiosqlQueries
from aiosql.query_loader import _QUERY_DEF, QueryLoader
from aiosql.types import QueryDatum, SQLOperationType
from aiosql.utils import SQLLoadException, SQLParseException

from plainsql import _sqltext as sqltext
from plainsql import naming
from plainsql._directives import DirectiveError, split_directives
from plainsql.config import DEFAULT_SLOW_QUERY_MS, Settings
from plainsql.errors import PlainSQLError, QueryNotFound, SQLFileError, UnterminatedError
from plainsql.runtime._adapter import PsycopgAdapter
from plainsql.runtime._adapter_async import AsyncPsycopgAdapter
from plainsql.runtime._adapter_common import RecordClasses
from plainsql.runtime._reuse import cache_spec


class _Loader(QueryLoader):
    """aiosql's loader with our parameter lexer, true line numbers and file-named errors;
    each statement carries its name (:mod:`plainsql.naming`)."""

    name_statements = True

    def _make_query_datum(
        self, query: str, ns_parts: list[str], floc: tuple[Path | str, int]
    ) -> QueryDatum:
        datum = super()._make_query_datum(query, ns_parts, floc)
        try:
            doc, directives = split_directives(datum.doc_comments)
        except DirectiveError as exc:
            raise _directive_error(exc.line, exc, query, floc, datum.query_name) from None
        if directives:
            adapter: PsycopgAdapter | AsyncPsycopgAdapter = self._driver_adapter  # type: ignore[assignment]
            adapter.directives[datum.query_name] = directives
            datum = datum._replace(doc_comments=doc)
            if "cache" in directives:
                try:
                    spec = cache_spec(directives["cache"], datum.operation_type)
                except ValueError as exc:
                    raise _directive_error(
                        "plainsql: cache", exc, query, floc, datum.query_name
                    ) from None
                adapter.cache_specs[datum.query_name] = spec
        if not self.name_statements:
            return datum
        pyformat = datum.operation_type is not SQLOperationType.SCRIPT
        return datum._replace(sql=naming.named(datum.sql, datum.query_name, pyformat=pyformat))

    def _build_signature(self, sql: str, qname: str, sig: list[str] | None) -> inspect.Signature:
        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        names = sqltext.parameter_names(sql)
        if sig is not None:
            undeclared = [n for n in names if n not in sig]
            if undeclared:
                raise SQLParseException(f"undeclared parameter in query {qname}: {undeclared}")
            unused = sorted(set(sig) - set(names))
            if unused:
                raise SQLParseException(f"unused declared parameter in query {qname}: {unused}")
        params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
        return inspect.Signature(parameters=params)

    def load_query_data_from_sql(
        self, sql: str, ns_parts: list[str], fname: Path | str = "<unknown>"
    ) -> list[QueryDatum]:
        try:
            usql = sqltext.blank_block_comments(sql)
        except UnterminatedError as exc:
            raise SQLFileError(str(fname), sqltext.line_of(sql, exc.offset), str(exc)) from None
        qdefs = _QUERY_DEF.split(usql)
        preamble = qdefs[0]
        for number, line in enumerate(preamble.splitlines(), start=1):
            if line.strip() and not line.strip().startswith("--"):
                raise SQLFileError(str(fname), number, "SQL before the first '-- name:' line")
        lineno = 1 + preamble.count("\n")
        data: list[QueryDatum] = []
        for qdef in qdefs[1:]:
            try:
                datum = self._make_query_datum(qdef, ns_parts, (fname, lineno))
            except (SQLParseException, SQLLoadException, UnterminatedError) as exc:
                message = str(exc).split(" at ")[0] if " at " in str(exc) else str(exc)
                raise SQLFileError(str(fname), lineno, message) from None
            data.append(datum)
            lineno += qdef.count("\n")
        return data

    def load_query_data_from_dir_path(
        self, dir_path: Path, ext: tuple[str, ...] = (".sql",), encoding: str | None = None
    ) -> dict[str, Any]:
        def load(folder: Path, ns_parts: list[str]) -> dict[str, Any]:
            tree: dict[str, Any] = {}
            origin: dict[str, Path] = {}
            for path in sorted(folder.iterdir()):
                if path.is_dir() and not path.name.startswith((".", "_")):
                    tree[path.name] = load(path, [*ns_parts, path.name])
                elif path.is_file() and path.suffix in ext:
                    text = path.read_text(encoding=encoding or "utf-8")
                    for datum in self.load_query_data_from_sql(text, ns_parts, path):
                        short = datum.query_name.rpartition(".")[2]
                        if short in tree:
                            raise SQLFileError(
                                str(path),
                                datum.floc[1],
                                f"query {short!r} is already defined in {origin[short]}",
                            )
                        tree[short] = datum
                        origin[short] = path
            return tree

        return load(dir_path, [])


def _directive_error(
    line: str, exc: Exception, query: str, floc: tuple[Path | str, int], query_name: str
) -> SQLFileError:
    """A directive's error, at the line of the directive in the file."""
    lines = query.splitlines()
    at = next((i for i, text in enumerate(lines) if line.strip() in text), 0)
    return SQLFileError(str(floc[0]), floc[1] + at, f"query {query_name}: {exc}")


class _UnnamedLoader(_Loader):
    """The loader for ``name-statements = false``: the SQL as written."""

    name_statements = False


class Queries(AiosqlQueries):
    """A namespace of query functions (one per folder of sql/), with helpful lookup errors."""

    def __init__(self, driver_adapter: Any, kwargs_only: bool = True, namespace: str = "") -> None:
        super().__init__(driver_adapter, kwargs_only=kwargs_only)
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        # Only called for missing attributes: the queries themselves are instance attributes.
        if name.startswith("__") or name in {"_namespace", "_available_queries"}:
            raise AttributeError(name)
        known = self.__dict__.get("_available_queries", set())
        short_names = {q.rpartition(".")[2] for q in known if "." not in q}
        short_names |= {q.split(".")[0] for q in known if "." in q}
        close = difflib.get_close_matches(name, sorted(short_names), n=3, cutoff=0.6)
        raise QueryNotFound(name, self.__dict__.get("_namespace", ""), close)

    def _check_free(self, name: str) -> None:
        # aiosql checks with hasattr(), which would run __getattr__'s suggestions per query.
        if name in self.__dict__ or hasattr(type(self), name):
            raise SQLLoadException(f"cannot override existing attribute with query: {name}")

    def add_query(self, query_name: str, fn: Callable[..., Any]) -> None:
        self._check_free(query_name)
        setattr(self, query_name, fn)
        self._available_queries.add(query_name)

    def add_child_queries(self, child_name: str, child_queries: AiosqlQueries) -> None:
        self._check_free(child_name)
        setattr(self, child_name, child_queries)
        for child_query_name in child_queries.available_queries:
            self._available_queries.add(f"{child_name}.{child_query_name}")

    def get(self, dotted_name: str) -> Callable[..., Any]:
        """A query by full name, e.g. ``queries.get("auth.get_user_by_id")``."""
        target: Any = self
        for part in dotted_name.split("."):
            target = getattr(target, part)
        return cast(Callable[..., Any], target)

    def _make_async_fn(self, query_datum: QueryDatum) -> Any:
        if query_datum.operation_type is not SQLOperationType.SELECT:
            return super()._make_async_fn(query_datum)
        name, doc, operation, sql, _, signature, floc, attributes, params = query_datum

        async def afn(self: Queries, conn: Any, *args: Any, **kwargs: Any) -> list[Any]:
            adapter: Any = self.driver_adapter
            rows = await adapter.select(
                conn, name, sql, self._params(attributes, params, args, kwargs)
            )
            return cast(list[Any], rows)

        return self._query_fn(afn, name, doc, sql, operation, signature, floc, attributes, params)

    def load_from_tree(self, query_data_tree: dict[str, Any]) -> Queries:
        for key, value in query_data_tree.items():
            if isinstance(value, dict):
                path = f"{self._namespace}.{key}" if self._namespace else key
                child = Queries(self.driver_adapter, self._kwargs_only, namespace=path)
                self.add_child_queries(key, child.load_from_tree(value))
            else:
                self.add_queries(self._create_methods(value, self.is_aio))
        return self


def _load(
    path: Path, adapter: PsycopgAdapter | AsyncPsycopgAdapter, settings: Settings | None
) -> Queries:
    path = Path(path)
    name_statements = True if settings is None else settings.name_statements
    if not path.exists():
        raise SQLFileError(str(path), 0, "no such file or folder")
    try:
        factory: Any = lambda: adapter  # noqa: E731 - aiosql wants a factory, we have the instance
        queries = aiosql.from_path(
            path,
            factory,
            loader_cls=_Loader if name_statements else _UnnamedLoader,
            queries_cls=Queries,
            # The ":obj.attr" feature rewrites SQL with a regex that ignores $$ bodies: off.
            attribute=None,
        )
    except PlainSQLError:
        raise
    except (SQLParseException, SQLLoadException) as exc:
        raise SQLFileError(str(path), 0, str(exc)) from None
    return cast(Queries, queries)


def load_queries(
    path: Path, record_classes: RecordClasses | None = None, *, settings: Settings | None = None
) -> Queries:
    """Sync query functions for every ``-- name:`` under ``path`` (a folder or one file).

    ``settings`` gives ``name-statements`` (default: on) and the slow-query threshold."""
    slow = DEFAULT_SLOW_QUERY_MS if settings is None else settings.slow_query_ms
    return _load(path, PsycopgAdapter(record_classes, slow_query_ms=slow), settings)


def load_async_queries(
    path: Path, record_classes: RecordClasses | None = None, *, settings: Settings | None = None
) -> Queries:
    """Async query functions for every ``-- name:`` under ``path`` (a folder or one file).

    ``settings`` gives ``name-statements`` (default: on) and the slow-query threshold."""
    slow = DEFAULT_SLOW_QUERY_MS if settings is None else settings.slow_query_ms
    return _load(path, AsyncPsycopgAdapter(record_classes, slow_query_ms=slow), settings)
