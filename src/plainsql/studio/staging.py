"""Staged edits (``plainsql studio --write``): updates, inserts and deletes kept until committed.

The edits wait on the server, in the studio process (one list: the studio serves the one
person who holds its token, in as many tabs as they like), so they can be staged across
tables and pages; they are lost when the studio stops. Each is one statement with every value
a bound parameter cast to its column's type, shown as that SQL before anything runs. A commit
runs them all in one transaction as the login role, in the order staged: the first failure
(a constraint, a row gone) rolls everything back and the staged edits stay. A commit names the
version of the list it was shown, so a page older than the list commits nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from plainsql.config import Settings
from plainsql.errors import PlainSQLError
from plainsql.studio.catalog import Table
from plainsql.studio.rows import Filter, StudioInputError, read_only, where_clause
from plainsql.studio.units import unit

KINDS = ("update", "insert", "delete")


@dataclass(frozen=True, slots=True)
class Edit:
    number: int
    kind: str  # one of KINDS
    schema: str
    table: str
    key: tuple[tuple[str, str], ...]  # the row's primary key, as text (update, delete)
    values: tuple[tuple[str, str | None], ...]  # column and its new text; None is NULL
    types: tuple[tuple[str, str], ...]  # each named column's type, as format_type() prints it

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    def statement(self) -> tuple[sql.Composed, list[str | None]]:
        """The statement this edit runs, and its parameters in order."""
        types = dict(self.types)

        def cast(column: str) -> sql.Composed:
            return sql.SQL("CAST(%s AS {})").format(sql.SQL(types[column]))

        table = sql.Identifier(self.schema, self.table)
        where = sql.SQL(" AND ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), cast(c)) for c, _ in self.key
        )
        keys = [v for _, v in self.key]
        if self.kind == "update":
            sets = sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(c), cast(c)) for c, _ in self.values
            )
            statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, sets, where)
            return statement, [v for _, v in self.values] + keys
        if self.kind == "delete":
            return sql.SQL("DELETE FROM {} WHERE {}").format(table, where), list(keys)
        if not self.values:
            return sql.SQL("INSERT INTO {} DEFAULT VALUES").format(table), []
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table,
            sql.SQL(", ").join(sql.Identifier(c) for c, _ in self.values),
            sql.SQL(", ").join(cast(c) for c, _ in self.values),
        )
        return statement, [v for _, v in self.values]

    def shown(self, conn: psycopg.Connection[Any]) -> tuple[str, list[str | None]]:
        """The SQL as the page shows it (``$1``, ``$2``, ... for the bound values)."""
        statement, params = self.statement()
        text = statement.as_string(conn)
        for n in range(1, len(params) + 1):
            text = text.replace("%s", f"${n}", 1)
        return text, params


class StagedEditFailed(PlainSQLError):
    """A staged edit failed at commit: nothing was written, the edits stay staged."""

    def __init__(self, message: str, edit: Edit | None, constraint: str | None = None) -> None:
        super().__init__(message)
        self.edit = edit
        self.constraint = constraint


class Staging:
    """The studio's staged edits, in the order staged, with a version that every change bumps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edits: list[Edit] = []
        self._next = 1
        self.version = 0

    def edits(self) -> tuple[list[Edit], int]:
        with self._lock:
            return list(self._edits), self.version

    def add(self, kind: str, table: Table, key: Mapping[str, str], values: dict[str, Any]) -> Edit:
        named = [*key, *values]
        types = tuple((c.name, c.type_name) for c in table.columns if c.name in named)
        with self._lock:
            edit = Edit(
                self._next,
                kind,
                table.summary.schema,
                table.summary.name,
                tuple(key.items()),
                tuple(values.items()),
                types,
            )
            self._next += 1
            self._edits.append(edit)
            self.version += 1
            return edit

    def discard(self, number: int | None = None) -> None:
        """Drop one staged edit, or all of them."""
        with self._lock:
            kept = [e for e in self._edits if number is not None and e.number != number]
            if len(kept) != len(self._edits):
                self._edits = kept
                self.version += 1

    def commit(self, conn: psycopg.Connection[Any], settings: Settings, version: int) -> int:
        """Run every staged edit in one transaction (login role); empties the list on success.
        Refused when the list changed since ``version`` was shown."""
        with self._lock:
            if version != self.version:
                raise StudioInputError(
                    "the staged edits changed since that page was shown: review them again"
                )
            if not self._edits:
                raise StudioInputError("nothing is staged")
            edits = list(self._edits)
            try:
                with unit(conn, settings, None, write=True) as opened:
                    for edit in edits:
                        statement, params = edit.statement()
                        try:
                            cursor = conn.execute(statement, params, prepare=False)
                        except psycopg.Error as exc:
                            constraint = exc.diag.constraint_name
                            raise StagedEditFailed(
                                f"edit {edit.number} ({edit.kind} on {edit.qualified}) failed"
                                + (f": constraint {constraint}" if constraint else "")
                                + "; nothing was written, the edits stay staged",
                                edit,
                                constraint,
                            ) from exc
                        if edit.kind != "insert" and cursor.rowcount != 1:
                            raise StagedEditFailed(
                                f"edit {edit.number} ({edit.kind} on {edit.qualified}) changed "
                                f"{cursor.rowcount} rows, not 1 (the row is gone, or its key "
                                "changed); nothing was written, the edits stay staged",
                                edit,
                            )
                    opened.keep()
            except psycopg.Error as exc:  # at COMMIT: a deferred constraint or trigger
                constraint = exc.diag.constraint_name
                raise StagedEditFailed(
                    "the commit failed"
                    + (f": constraint {constraint}" if constraint else "")
                    + "; nothing was written, the edits stay staged",
                    None,
                    constraint,
                ) from exc
            self._edits = []
            self.version += 1
            return len(edits)


def row_text(
    conn: psycopg.Connection[Any], table: Table, key: Mapping[str, str]
) -> dict[str, str | None] | None:
    """The row's non-secret columns as PostgreSQL's text (what an edit form shows and compares)."""
    columns = [c.name for c in table.columns if not c.secret]
    conditions, values = where_clause(table, tuple(Filter(c, "eq", key[c]) for c in key))
    statement = sql.SQL("SELECT {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
        sql.Identifier(table.summary.schema, table.summary.name),
        sql.SQL(" AND ").join(conditions),
    )
    with read_only(conn):
        found = conn.execute(statement, values).fetchone()
    return None if found is None else dict(zip(columns, found, strict=True))


def edit_from_form(
    conn: psycopg.Connection[Any], table: Table, form: Mapping[str, str]
) -> tuple[str, dict[str, str], dict[str, str | None]]:
    """What a stage form asks for: its kind, the row's key and the new values, checked against
    the catalog, the row as it is now (an update names only the columns it changes) and the
    columns' types (each value is cast by the server here, so a typo is caught when staged)."""
    kind = form.get("kind", "")
    if kind not in KINDS:
        raise StudioInputError(f"unknown edit {kind!r}: update, insert or delete")
    secret = {c.name for c in table.columns if c.secret}
    named = {k[2:] for k in form if k[:2] in ("v.", "n.")}
    unknown = sorted(n for n in named if table.column(n) is None)
    if unknown:
        raise StudioInputError(f"{table.qualified} has no column {unknown[0]!r}")
    if named & secret:
        raise StudioInputError(
            f"{table.qualified}.{sorted(named & secret)[0]} is secret: the studio does not edit it"
        )
    key: dict[str, str] = {}
    if kind != "insert":
        if not table.primary_key:
            raise StudioInputError(f"{table.qualified} has no primary key: no {kind} here")
        missing = [c for c in table.primary_key if f"k.{c}" not in form]
        if missing:
            raise StudioInputError(f"a {kind} of {table.qualified} needs {', '.join(missing)}")
        key = {c: form[f"k.{c}"] for c in table.primary_key}
    values: dict[str, str | None] = {}
    for column in table.columns:
        name = column.name
        if name not in named:
            continue
        value = None if form.get(f"n.{name}") else form.get(f"v.{name}", "")
        if kind == "insert" and value == "":
            continue  # an empty field of an insert: the column's default
        values[name] = value
    if kind == "update":
        current = row_text(conn, table, key)
        if current is None:
            raise StudioInputError(f"no row of {table.qualified} with that key")
        values = {k: v for k, v in values.items() if current.get(k) != v}
        if not values:
            raise StudioInputError("nothing changed: no edit staged")
    if kind == "delete":
        values = {}
    types = {c.name: c.type_name for c in table.columns}
    _check_types(conn, types, {**key, **values})
    return kind, key, values


def _check_types(
    conn: psycopg.Connection[Any], types: Mapping[str, str], values: Mapping[str, Any]
) -> None:
    """Each value cast to its column's type by the server (raises psycopg's error)."""
    checked = [(name, value) for name, value in values.items() if value is not None]
    if not checked:
        return
    casts = sql.SQL(", ").join(
        sql.SQL("CAST(%s AS {})").format(sql.SQL(types[n])) for n, _ in checked
    )
    with read_only(conn):
        conn.execute(sql.SQL("SELECT {}").format(casts), [v for _, v in checked], prepare=False)
