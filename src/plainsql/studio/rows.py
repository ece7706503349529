"""A table's rows for the studio: typed filters as bound parameters, keyset pages, one row.

The view's state lives in the URL's query string (``sort``, ``desc``, ``after``, ``limit``,
``f.<column>`` values with ``o.<column>`` operators), so a link reopens it. Column names are
checked against the catalog and quoted as identifiers; every value is a bound parameter cast to
the column's type by the server (``CAST(%s AS <type>)``), never text spliced into the SQL.
A page is ``WHERE (sort key) > (the last row's key) ORDER BY key LIMIT n``: the sort column
(a NOT NULL indexed column) followed by the primary key, or by ``ctid`` without one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from plainsql.errors import PlainSQLError
from plainsql.studio.catalog import Table
from plainsql.studio.units import AsUser, Identity, acting_user_of, unit

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
OPERATORS = {
    "eq": "=",
    "ne": "<>",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "contains": "contains",
    "null": "IS NULL",
    "notnull": "IS NOT NULL",
}


class StudioInputError(PlainSQLError):
    """A request the studio cannot serve: an unknown column, a malformed cursor, a bad value."""


class NeedsWrite(StudioInputError):
    """Refused: it would write, and the studio was started without ``--write``."""


@dataclass(frozen=True, slots=True)
class Filter:
    column: str
    operator: str  # a key of OPERATORS
    value: str


@dataclass(frozen=True, slots=True)
class PageRequest:
    sort: str  # a sortable column, or "ctid"
    descending: bool
    after: tuple[str, ...] | None  # the previous page's last key, as text
    filters: tuple[Filter, ...]
    limit: int
    acting_user: str | None = None  # ``as=``: read as the application runs for this user

    def query(self, **changes: Any) -> dict[str, str]:
        """The URL query of this view (with ``changes``): what a link to it carries."""
        state: dict[str, Any] = {
            "sort": self.sort,
            "desc": "1" if self.descending else None,
            "limit": str(self.limit) if self.limit != DEFAULT_LIMIT else None,
            "after": json.dumps(list(self.after)) if self.after else None,
            "as": self.acting_user,
        }
        for f in self.filters:
            state[f"f.{f.column}"] = f.value
            if f.operator != "eq":
                state[f"o.{f.column}"] = f.operator
        state.update(changes)
        return {k: v for k, v in state.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Page:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    keys: list[dict[str, str]]  # each row's primary key as text (for the row view's link)
    next_after: tuple[str, ...] | None
    identity: Identity | None = None  # who read it, when it was read as a user


def key_columns(table: Table, sort: str) -> list[str]:
    """The keyset: the sort column, then the primary key's other columns (or ctid)."""
    tail = [c for c in table.primary_key if c != sort] if table.primary_key else ["ctid"]
    return [sort, *tail] if sort != "ctid" else ["ctid"]


def parse_request(table: Table, params: Mapping[str, str]) -> PageRequest:
    default_sort = table.primary_key[0] if table.primary_key else "ctid"
    sort = params.get("sort") or default_sort
    if sort != default_sort and sort not in table.sortable:
        raise StudioInputError(
            f"{table.qualified} cannot be sorted by {sort!r}: sort by one of "
            f"{', '.join(table.sortable) or default_sort} (NOT NULL indexed columns)"
        )
    try:
        limit = int(params.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise StudioInputError(f"limit must be a whole number, got {params['limit']!r}") from None
    after: tuple[str, ...] | None = None
    if params.get("after"):
        try:
            decoded = json.loads(params["after"])
        except ValueError:
            raise StudioInputError("the page cursor 'after' is not valid") from None
        keys = key_columns(table, sort)
        if (
            not isinstance(decoded, list)
            or len(decoded) != len(keys)
            or not all(isinstance(v, str) for v in decoded)
        ):
            raise StudioInputError("the page cursor 'after' does not fit this sort")
        after = tuple(decoded)
    filters: list[Filter] = []
    for name, value in params.items():
        if not name.startswith("f."):
            continue
        column = table.column(name[2:])
        if column is None:
            raise StudioInputError(f"{table.qualified} has no column {name[2:]!r}")
        if column.secret:
            raise StudioInputError(f"{table.qualified}.{column.name} is secret: no filter on it")
        operator = params.get(f"o.{column.name}") or "eq"
        if operator not in OPERATORS:
            raise StudioInputError(f"unknown filter operator {operator!r}")
        if value == "" and operator not in ("null", "notnull"):
            continue
        filters.append(Filter(column.name, operator, value))
    return PageRequest(
        sort,
        params.get("desc") == "1",
        after,
        tuple(filters),
        max(1, min(limit, MAX_LIMIT)),
        acting_user_of(params.get("as")),
    )


def _type_of(table: Table, name: str) -> sql.Composable:
    if name == "ctid":
        return sql.SQL("tid")
    column = table.column(name)
    assert column is not None
    # format_type()'s output, from the catalog: a type name PostgreSQL itself quoted.
    return sql.SQL(column.type_name)


def where_clause(
    table: Table, filters: tuple[Filter, ...]
) -> tuple[list[sql.Composable], list[Any]]:
    conditions: list[sql.Composable] = []
    values: list[Any] = []
    for f in filters:
        column = sql.Identifier(f.column)
        if f.operator in ("null", "notnull"):
            conditions.append(sql.SQL("{} {}").format(column, sql.SQL(OPERATORS[f.operator])))
        elif f.operator == "contains":
            conditions.append(sql.SQL("strpos({}::text, %s) > 0").format(column))
            values.append(f.value)
        else:
            conditions.append(
                sql.SQL("{} {} CAST(%s AS {})").format(
                    column, sql.SQL(OPERATORS[f.operator]), _type_of(table, f.column)
                )
            )
            values.append(f.value)
    return conditions, values


def fetch_page(
    conn: psycopg.Connection[Any],
    table: Table,
    request: PageRequest,
    as_user: AsUser | None = None,
) -> Page:
    """One page of rows, in a read-only transaction that is rolled back (as the login role, or
    as the application runs for ``as_user``)."""
    keys = key_columns(table, request.sort)
    conditions, values = where_clause(table, request.filters)
    if request.after is not None:
        comparison = sql.SQL("<" if request.descending else ">")
        conditions.append(
            sql.SQL("({}) {} ({})").format(
                sql.SQL(", ").join(sql.Identifier(k) for k in keys),
                comparison,
                sql.SQL(", ").join(
                    sql.SQL("CAST(%s AS {})").format(_type_of(table, k)) for k in keys
                ),
            )
        )
        values.extend(request.after)
    names = [c.name for c in table.columns]
    key_text = [*keys, *(c for c in table.primary_key if c not in keys)]
    direction = sql.SQL(" DESC" if request.descending else "")
    statement = sql.SQL(
        "SELECT {columns}, {keys} FROM {table}{where} ORDER BY {order} LIMIT {limit}"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(n) for n in names),
        keys=sql.SQL(", ").join(
            sql.SQL("{}::text AS {}").format(sql.Identifier(k), sql.Identifier(f"_plainsql_key{n}"))
            for n, k in enumerate(key_text)
        ),
        table=sql.Identifier(table.summary.schema, table.summary.name),
        where=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL(""),
        order=sql.SQL(", ").join(sql.Identifier(k) + direction for k in keys),
        limit=sql.Literal(request.limit + 1),
    )
    with read_only(conn, as_user) as identity:
        rows = conn.execute(statement, values).fetchall()
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    width = len(names)
    page_rows = [tuple(row[:width]) for row in rows]
    texts = [dict(zip(key_text, row[width:], strict=True)) for row in rows]
    row_keys = [{k: t[k] for k in table.primary_key} for t in texts]
    next_after = tuple(texts[-1][k] for k in keys) if more and texts else None
    return Page(tuple(names), page_rows, row_keys, next_after, identity)


def fetch_row(
    conn: psycopg.Connection[Any],
    table: Table,
    key: Mapping[str, str],
    as_user: AsUser | None = None,
) -> dict[str, Any] | None:
    """The row whose primary key has these (text) values, or None."""
    if not table.primary_key:
        raise StudioInputError(f"{table.qualified} has no primary key: no row view")
    missing = [c for c in table.primary_key if c not in key]
    if missing:
        raise StudioInputError(f"the row view of {table.qualified} needs {', '.join(missing)}")
    filters = tuple(Filter(c, "eq", key[c]) for c in table.primary_key)
    conditions, values = where_clause(table, filters)
    statement = sql.SQL("SELECT {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(sql.Identifier(c.name) for c in table.columns),
        sql.Identifier(table.summary.schema, table.summary.name),
        sql.SQL(" AND ").join(conditions),
    )
    with read_only(conn, as_user):
        cursor = conn.execute(statement, values)
        found = cursor.fetchone()
    if found is None:
        return None
    return dict(zip((c.name for c in table.columns), found, strict=True))


@contextmanager
def read_only(
    conn: psycopg.Connection[Any], as_user: AsUser | None = None
) -> Iterator[Identity | None]:
    """``BEGIN READ ONLY`` ... ``ROLLBACK``, whatever happens inside (an autocommit connection);
    for ``as_user``, the application's unit of work (read-only, rolled back) and who it ran as."""
    if as_user is not None:
        with unit(conn, as_user.settings, as_user.acting_user) as opened:
            yield opened.identity
        return
    conn.execute("BEGIN READ ONLY")
    try:
        yield None
    finally:
        conn.execute("ROLLBACK")
