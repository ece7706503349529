"""Prepare and describe every named query on a scratch database built by the migrations.

Nothing is executed: each query is PREPAREd (its ``:name`` parameters as ``$1..$n``), the
server's description gives the parameter and column types, and its generic plan (captured
with ``debug_print_plan`` while ``EXPLAIN EXECUTE`` builds it, inside a transaction that is
rolled back) gives nullability (:mod:`plainsql.typegen.nullability`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from aiosql.types import SQLOperationType
from psycopg import pq

from plainsql._sqltext import numbered
from plainsql.config import shown_path
from plainsql.errors import QueryFailed
from plainsql.queries import load_queries
from plainsql.typegen import nodetree
from plainsql.typegen.nullability import PlanFacts, analyze
from plainsql.typegen.pgtypes import Catalog


@dataclass(frozen=True, slots=True)
class QuerySource:
    """A named query as plainsql.queries loaded it."""

    name: str  # full dotted name, e.g. "auth.get_user_by_id"
    operation: SQLOperationType
    sql: str  # psycopg form, as run (overrides stripped)
    doc: str
    path: Path
    line: int
    params: tuple[str, ...]  # keyword parameters in signature order
    overrides: Mapping[str, bool] = field(default_factory=dict)
    directives: frozenset[str] = frozenset()  # the names of its `-- plainsql:` lines

    def where(self, project_dir: Path) -> str:
        """``sql/auth/users.sql:12`` (relative to the project when inside it)."""
        return f"{shown_path(self.path, project_dir)}:{self.line}"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type_oid: int
    nullable: bool
    table_oid: int  # the table (or view) the column is taken from; 0 for an expression
    table_column: int  # its attribute number in that table; 0 for an expression


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type_oid: int
    nullable: bool


@dataclass(frozen=True, slots=True)
class DescribedQuery:
    source: QuerySource
    params: tuple[Param, ...]
    columns: tuple[Column, ...]
    exactly_one_row: bool


@dataclass(frozen=True, slots=True)
class Failure:
    """A query the server (or typegen) refused, with its place in the SQL files."""

    source: QuerySource
    message: str

    def format(self, project_dir: Path) -> str:
        return f"{self.source.where(project_dir)}: {self.source.name}: {self.message}"


def load_sources(sql_dir: Path) -> list[QuerySource]:
    """Every named query under ``sql_dir`` (none when the folder does not exist), by name."""
    if not sql_dir.exists():
        return []
    queries = load_queries(sql_dir)
    adapter: Any = queries.driver_adapter
    overrides: dict[str, dict[str, bool]] = adapter.nullability_overrides
    directives: dict[str, Mapping[str, object]] = adapter.directives
    names = queries.available_queries
    known = set(names)
    sources: list[QuerySource] = []
    for name in names:
        fn: Any = queries.get(name)
        if name.endswith("_cursor") and name.removesuffix("_cursor") in known:
            base: Any = queries.get(name.removesuffix("_cursor"))
            if base.operation is SQLOperationType.SELECT and fn.sql is base.sql:
                continue  # aiosql's streaming twin of a select
        signature = fn.__signature__
        params = tuple(p for p in signature.parameters if p != "self") if signature else ()
        sources.append(
            QuerySource(
                name=fn.__name__,
                operation=fn.operation,
                sql=fn.sql,
                doc=(fn.__doc__ or "").strip(),
                path=Path(fn.__code__.co_filename),
                line=fn.__code__.co_firstlineno,
                params=params,
                overrides=dict(overrides.get(fn.__name__, {})),
                directives=frozenset(directives.get(fn.__name__, {})),
            )
        )
    return sorted(sources, key=lambda s: s.name)


class Describer:
    """Prepares and describes queries over one autocommit connection to a migrated database."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.catalog = Catalog(conn)
        self._counter = 0
        # Plans printed for the client need not also fill the server's log (superuser only).
        with suppress(psycopg.Error), conn.transaction():
            conn.execute("SET log_min_messages = panic")

    def prepare(self, source: QuerySource) -> tuple[str, pq.abc.PGresult, list[str]]:
        """Prepare ``source``; returns the statement name, its description, parameter order."""
        self._counter += 1
        name = f"plainsql_typegen_{self._counter}"
        text, order = numbered(source.sql)
        result = self.conn.pgconn.prepare(name.encode(), text.encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise QueryFailed(_error_text(result))
        description = self.conn.pgconn.describe_prepared(name.encode())
        if description.status != pq.ExecStatus.COMMAND_OK:
            self._deallocate(name)
            raise QueryFailed(_error_text(description))
        return name, description, order

    def check(self, source: QuerySource) -> None:
        """Raise :class:`QueryFailed` when the server refuses to prepare ``source``."""
        if source.operation is SQLOperationType.SCRIPT:
            return  # several statements: nothing to prepare
        name, _, _ = self.prepare(source)
        self._deallocate(name)

    def describe(self, source: QuerySource) -> DescribedQuery:
        if source.operation is SQLOperationType.SCRIPT:
            return DescribedQuery(source, (), (), False)
        name, description, order = self.prepare(source)
        try:
            oids = [description.param_type(i) for i in range(description.nparams)]
            fields = [
                (
                    (description.fname(i) or b"").decode(),
                    description.ftype(i),
                    description.ftable(i),
                    description.ftablecol(i),
                )
                for i in range(description.nfields)
            ]
            self.catalog.types([*oids, *(f[1] for f in fields)])
            facts = self._plan_facts(source, name, oids, len(fields))
        finally:
            self._deallocate(name)
        params = tuple(
            Param(param, oids[index], index + 1 in facts.nullable_params)
            for index, param in enumerate(order)
        )
        columns = tuple(
            Column(
                column,
                type_oid,
                (not source.overrides[column])
                if column in source.overrides
                else facts.nullable[index],
                table_oid,
                table_column,
            )
            for index, (column, type_oid, table_oid, table_column) in enumerate(fields)
        )
        return DescribedQuery(source, params, columns, facts.exactly_one_row)

    def _plan_facts(
        self, source: QuerySource, name: str, oids: list[int], ncolumns: int
    ) -> PlanFacts:
        # EXECUTE coerces its NULL arguments to the parameter types, which a NOT NULL domain
        # refuses: such parameters are planned as their base type (the plan then coerces).
        base_oids = [self._base_type(oid) for oid in oids]
        if base_oids == oids:
            return self._explain(name, len(oids), ncolumns)
        planned = f"{name}_base"
        text, _ = numbered(source.sql)
        result = self.conn.pgconn.prepare(planned.encode(), text.encode(), base_oids)
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise QueryFailed(_error_text(result))
        try:
            return self._explain(planned, len(oids), ncolumns)
        finally:
            self._deallocate(planned)

    def _base_type(self, oid: int) -> int:
        info = self.catalog.type(oid)
        while info.kind == "d":
            info = self.catalog.type(info.base)
        return info.oid

    def check_replica_safe(self, source: QuerySource) -> None:
        """Raise :class:`QueryFailed` saying why ``source`` cannot carry ``-- plainsql:
        replica-safe``: anything but a SELECT (or WITH) that neither modifies data (a
        data-modifying CTE), nor locks rows (FOR UPDATE/SHARE), nor calls a VOLATILE function,
        by the server's own plan and ``pg_proc.provolatile``."""
        if source.operation in (
            SQLOperationType.SCRIPT,
            SQLOperationType.INSERT_UPDATE_DELETE_MANY,
        ):
            raise QueryFailed(f"{_MARK} it is {_OPERATIONS[source.operation]}, not one SELECT")
        name, description, _ = self.prepare(source)
        try:
            printed = self._printed_plan(name, description.nparams)
        finally:
            self._deallocate(name)
        if not printed:
            raise QueryFailed(f"{_MARK} it is not a SELECT (a utility statement)")
        stmt = nodetree.parse(printed[-1])
        command = _COMMANDS.get(nodetree.integer(stmt.get("commandType")), "a statement")
        if command != "a SELECT":
            raise QueryFailed(f"{_MARK} it is {command}, not a SELECT")
        if nodetree.boolean(stmt.get("hasModifyingCTE")):
            raise QueryFailed(f"{_MARK} a WITH of it modifies data")
        nodes = list(nodetree.walk(stmt))
        if stmt.get("rowMarks") or any(nodetree.node_type(n) == "LOCKROWS" for n in nodes):
            raise QueryFailed(f"{_MARK} it locks rows (FOR UPDATE / FOR SHARE)")
        if any(nodetree.node_type(n) == "NEXTVALUEEXPR" for n in nodes):
            raise QueryFailed(f"{_MARK} it takes a sequence's next value")
        oids = sorted(
            {
                nodetree.integer(n[key])
                for n in nodes
                for key in _FUNCTION_FIELDS
                if key in n and nodetree.integer(n[key]) > 0
            }
        )
        if not oids:
            return
        volatile = self.conn.execute(
            "SELECT oid::regprocedure::text FROM pg_proc"
            " WHERE oid = any(%s::oid[]) AND provolatile = 'v' ORDER BY 1",
            (oids,),
        ).fetchall()
        if volatile:
            listed = ", ".join(str(row[0]) for row in volatile)
            raise QueryFailed(f"{_MARK} it calls the VOLATILE function(s) {listed}")

    def _explain(self, name: str, nparams: int, ncolumns: int) -> PlanFacts:
        printed = self._printed_plan(name, nparams)
        if not printed:
            if ncolumns:
                raise QueryFailed("the server sent no plan (debug_print_plan) for this query")
            # A utility statement (NOTIFY, REFRESH ...) has no plan and returns nothing.
            return PlanFacts((), frozenset(), exactly_one_row=False)
        return analyze(nodetree.parse(printed[-1]), ncolumns, self.catalog)

    def _printed_plan(self, name: str, nparams: int) -> list[str]:
        """The plan trees the server prints for ``EXPLAIN EXECUTE name(NULL, ...)``, built
        generic and never run (the last is the statement's)."""
        printed: list[str] = []

        def on_notice(diag: psycopg.errors.Diagnostic) -> None:
            if diag.message_primary == "plan:" and diag.message_detail:
                printed.append(diag.message_detail)

        args = f"({', '.join(['NULL'] * nparams)})" if nparams else ""
        self.conn.add_notice_handler(on_notice)
        try:
            with self.conn.transaction():
                # A write is planned, never run: EXPLAIN without ANALYZE, then roll back.
                self.conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                self.conn.execute("SET LOCAL debug_pretty_print = off")
                self.conn.execute("SET LOCAL client_min_messages = log")
                self.conn.execute("SET LOCAL debug_print_plan = on")
                self.conn.execute(f"EXPLAIN EXECUTE {name}{args}")
                raise psycopg.Rollback
        finally:
            self.conn.remove_notice_handler(on_notice)
        return printed

    def _deallocate(self, name: str) -> None:
        self.conn.pgconn.exec_(f"DEALLOCATE {name}".encode())


_MARK = "marked replica-safe, but"
# PostgreSQL's CmdType (nodes.h), the same since 9.x for these.
_COMMANDS = {
    1: "a SELECT",
    2: "an UPDATE",
    3: "an INSERT",
    4: "a DELETE",
    5: "a MERGE",
    6: "a utility statement",
}
_OPERATIONS = {
    SQLOperationType.SCRIPT: "a script ('#')",
    SQLOperationType.INSERT_UPDATE_DELETE_MANY: "a batch write ('*!')",
}
# The fields of a plan's expression nodes that name the function they call: FuncExpr,
# OpExpr (and DistinctExpr, NullIfExpr, ScalarArrayOpExpr with its hash functions), Aggref,
# WindowFunc.
_FUNCTION_FIELDS = ("funcid", "opfuncid", "hashfuncid", "negfuncid", "aggfnoid", "winfnoid")


def _error_text(result: pq.abc.PGresult) -> str:
    primary = result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
    text = (primary or result.error_message or b"unknown error").decode(errors="replace")
    return text.strip()
