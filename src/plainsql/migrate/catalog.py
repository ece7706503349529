"""Catalog snapshots: what a database's schema holds, as plain data that two snapshots can diff.

A snapshot maps ``"<kind> <qualified name>"`` (``"index public.users_email_key"``) to the
attributes that define the object (``{"definition": "CREATE UNIQUE INDEX ..."}``). It covers
schemas, extensions, tables, columns (type, default, nullability, identity, generated,
collation, position), constraints, indexes (with validity), triggers, rules, functions and
procedures, enums, domains, composite and range types, views and materialized views,
sequences, row-level-security policies, and the comment of each. OIDs, statistics, owners and
grants are left out, so two databases built the same way give equal snapshots.

The runner's bookkeeping tables (:data:`plainsql.migrate.runner.BOOKKEEPING_TABLES`) and
everything on them are left out; so are objects that belong to an extension (the extension
itself is listed), and so is the schema ``plainsql`` with everything in it, where the
toolkit installs its own objects (:data:`plainsql.stats.SCHEMA`). NOT NULL constraints,
which PostgreSQL 18 catalogs as constraints, appear only as the column's nullability so that
a snapshot reads the same on every version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from plainsql.migrate.ledger import BOOKKEEPING_TABLES

Snapshot = dict[str, dict[str, str]]

# The schema ``plainsql`` holds what the toolkit itself installs (pg_stat_statements for
# `plainsql stats`, plainsql.stats.SCHEMA): never part of what the migrations build.
_USER_SCHEMA = (
    "{ns}.nspname NOT IN ('pg_catalog', 'information_schema', 'plainsql') "
    "AND {ns}.nspname !~ '^pg_(toast|temp_)'"
)


def _not_extension_member(catalog: str, oid: str) -> str:
    return (
        "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
        f"'{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')"
    )


_RELKINDS = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "S": "sequence",
    "f": "foreign table",
    "c": "type",
}

_QUERIES: dict[str, str] = {
    "schema": f"""
        SELECT n.nspname AS name, obj_description(n.oid, 'pg_namespace') AS comment
        FROM pg_namespace n
        WHERE {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_namespace", "n.oid")}
    """,
    "extension": """
        SELECT e.extname AS name, n.nspname AS schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE n.nspname <> 'plainsql'
    """,
    "relation": f"""
        SELECT n.nspname || '.' || c.relname AS name, c.relkind::text AS relkind,
               c.relpersistence::text AS persistence,
               CASE WHEN c.relrowsecurity THEN 'enabled' END AS row_security,
               CASE WHEN c.relforcerowsecurity THEN 'forced' END AS force_row_security,
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
               CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END
                   AS partition_of,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
               obj_description(c.oid, 'pg_class') AS comment
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
          AND {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_class", "c.oid")}
          AND NOT (c.relname = ANY(%(bookkeeping)s))
    """,
    "column": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname AS name,
               format_type(a.atttypid, a.atttypmod) AS type,
               CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END AS nullability,
               pg_get_expr(ad.adbin, ad.adrelid) AS "default",
               NULLIF(a.attidentity::text, '') AS identity,
               NULLIF(a.attgenerated::text, '') AS generated,
               CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
               (rank() OVER (PARTITION BY c.oid ORDER BY a.attnum))::text AS position,
               col_description(c.oid, a.attnum) AS comment
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
          AND {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_class", "c.oid")}
          AND NOT (c.relname = ANY(%(bookkeeping)s))
    """,
    "constraint": f"""
        SELECT n.nspname || '.' || COALESCE(c.relname, t.typname) || '.' || k.conname AS name,
               k.contype::text AS type, pg_get_constraintdef(k.oid) AS definition,
               CASE WHEN k.condeferrable THEN 'deferrable' END AS deferrable,
               CASE WHEN NOT k.convalidated THEN 'not valid' END AS validated,
               obj_description(k.oid, 'pg_constraint') AS comment
        FROM pg_constraint k
        JOIN pg_namespace n ON n.oid = k.connamespace
        LEFT JOIN pg_class c ON c.oid = k.conrelid
        LEFT JOIN pg_type t ON t.oid = k.contypid
        WHERE k.contype <> 'n'
          AND {_USER_SCHEMA.format(ns="n")}
          AND NOT (COALESCE(c.relname, '') = ANY(%(bookkeeping)s))
          AND (c.oid IS NULL OR {_not_extension_member("pg_class", "c.oid")})
          AND (t.oid IS NULL OR {_not_extension_member("pg_type", "t.oid")})
    """,
    "index": f"""
        SELECT n.nspname || '.' || i.relname AS name,
               pg_get_indexdef(x.indexrelid) AS definition,
               CASE WHEN NOT x.indisvalid THEN 'INVALID' END AS validity,
               obj_description(i.oid, 'pg_class') AS comment
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_class", "c.oid")}
          AND NOT (c.relname = ANY(%(bookkeeping)s))
    """,
    "trigger": f"""
        SELECT n.nspname || '.' || c.relname || '.' || g.tgname AS name,
               pg_get_triggerdef(g.oid) AS definition,
               g.tgenabled::text AS enabled,
               obj_description(g.oid, 'pg_trigger') AS comment
        FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT g.tgisinternal
          AND {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_class", "c.oid")}
          AND NOT (c.relname = ANY(%(bookkeeping)s))
    """,
    "rule": f"""
        SELECT n.nspname || '.' || c.relname || '.' || r.rulename AS name,
               pg_get_ruledef(r.oid) AS definition,
               obj_description(r.oid, 'pg_rewrite') AS comment
        FROM pg_rewrite r
        JOIN pg_class c ON c.oid = r.ev_class
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE r.rulename <> '_RETURN'
          AND {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_class", "c.oid")}
    """,
    "function": f"""
        SELECT n.nspname || '.' || p.proname
                   || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
               p.prokind::text AS kind,
               CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) END
                   AS definition,
               obj_description(p.oid, 'pg_proc') AS comment
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_proc", "p.oid")}
    """,
    "type": f"""
        SELECT n.nspname || '.' || t.typname AS name, t.typtype::text AS kind,
               (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                  FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels,
               CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
                   AS base_type,
               CASE WHEN t.typtype = 'd' AND t.typnotnull THEN 'not null' END AS nullability,
               t.typdefault AS "default",
               (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r
                 WHERE r.rngtypid = t.oid) AS range_of,
               obj_description(t.oid, 'pg_type') AS comment
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd', 'r')
          AND {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_type", "t.oid")}
    """,
    "sequence": f"""
        SELECT n.nspname || '.' || c.relname AS name,
               format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
               s.seqincrement::text AS increment, s.seqmin::text AS min,
               s.seqmax::text AS max, CASE WHEN s.seqcycle THEN 'cycle' END AS cycle,
               (SELECT d.deptype::text || ' ' || oc.relname || '.' || oa.attname
                  FROM pg_depend d
                  JOIN pg_class oc ON oc.oid = d.refobjid
                  JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                 LIMIT 1) AS owned_by
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA.format(ns="n")} AND {_not_extension_member("pg_class", "c.oid")}
          AND NOT (c.relname = ANY(%(bookkeeping)s))
    """,
    "policy": f"""
        SELECT n.nspname || '.' || c.relname || '.' || p.polname AS name,
               p.polcmd::text AS command,
               CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END AS mode,
               (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END,
                                  ', ' ORDER BY 1)
                  FROM unnest(p.polroles) AS r) AS roles,
               pg_get_expr(p.polqual, p.polrelid) AS using_expression,
               pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
               obj_description(p.oid, 'pg_policy') AS comment
        FROM pg_policy p
        JOIN pg_class c ON c.oid = p.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA.format(ns="n")}
    """,
}


def snapshot(
    conn: psycopg.Connection[Any], *, exclude_tables: Iterable[str] | None = None
) -> Snapshot:
    """The schema of ``conn``'s database, without the runner's bookkeeping tables."""
    if exclude_tables is None:
        exclude_tables = BOOKKEEPING_TABLES
    params = {"bookkeeping": list(exclude_tables)}
    found: Snapshot = {}
    for kind, query in _QUERIES.items():
        cursor = conn.execute(query, params if "%(bookkeeping)s" in query else None)
        names = [c.name for c in cursor.description or ()]
        for row in cursor.fetchall():
            values = dict(zip(names, row, strict=True))
            name = str(values.pop("name"))
            label = kind
            if kind == "relation":
                label = _RELKINDS[str(values.pop("relkind"))]
                if label == "sequence":
                    continue  # described by the sequence query
            attributes = {k: str(v) for k, v in values.items() if v is not None}
            found[f"{label} {name}"] = attributes
    return found


@dataclass(frozen=True, slots=True)
class Difference:
    """One object that differs between two snapshots."""

    key: str  # "<kind> <qualified name>"
    change: str  # "added" (only in the second), "removed" (only in the first), "changed"
    details: tuple[str, ...] = ()

    def describe(self, first: str = "before", second: str = "after") -> str:
        if self.change == "added":
            return f"{self.key}: in {second}, not in {first}"
        if self.change == "removed":
            return f"{self.key}: in {first}, not in {second}"
        return f"{self.key} differs: " + "; ".join(self.details)


def _short(value: str | None) -> str:
    if value is None:
        return "(none)"
    flat = " ".join(value.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


def diff(first: Snapshot, second: Snapshot) -> list[Difference]:
    """Objects that differ between two snapshots, in a stable order."""
    found: list[Difference] = []
    for key in sorted(set(first) | set(second)):
        if key not in first:
            found.append(Difference(key, "added"))
        elif key not in second:
            found.append(Difference(key, "removed"))
        elif first[key] != second[key]:
            a, b = first[key], second[key]
            details = tuple(
                f"{attr} {_short(a.get(attr))} -> {_short(b.get(attr))}"
                for attr in sorted(set(a) | set(b))
                if a.get(attr) != b.get(attr)
            )
            found.append(Difference(key, "changed", details))
    return found
