"""What typegen needs from pg_catalog: types, table columns, never-NULL functions, row triggers.

Everything is read on demand and cached for the life of one :class:`Catalog` (one typegen
run on one scratch database), so a run costs a handful of catalog queries, not one per query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h).
_TRIGGER_ROW = 1 << 0
_TRIGGER_BEFORE = 1 << 1
_TRIGGER_INSERT = 1 << 2
_TRIGGER_UPDATE = 1 << 4
_TRIGGER_INSTEAD = 1 << 6

# Functions that never return NULL: count() as an aggregate or a window function, and the
# ranking window functions. Looked up by name in pg_catalog so no OID is hard-coded.
_NEVER_NULL_FUNCTIONS = ("count", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist")

# Operators of pg_catalog that return a value for any non-NULL operands (they raise on
# overflow or division by zero, never return NULL), so they are NOT NULL over NOT NULL inputs:
# - the comparison operators of every B-tree operator family (a B-tree operator class is a
#   total order: "the comparison operators must ... return true or false", Interfacing
#   Extensions to Indexes, 36.16.2; records and arrays compare NULL fields as equal there),
#   and their negators (<> of each =);
# - +, -, *, / and % on the numeric types (Mathematical Operators, 9.3);
# Functions by name: the concatenations (textcat = text || text, byteacat, jsonb_concat,
# array_cat / array_append / array_prepend: "Array Functions and Operators", 9.19) and
# cardinality() ("the total number of elements in the array, or 0 if the array is empty").
# Deliberately absent: array_length() (NULL for an empty array), jsonb -> / ->> (NULL for a
# missing key), any function outside pg_catalog (a user's function may return NULL).
_NON_NULL_OPERATORS_SQL = """
WITH btree AS (
    SELECT amopopr, amopstrategy FROM pg_amop
     WHERE amopmethod = (SELECT oid FROM pg_am WHERE amname = 'btree')
), numeric_types AS (
    SELECT oid FROM pg_type
     WHERE typnamespace = 'pg_catalog'::regnamespace AND typname = ANY (%(numeric)s)
)
SELECT o.oprcode::oid::int
  FROM pg_operator o
 WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprcode <> 0
   AND (o.oid IN (SELECT amopopr FROM btree)
        OR o.oprnegate IN (SELECT amopopr FROM btree WHERE amopstrategy = 3)
        OR (o.oprname IN ('+', '-', '*', '/', '%%')
            AND (o.oprleft = 0 OR o.oprleft IN (SELECT oid FROM numeric_types))
            AND o.oprright IN (SELECT oid FROM numeric_types)
            AND o.oprresult IN (SELECT oid FROM numeric_types)))
UNION
SELECT p.oid::int FROM pg_proc p
 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY (%(names)s)
"""
_NUMERIC_TYPES = ["int2", "int4", "int8", "float4", "float8", "numeric"]
_NON_NULL_OVER_NON_NULL = [
    "textcat",
    "byteacat",
    "jsonb_concat",
    "array_cat",
    "array_append",
    "array_prepend",
    "cardinality",
]

# The cast functions from json and jsonb to scalar types (bool, numeric, int2/4/8,
# float4/8): since PostgreSQL 18 they turn a JSON null into SQL NULL, where 15 to 17 raise
# "cannot cast jsonb null to type ...". A cast from json or jsonb is therefore nullable
# whatever its input: the type must hold on every supported server (docs/typegen.md).
_JSON_CASTS_SQL = """
SELECT castfunc::int FROM pg_cast
 WHERE castsource IN ('json'::regtype, 'jsonb'::regtype) AND castfunc <> 0
"""


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """One pg_type row, with enum labels in their declared order."""

    oid: int
    name: str  # unqualified type name, e.g. "int4", "user_role", "_text"
    schema: str
    kind: str  # typtype: b base, d domain, e enum, c composite, r range, m multirange, p pseudo
    element: int  # typelem of an array type (0 otherwise)
    is_array: bool
    base: int  # typbasetype of a domain (0 otherwise)
    not_null: bool  # a domain declared NOT NULL
    labels: tuple[str, ...]  # enum labels in order


@dataclass(frozen=True, slots=True)
class Function:
    """One pg_proc row: its name when it is one of PostgreSQL's own, and its strictness."""

    builtin_name: str  # proname for a function of pg_catalog, "" for any other
    strict: bool  # proisstrict: NULL for any NULL argument, without being called


@dataclass(frozen=True, slots=True)
class Relation:
    schema: str = ""
    name: str = ""
    kind: str = ""  # relkind: r table, p partitioned table, v view, m materialized view, ...


@dataclass(frozen=True, slots=True)
class Attribute:
    """One table column."""

    name: str
    type_oid: int
    not_null: bool


class Catalog:
    """Cached catalog lookups over one connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._types: dict[int, TypeInfo] = {}
        self._attributes: dict[int, dict[int, Attribute]] = {}
        self._relations: dict[int, Relation] = {}
        self._never_null: frozenset[int] | None = None
        self._non_null_over_non_null: frozenset[int] | None = None
        self._json_casts: frozenset[int] | None = None
        self._functions: dict[int, Function] = {}
        self._negators: dict[int, int] | None = None
        self._before_row_triggers: dict[int, int] | None = None

    def types(self, oids: Iterable[int]) -> dict[int, TypeInfo]:
        """TypeInfo of ``oids`` and of every type they refer to (elements, domain bases)."""
        todo = {oid for oid in oids if oid and oid not in self._types}
        while todo:
            rows = self.conn.execute(
                """
                SELECT t.oid::int, t.typname, n.nspname, t.typtype::text, t.typelem::int,
                       t.typcategory = 'A' AND t.typelem <> 0, t.typbasetype::int, t.typnotnull,
                       coalesce(
                           (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                              FROM pg_enum e WHERE e.enumtypid = t.oid),
                           '{}'::text[])
                  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE t.oid = any(%s::oid[])
                """,
                (sorted(todo),),
            ).fetchall()
            found = {row[0] for row in rows}
            missing = todo - found
            if missing:
                raise LookupError(f"unknown type oids {sorted(missing)}")
            todo = set()
            for row in rows:
                info = TypeInfo(
                    oid=row[0],
                    name=row[1],
                    schema=row[2],
                    kind=row[3],
                    element=row[4] if row[5] else 0,
                    is_array=bool(row[5]),
                    base=row[6],
                    not_null=bool(row[7]),
                    labels=tuple(row[8]),
                )
                self._types[info.oid] = info
                for ref in (info.element, info.base):
                    if ref and ref not in self._types:
                        todo.add(ref)
        return self._types

    def type(self, oid: int) -> TypeInfo:
        return self.types([oid])[oid]

    def domain_not_null(self, oid: int) -> bool:
        """Whether a value of type ``oid`` can never be NULL (a NOT NULL domain, at any depth)."""
        info = self.type(oid)
        while info.kind == "d":
            if info.not_null:
                return True
            info = self.type(info.base)
        return False

    def attributes(self, relid: int) -> dict[int, Attribute]:
        """The columns of a table, view or other relation by attribute number."""
        cached = self._attributes.get(relid)
        if cached is not None:
            return cached
        rows = self.conn.execute(
            """
            SELECT attnum::int, attname, atttypid::int, attnotnull
              FROM pg_attribute
             WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
            """,
            (relid,),
        ).fetchall()
        columns = {row[0]: Attribute(row[1], row[2], bool(row[3])) for row in rows}
        self._attributes[relid] = columns
        return columns

    def column_not_null(self, relid: int, attno: int) -> bool:
        """A base-table column that can never hold NULL (its attribute or its domain says so)."""
        if attno <= 0:
            return True  # system columns (ctid, xmin, ...) and whole-row references
        attribute = self.attributes(relid).get(attno)
        if attribute is None:
            return False
        return attribute.not_null or self.domain_not_null(attribute.type_oid)

    def relation(self, relid: int) -> Relation:
        """Schema, name and kind of a table, view or other relation."""
        cached = self._relations.get(relid)
        if cached is None:
            row = self.conn.execute(
                "SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s",
                (relid,),
            ).fetchone()
            cached = Relation(str(row[0]), str(row[1]), str(row[2])) if row else Relation()
            self._relations[relid] = cached
        return cached

    def never_null_function(self, oid: int) -> bool:
        if self._never_null is None:
            rows = self.conn.execute(
                "SELECT oid::int FROM pg_proc"
                " WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = any(%s)",
                (list(_NEVER_NULL_FUNCTIONS),),
            ).fetchall()
            self._never_null = frozenset(row[0] for row in rows)
        return oid in self._never_null

    def function(self, oid: int) -> Function:
        """Name (for pg_catalog's own functions) and strictness of a function."""
        if not self._functions:
            rows = self.conn.execute(
                "SELECT oid::int, proname, proisstrict FROM pg_proc"
                " WHERE pronamespace = 'pg_catalog'::regnamespace"
            ).fetchall()
            self._functions = {row[0]: Function(str(row[1]), bool(row[2])) for row in rows}
        found = self._functions.get(oid)
        if found is None:
            row = self.conn.execute(
                "SELECT proisstrict FROM pg_proc WHERE oid = %s", (oid,)
            ).fetchone()
            found = Function("", bool(row and row[0]))
            self._functions[oid] = found
        return found

    def non_null_over_non_null(self, oid: int) -> bool:
        """Whether function ``oid`` returns a value (never NULL) for non-NULL arguments."""
        if self._non_null_over_non_null is None:
            rows = self.conn.execute(
                _NON_NULL_OPERATORS_SQL,
                {"numeric": _NUMERIC_TYPES, "names": _NON_NULL_OVER_NON_NULL},
            ).fetchall()
            self._non_null_over_non_null = frozenset(row[0] for row in rows)
        return oid in self._non_null_over_non_null

    def negator(self, opno: int) -> int:
        """The negator of operator ``opno`` (``<=`` for ``>``), 0 when it has none."""
        if self._negators is None:
            rows = self.conn.execute(
                "SELECT oid::int, oprnegate::int FROM pg_operator WHERE oprnegate <> 0"
            ).fetchall()
            self._negators = {row[0]: row[1] for row in rows}
        return self._negators.get(opno, 0)

    def json_cast(self, oid: int) -> bool:
        """Whether function ``oid`` is a cast from json or jsonb (NULL for a JSON null on 18)."""
        if self._json_casts is None:
            rows = self.conn.execute(_JSON_CASTS_SQL).fetchall()
            self._json_casts = frozenset(row[0] for row in rows)
        return oid in self._json_casts

    def has_skipping_trigger(self, relid: int, *, insert: bool, update: bool) -> bool:
        """Whether a BEFORE or INSTEAD OF row trigger could skip an INSERT or UPDATE of ``relid``
        (such a trigger returning NULL makes the statement return no row)."""
        if self._before_row_triggers is None:
            rows = self.conn.execute(
                "SELECT tgrelid::int, tgtype::int FROM pg_trigger WHERE NOT tgisinternal"
            ).fetchall()
            events: dict[int, int] = {}
            for relation, tgtype in rows:
                if tgtype & _TRIGGER_ROW and tgtype & (_TRIGGER_BEFORE | _TRIGGER_INSTEAD):
                    events[relation] = events.get(relation, 0) | tgtype
            self._before_row_triggers = events
        mask = (_TRIGGER_INSERT if insert else 0) | (_TRIGGER_UPDATE if update else 0)
        return bool(self._before_row_triggers.get(relid, 0) & mask)
