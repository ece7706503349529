"""What the studio reads from pg_catalog: tables, their structure, and which columns are secret.

Every query here is read-only and takes the schema and table as bound values, never as text
spliced into SQL. A column is secret when its comment starts with ``plainsql:secret`` or the
``studio-secret-columns`` setting names it (``column``, ``table.column`` or
``schema.table.column``); :class:`Secrets` answers for table columns and for query results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

SECRET_MARK = "plainsql:secret"
_USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"


@dataclass(frozen=True, slots=True)
class TableSummary:
    schema: str
    name: str
    estimate: int | None  # pg_class.reltuples; None before the first VACUUM/ANALYZE
    rls: bool
    comment: str | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    attnum: int
    type_name: str  # format_type(): "timestamp with time zone", "meeting_status", "text[]"
    type_oid: int
    not_null: bool
    default: str | None
    comment: str | None
    secret: bool
    kind: str  # the form input: enum, bool, number, timestamp, date, uuid, json, array, text
    labels: tuple[str, ...] = ()  # enum labels in order


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    table: str  # schema.table holding the columns
    columns: tuple[str, ...]
    ref_table: str  # schema.table referenced
    ref_columns: tuple[str, ...]
    ref_is_primary_key: bool


@dataclass(frozen=True, slots=True)
class Named:
    """An index, constraint or policy: its name and its definition as PostgreSQL prints it."""

    name: str
    definition: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    summary: TableSummary
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    sortable: tuple[str, ...]  # NOT NULL leading columns of b-tree indexes, primary key first
    indexes: tuple[Named, ...]
    constraints: tuple[Named, ...]
    policies: tuple[Named, ...]
    outgoing: tuple[ForeignKey, ...]
    incoming: tuple[ForeignKey, ...]
    rls_forced: bool

    @property
    def qualified(self) -> str:
        return self.summary.qualified

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class Secrets:
    """Which columns are secret: by (table oid, attnum), by qualified name, and by bare name."""

    attributes: frozenset[tuple[int, int]] = frozenset()
    qualified: frozenset[str] = frozenset()  # "schema.table.column"
    names: frozenset[str] = frozenset()  # column names, masked in any query result
    configured: tuple[str, ...] = field(default=())

    def column(self, schema: str, table: str, column: str) -> bool:
        return f"{schema}.{table}.{column}" in self.qualified or column in self.names

    def result(self, table_oid: int, attnum: int, name: str) -> bool:
        """A query result column: secret when it comes from a secret column, or is named as
        one (a function or an expression may hand a secret on under the same name)."""
        return (table_oid, attnum) in self.attributes or name in self.names


def load_secrets(conn: psycopg.Connection[Any], configured: tuple[str, ...]) -> Secrets:
    """The secret columns of the database: marked by comment or named by the setting."""
    bare = {entry for entry in configured if "." not in entry}
    dotted = [entry for entry in configured if "." in entry]
    rows = conn.execute(
        f"""
        SELECT c.oid::int, a.attnum::int, n.nspname, c.relname, a.attname
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND {_USER_SCHEMAS}
           AND (starts_with(coalesce(col_description(c.oid, a.attnum), ''), %(mark)s)
                OR a.attname = ANY(%(bare)s)
                OR n.nspname || '.' || c.relname || '.' || a.attname = ANY(%(dotted)s)
                OR c.relname || '.' || a.attname = ANY(%(dotted)s))
        """,
        {"mark": SECRET_MARK, "bare": list(bare), "dotted": dotted},
    ).fetchall()
    return Secrets(
        attributes=frozenset((row[0], row[1]) for row in rows),
        qualified=frozenset(f"{row[2]}.{row[3]}.{row[4]}" for row in rows),
        names=frozenset({row[4] for row in rows} | bare),
        configured=configured,
    )


def list_tables(conn: psycopg.Connection[Any]) -> list[TableSummary]:
    rows = conn.execute(
        f"""
        SELECT n.nspname, c.relname, c.reltuples::bigint, c.relrowsecurity,
               obj_description(c.oid, 'pg_class')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {_USER_SCHEMAS}
         ORDER BY n.nspname, c.relname
        """
    ).fetchall()
    return [
        TableSummary(row[0], row[1], None if row[2] < 0 else int(row[2]), row[3], row[4])
        for row in rows
    ]


_TYPE_SQL = """
WITH RECURSIVE chain AS (
    SELECT t.oid AS start, t.oid, t.typtype, t.typcategory, t.typname, t.typbasetype, 0 AS depth
      FROM pg_type t WHERE t.oid = ANY(%(oids)s)
    UNION ALL
    SELECT chain.start, b.oid, b.typtype, b.typcategory, b.typname, b.typbasetype, chain.depth + 1
      FROM chain JOIN pg_type b ON b.oid = chain.typbasetype
     WHERE chain.typtype = 'd'
)
SELECT DISTINCT ON (start) start::int, typtype, typcategory, typname,
       ARRAY(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = chain.oid
              ORDER BY enumsortorder)
  FROM chain ORDER BY start, depth DESC
"""


def type_kinds(
    conn: psycopg.Connection[Any], oids: list[int]
) -> dict[int, tuple[str, tuple[str, ...]]]:
    """For each type (domains followed to their base): the form input kind and enum labels."""
    if not oids:
        return {}
    found: dict[int, tuple[str, tuple[str, ...]]] = {}
    for start, typtype, category, name, labels in conn.execute(
        _TYPE_SQL, {"oids": oids}
    ).fetchall():
        found[start] = (_kind(typtype, category, name), tuple(labels or ()))
    return found


def _kind(typtype: str, category: str, name: str) -> str:
    if typtype == "e":
        return "enum"
    if category == "A":
        return "array"
    if name == "bool":
        return "bool"
    if name in ("timestamp", "timestamptz"):
        return "timestamp"
    if name == "date":
        return "date"
    if name == "uuid":
        return "uuid"
    if name in ("json", "jsonb"):
        return "json"
    if category == "N":
        return "number"
    return "text"


def load_table(
    conn: psycopg.Connection[Any], schema: str, name: str, secrets: Secrets
) -> Table | None:
    """One table's structure, or None when there is no such table."""
    found = conn.execute(
        """
        SELECT c.oid::int, c.reltuples::bigint, c.relrowsecurity, c.relforcerowsecurity,
               obj_description(c.oid, 'pg_class')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
        """,
        (schema, name),
    ).fetchone()
    if found is None:
        return None
    oid, estimate, rls, forced, comment = found
    summary = TableSummary(schema, name, None if estimate < 0 else int(estimate), rls, comment)
    raw_columns = conn.execute(
        """
        SELECT a.attname, a.attnum::int, format_type(a.atttypid, a.atttypmod), a.atttypid::int,
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum)
          FROM pg_attribute a
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum
        """,
        (oid,),
    ).fetchall()
    kinds = type_kinds(conn, sorted({row[3] for row in raw_columns}))
    columns = tuple(
        Column(
            name=row[0],
            attnum=row[1],
            type_name=row[2],
            type_oid=row[3],
            not_null=row[4],
            default=row[5],
            comment=row[6],
            secret=(oid, row[1]) in secrets.attributes or secrets.column(schema, name, row[0]),
            kind=kinds.get(row[3], ("text", ()))[0],
            labels=kinds.get(row[3], ("text", ()))[1],
        )
        for row in raw_columns
    )
    by_number = {c.attnum: c for c in columns}
    index_rows = conn.execute(
        """
        SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique,
               (i.indkey::int2[])[0]::int, am.amname, i.indpred IS NULL
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_am am ON am.oid = ic.relam
         WHERE i.indrelid = %s
         ORDER BY NOT i.indisprimary, ic.relname
        """,
        (oid,),
    ).fetchall()
    primary_key: tuple[str, ...] = ()
    pk_row = conn.execute(
        """
        SELECT ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, pos)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                     ORDER BY k.pos)
          FROM pg_constraint con WHERE con.conrelid = %s AND con.contype = 'p'
        """,
        (oid,),
    ).fetchone()
    if pk_row is not None:
        primary_key = tuple(pk_row[0])
    sortable: list[str] = []
    for _, _, _, _, leading, method, whole in index_rows:
        column = by_number.get(leading)
        if (
            column is not None
            and method == "btree"
            and whole
            and column.not_null
            and not column.secret
            and column.name not in sortable
        ):
            sortable.append(column.name)
    if primary_key and primary_key[0] in sortable:
        sortable.remove(primary_key[0])
        sortable.insert(0, primary_key[0])
    constraints = conn.execute(
        """
        SELECT conname, pg_get_constraintdef(oid), contype::text FROM pg_constraint
         WHERE conrelid = %s ORDER BY contype, conname
        """,
        (oid,),
    ).fetchall()
    policies = conn.execute(
        """
        SELECT polname,
               concat_ws(' ', CASE WHEN polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                   'FOR', CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                   WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                   'TO', (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                                            ELSE pg_get_userbyid(r)::text END, ', ')
                            FROM unnest(polroles) r),
                   'USING (' || pg_get_expr(polqual, polrelid) || ')',
                   'WITH CHECK (' || pg_get_expr(polwithcheck, polrelid) || ')')
          FROM pg_policy WHERE polrelid = %s ORDER BY polname
        """,
        (oid,),
    ).fetchall()
    outgoing, incoming = _foreign_keys(conn, oid)
    return Table(
        summary=summary,
        columns=columns,
        primary_key=primary_key,
        sortable=tuple(sortable),
        indexes=tuple(Named(row[0], row[1], "primary" if row[2] else "") for row in index_rows),
        constraints=tuple(Named(row[0], row[1], row[2]) for row in constraints),
        policies=tuple(Named(row[0], row[1]) for row in policies),
        outgoing=outgoing,
        incoming=incoming,
        rls_forced=forced,
    )


_FK_SQL = """
SELECT con.conname,
       cn.nspname || '.' || c.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, pos)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
             ORDER BY k.pos),
       rn.nspname || '.' || r.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, pos)
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
             ORDER BY k.pos),
       EXISTS (SELECT 1 FROM pg_constraint p
                WHERE p.conrelid = con.confrelid AND p.contype = 'p'
                  AND p.conkey = con.confkey),
       con.conrelid = %(oid)s
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
  JOIN pg_class r ON r.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
 WHERE con.contype = 'f' AND (con.conrelid = %(oid)s OR con.confrelid = %(oid)s)
 ORDER BY con.conname
"""


def _foreign_keys(
    conn: psycopg.Connection[Any], oid: int
) -> tuple[tuple[ForeignKey, ...], tuple[ForeignKey, ...]]:
    outgoing: list[ForeignKey] = []
    incoming: list[ForeignKey] = []
    for name, table, columns, ref_table, ref_columns, ref_pk, is_out in conn.execute(
        _FK_SQL, {"oid": oid}
    ).fetchall():
        key = ForeignKey(name, table, tuple(columns), ref_table, tuple(ref_columns), ref_pk)
        (outgoing if is_out else incoming).append(key)
        if is_out and table == ref_table:  # a self-reference is also an incoming key
            incoming.append(key)
    return tuple(outgoing), tuple(incoming)
