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
