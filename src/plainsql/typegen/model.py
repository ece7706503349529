"""From described queries to what the generated modules hold: records, enums, typed methods.

Identical result shapes taken from the same tables share one record class (two queries
returning ``id: str``, one from users and one from accounts, do not). A shape made of one
table's own columns, under their names and with their nullability, is named after the table
(``users`` -> ``UserRow``; when several such shapes of one table differ, the widest gets the
name); any other shape after the first query returning it (``list_projects_with_owner`` ->
``ListProjectsWithOwnerRow``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from aiosql.types import SQLOperationType

from plainsql.typegen.describe import DescribedQuery, Failure, QuerySource
from plainsql.typegen.pgtypes import Catalog
from plainsql.typegen.pytypes import (
    PyType,
    camel,
    enum_alias,
    is_identifier,
    param_type,
    result_type,
    singular,
)
from plainsql.typegen.support import fingerprint

_ROW_OPERATIONS = frozenset(
    {SQLOperationType.SELECT, SQLOperationType.SELECT_ONE, SQLOperationType.INSERT_RETURNING}
)
_RESERVED_PARAMS = frozenset({"self", "conn"})


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: PyType


@dataclass(frozen=True, slots=True)
class Shape:
    """What makes two results share a record: the same fields from the same tables."""

    fields: tuple[Field, ...]
    tables: frozenset[int]  # oids of the tables the columns come from (0: computed)


@dataclass(frozen=True, slots=True)
class Record:
    """A frozen dataclass for one result shape, or a TypedDict of ``*!`` parameters."""

    name: str
    fields: tuple[Field, ...]
    table: str  # the table every column comes from, "" when mixed or computed
    queries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Method:
    """One typed query function."""

    source: QuerySource
    params: tuple[Field, ...]
    record: str  # the record class of a row-returning query, "" otherwise
    value: PyType | None  # the value type of a ``$`` query
    optional: bool  # ``^``, ``<!``, ``$``: the query may return no row (so None)
    many_params: str  # the TypedDict of one row of a ``*!`` query, "" otherwise
    fingerprint: str
    location: str  # "sql/auth/users.sql:12"


@dataclass(frozen=True, slots=True)
class Model:
    records: tuple[Record, ...]
    param_dicts: tuple[Record, ...]
    enums: dict[str, tuple[str, ...]]
    methods: tuple[Method, ...]


def build(
    described: list[DescribedQuery], catalog: Catalog, project_dir: Path
) -> tuple[Model, list[Failure]]:
    """The model of the generated modules, and the queries that cannot be typed."""
    failures: list[Failure] = []
    enum_oids: set[int] = set()
    shapes: dict[Shape, list[DescribedQuery]] = defaultdict(list)
    shape_tables: dict[Shape, str] = {}
    shape_of: dict[str, Shape] = {}
    params_of: dict[str, tuple[Field, ...]] = {}
    fields_of: dict[str, tuple[Field, ...]] = {}

    for query in described:
        source = query.source
        problem = _problem(query)
        if problem:
            failures.append(Failure(source, problem))
            continue
        params = tuple(
            Field(p.name, param_type(catalog, p.type_oid).optional(p.nullable))
            for p in query.params
        )
        fields = tuple(
            Field(c.name, result_type(catalog, c.type_oid).optional(c.nullable))
            for c in query.columns
        )
        for item in (*params, *fields):
            enum_oids |= item.type.enums
        params_of[source.name] = params
        fields_of[source.name] = fields
        if source.operation in _ROW_OPERATIONS:
            shape = Shape(fields, frozenset(c.table_oid for c in query.columns))
            shapes[shape].append(query)
            shape_of[source.name] = shape
            table = _table_of(query, catalog)
            if shape in shape_tables and shape_tables[shape] != table:
                shape_tables[shape] = ""  # queries of one shape disagree on its table
            else:
                shape_tables.setdefault(shape, table)

    record_names = _name_records(shapes, shape_tables)
    records = tuple(
        sorted(
            (
                Record(
                    record_names[shape],
                    shape.fields,
                    shape_tables[shape],
                    tuple(q.source.name for q in queries),
                )
                for shape, queries in shapes.items()
            ),
            key=lambda r: r.name,
        )
    )
    param_dicts: list[Record] = []
    methods: list[Method] = []
    taken = {r.name for r in records}
    for query in described:
        source = query.source
        if source.name not in params_of:
            continue
        fields = fields_of[source.name]
        many = ""
        if source.operation is SQLOperationType.INSERT_UPDATE_DELETE_MANY:
            many = _unique(source.name, "Params", taken)
            param_dicts.append(Record(many, params_of[source.name], "", (source.name,)))
        value = None
        if source.operation is SQLOperationType.SELECT_VALUE:
            value = fields[0].type
        methods.append(
            Method(
                source=source,
                params=params_of[source.name],
                record=record_names[shape_of[source.name]] if source.name in shape_of else "",
                value=value,
                optional=not query.exactly_one_row,
                many_params=many,
                fingerprint=fingerprint(source.operation, source.sql),
                location=source.where(project_dir),
            )
        )
    enums = {enum_alias(catalog.type(oid)): catalog.type(oid).labels for oid in enum_oids}
    model = Model(
        records=records,
        param_dicts=tuple(sorted(param_dicts, key=lambda r: r.name)),
        enums=dict(sorted(enums.items())),
        methods=tuple(methods),
    )
    return model, failures


def _problem(query: DescribedQuery) -> str:
    """Why a query cannot get a typed function, or ""."""
    source = query.source
    for part in source.name.split("."):
        if not is_identifier(part):
            return f"{part!r} cannot be a Python name: rename the query or its folder"
    for param in query.params:
        if not is_identifier(param.name) or param.name in _RESERVED_PARAMS:
            return f"parameter :{param.name} cannot be a Python keyword argument: rename it"
    if source.operation is SQLOperationType.INSERT_UPDATE_DELETE_MANY and not query.params:
        return "a *! query takes parameters (one mapping per row)"
    if (
        source.operation not in _ROW_OPERATIONS
        and source.operation is not SQLOperationType.SELECT_VALUE
    ):
        return ""
    if not query.columns:
        return "returns no columns (add a column list or RETURNING, or use '!')"
    if source.operation is SQLOperationType.SELECT_VALUE:
        return ""
    seen: set[str] = set()
    for column in query.columns:
        if not is_identifier(column.name):
            return f'column "{column.name}" is not a Python name: give it an alias (AS name)'
        if column.name in seen:
            return f'column "{column.name}" appears twice: give one an alias (AS other_name)'
        seen.add(column.name)
    return ""


def _table_of(query: DescribedQuery, catalog: Catalog) -> str:
    """The table whose row this result is: its own columns, each once, under their own
    names and with their own nullability; "" for anything else."""
    tables = {c.table_oid for c in query.columns}
    if len(tables) != 1 or 0 in tables:
        return ""
    relid = tables.pop()
    relation = catalog.relation(relid)
    attributes = catalog.attributes(relid)
    if len({c.table_column for c in query.columns}) != len(query.columns):
        return ""
    for column in query.columns:
        attno = column.table_column
        attribute = attributes.get(attno)
        if attribute is None or attribute.name != column.name:
            return ""
        # A view's columns are never declared NOT NULL: only a table's must agree.
        if relation.kind != "v" and column.nullable == catalog.column_not_null(relid, attno):
            return ""
    return relation.name


def _name_records(
    shapes: dict[Shape, list[DescribedQuery]], tables: dict[Shape, str]
) -> dict[Shape, str]:
    names: dict[Shape, str] = {}
    taken: set[str] = set()
    by_table: dict[str, list[Shape]] = defaultdict(list)
    for shape in shapes:
        if tables[shape]:
            by_table[tables[shape]].append(shape)
    for table in sorted(by_table):
        widest = min(by_table[table], key=lambda s: (-len(s.fields), shapes[s][0].source.name))
        name = camel(singular(table)) + "Row"
        if name not in taken:
            names[widest] = name
            taken.add(name)
    for shape in sorted(shapes, key=lambda s: shapes[s][0].source.name):
        if shape not in names:
            names[shape] = _unique(shapes[shape][0].source.name, "Row", taken)
    return names


def _unique(query_name: str, suffix: str, taken: set[str]) -> str:
    """A free class name for a query: its short name, else its full name, else numbered."""
    short = camel(query_name.rpartition(".")[2]) + suffix
    for candidate in (short, camel(query_name.replace(".", "_")) + suffix):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    number = 2
    while f"{short}{number}" in taken:
        number += 1
    taken.add(f"{short}{number}")
    return f"{short}{number}"
