"""The named queries of sql/ in the studio: their parameter types, and runs that change nothing.

A query's parameters are typed by preparing it on the live database (the server infers each
``$n``'s type, as ``plainsql typegen`` does), which gives the form its inputs: enum labels as a
select, booleans, timestamps, uuids, arrays (one element per line), JSON. A run sends every
value as text of unknown type, so the server parses it with the parameter's own input
function (an empty field is NULL). A run is a studio unit (:mod:`plainsql.studio.units`), as
the login role or as the application runs for an acting user. Unless the studio was started
with ``--write`` it is read-only and rolled back: a query whose function writes fails, and
nothing it did is kept; with ``--write`` it is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from aiosql.types import SQLOperationType
from psycopg import pq

from plainsql import stats
from plainsql._sqltext import numbered
from plainsql.config import Settings
from plainsql.studio.catalog import Secrets, type_kinds
from plainsql.studio.rows import read_only
from plainsql.studio.units import Identity, unit
from plainsql.typegen.describe import QuerySource, load_sources

OPERATIONS = {
    SQLOperationType.SELECT: "select (rows)",
    SQLOperationType.SELECT_ONE: "^ one row or none",
    SQLOperationType.SELECT_VALUE: "$ one value",
    SQLOperationType.INSERT_RETURNING: "<! returning",
    SQLOperationType.INSERT_UPDATE_DELETE: "! row count",
    SQLOperationType.INSERT_UPDATE_DELETE_MANY: "*! many",
    SQLOperationType.SCRIPT: "# script",
}
MAX_ROWS = 500


@dataclass(frozen=True, slots=True)
class ParamField:
    name: str
    type_name: str
    kind: str  # as catalog.Column.kind
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResultColumn:
    name: str
    type_name: str
    secret: bool


@dataclass(frozen=True, slots=True)
class RunResult:
    columns: tuple[ResultColumn, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool
    status: str  # the command tag, e.g. "SELECT 3"
    committed: bool
    identity: Identity | None = None  # who it ran as, read inside its transaction


def sources(sql_dir: Path) -> dict[str, QuerySource]:
    """Every named query of ``sql_dir`` by its dotted name."""
    return {source.name: source for source in load_sources(sql_dir)}


def as_written(source: QuerySource) -> str:
    """The query as its file has it: from its ``-- name:`` line to the next one."""
    try:
        lines = source.path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return source.sql
    start = source.line - 1
    if not (0 <= start < len(lines)) or not lines[start].lstrip().startswith("-- name:"):
        return source.sql
    end = next(
        (n for n in range(start + 1, len(lines)) if lines[n].lstrip().startswith("-- name:")),
        len(lines),
    )
    return "\n".join(lines[start:end]).rstrip()


def describe_params(conn: psycopg.Connection[Any], source: QuerySource) -> list[ParamField]:
    """The query's parameters, typed by the server (raises psycopg's error when it refuses)."""
    if source.operation is SQLOperationType.SCRIPT or not source.params:
        return [ParamField(name, "text", "text") for name in source.params]
    text, order = numbered(source.sql)
    result = conn.pgconn.prepare(b"", text.encode())
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.DatabaseError(_error_text(result))
    description = conn.pgconn.describe_prepared(b"")
    if description.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.DatabaseError(_error_text(description))
    oids = [description.param_type(i) for i in range(description.nparams)]
    names = dict(
        conn.execute(
            "SELECT oid::int, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)", (oids,)
        ).fetchall()
    )
    kinds = type_kinds(conn, sorted(set(oids)))
    typed = {
        param: ParamField(param, names.get(oid, "?"), *kinds.get(oid, ("text", ())))
        for param, oid in zip(order, oids, strict=True)
    }
    return [typed.get(name, ParamField(name, "text", "text")) for name in source.params]


def form_value(field: ParamField, raw: str | None) -> str | None:
    """The text the server parses for one form field; None (SQL NULL) for an empty one."""
    if raw is None or raw.strip() == "":
        return None
    if field.kind == "array" and not raw.lstrip().startswith("{"):
        items = [line.strip() for line in raw.splitlines() if line.strip()]
        quoted = ['"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items]
        return "{" + ",".join(quoted) + "}"
    return raw if field.kind in ("json", "text", "array") else raw.strip()


def run_query(
    conn: psycopg.Connection[Any],
    settings: Settings,
    source: QuerySource,
    values: dict[str, str | None],
    secrets: Secrets,
    *,
    write: bool = False,
    acting_user: str | None = None,
) -> RunResult:
    """Run the query once with ``values``, as the login role or as the application runs for
    ``acting_user``; read-only and rolled back unless ``write`` (then committed)."""
    params = {name: values.get(name) for name in source.params}
    with unit(conn, settings, acting_user, write=write) as opened:
        with conn.cursor() as cursor:
            cursor.execute(source.sql, params if source.params else None, prepare=False)
            columns: tuple[ResultColumn, ...] = ()
            rows: list[tuple[Any, ...]] = []
            truncated = False
            result = cursor.pgresult
            if result is not None and cursor.description is not None:
                type_names = dict(
                    conn.execute(
                        "SELECT oid::int, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)",
                        ([d.type_code for d in cursor.description],),
                    ).fetchall()
                )
                columns = tuple(
                    ResultColumn(
                        d.name,
                        type_names.get(d.type_code, "?"),
                        secrets.result(result.ftable(i), result.ftablecol(i), d.name),
                    )
                    for i, d in enumerate(cursor.description)
                )
                rows = cursor.fetchmany(MAX_ROWS + 1)
                truncated = len(rows) > MAX_ROWS
                rows = rows[:MAX_ROWS]
            status = cursor.statusmessage or ""
        opened.keep()
    return RunResult(columns, rows, truncated, status, opened.committed, opened.identity)


def query_stats(conn: psycopg.Connection[Any], source: QuerySource) -> dict[str, Any] | None:
    """This query's figures as ``plainsql stats`` reports them (its name mapped to every
    ``queryid`` it ran under, by the name in the text and by EXPLAIN), or None where
    pg_stat_statements is not loaded and created in this database. Nothing runs: EXPLAIN
    without ANALYZE, in a transaction rolled back."""
    try:
        if not stats.is_loaded(conn):
            return None
        schema = stats.extension_schema(conn)
        if schema is None:
            return None
        with read_only(conn):
            entries = stats.read_entries(conn, schema)
        explained, failed = stats.explain_ids(conn, [(source.name, source.operation, source.sql)])
    except psycopg.Error:
        return None  # a role that may not read the view: no figures, not an error page
    report = stats.build_report(
        entries, explained, failed, str(conn.info.dbname), conn.info.server_version
    )
    found = next((q for q in report.queries if q.name == source.name), None)
    if found is None:
        return {"calls": 0}
    return {
        "calls": found.calls,
        "rows": found.rows,
        "mean_ms": found.mean_ms,
        "max_ms": found.max_ms,
        "total_ms": found.total_ms,
        "queryids": found.queryids,
        "shared_with": found.shared_with,
    }


def _error_text(result: pq.abc.PGresult) -> str:
    primary = result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
    return (primary or result.error_message or b"unknown error").decode(errors="replace").strip()
