"""``plainsql cache``: what the cached queries read, and the migration that lets a cache listen.

A query marked ``-- plainsql: cache ttl=...`` is invalidated by a ``NOTIFY`` from a
statement-level trigger on every table it reads (docs/caching.md). plainsql never knows the
application's tables: ``plainsql cache migration`` asks the server, on a scratch database
built by ``migrations/``, what each cached query reads (:func:`plainsql.runtime._reads.analyse`)
and writes a migration, for review, that installs the trigger function in schema ``plainsql``
(the first time) and the trigger on exactly the tables that lack it. ``plainsql cache show``
prints the same findings; ``plainsql check`` fails on a cached query that cannot be cached
or reads a table without its trigger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from plainsql.config import Settings, shown_path
from plainsql.migrate.files import new_migration
from plainsql.queries import load_queries
from plainsql.runtime._cache_sql import (
    FUNCTION_EXISTS,
    MISSING_TRIGGERS,
    TRIGGER,
    drop_trigger_sql,
    install_sql,
    trigger_sql,
    uninstall_sql,
)
from plainsql.runtime._reads import analyse
from plainsql.runtime._reads_common import Reads
from plainsql.runtime._reuse import CacheSpec


@dataclass(frozen=True, slots=True)
class CachedQuery:
    """A query with a cache directive, and what the server says it reads."""

    name: str
    where: str  # sql/teams/teams.sql:20
    spec: CacheSpec
    reads: Reads | None  # None: the server could not parse it
    problem: str | None  # why it cannot be cached, or None


@dataclass(frozen=True, slots=True)
class CachePlan:
    """The cached queries of a project against a migrated database, and what is missing."""

    queries: list[CachedQuery]
    installed: bool  # plainsql.cache_notify() exists
    untriggered: dict[str, list[str]] = field(default_factory=dict)  # table -> queries

    @property
    def tables(self) -> dict[str, list[str]]:
        """Every watched table, with the cached queries reading it."""
        found: dict[str, list[str]] = {}
        for query in self.queries:
            if query.reads is not None and query.problem is None:
                for table in query.reads.tables.values():
                    found.setdefault(table, []).append(query.name)
        return dict(sorted(found.items()))

    def failures(self) -> list[str]:
        """``file:line: query: ...`` for each query that cannot be cached and each table
        without its trigger (``plainsql check``)."""
        lines = [
            f"{q.where}: {q.name}: not cacheable: {q.problem}" for q in self.queries if q.problem
        ]
        for table, names in self.untriggered.items():
            lines.append(
                f"table {table} (read by {', '.join(names)}) has no {TRIGGER} trigger: run "
                "`plainsql cache migration`, review the migration it writes and apply it"
            )
        return lines


def cached_queries(settings: Settings) -> list[tuple[str, str, str, CacheSpec]]:
    """(name, file:line, SQL, spec) of every query under sql/ with a cache directive."""
    if not settings.sql_dir.exists():
        return []
    queries = load_queries(settings.sql_dir, settings=settings)
    adapter: Any = queries.driver_adapter
    found = []
    for name, spec in sorted(adapter.cache_specs.items()):
        fn: Any = queries.get(name)
        path = shown_path(Path(fn.__code__.co_filename), settings.project_dir)
        found.append((name, f"{path}:{fn.__code__.co_firstlineno}", str(fn.sql), spec))
    return found


def plan_on(conn: psycopg.Connection[Any], settings: Settings) -> CachePlan:
    """The plan of the project's cached queries on ``conn``'s (migrated) database."""
    queries = []
    for name, where, sql, spec in cached_queries(settings):
        try:
            reads: Reads | None = analyse(conn, sql, spec.tables)
        except psycopg.Error as exc:
            reason = f"the server cannot parse it: {exc.diag.message_primary or exc}"
            queries.append(CachedQuery(name, where, spec, None, reason))
            continue
        assert reads is not None
        queries.append(CachedQuery(name, where, spec, reads, reads.refusal(spec)))
    row = conn.execute(FUNCTION_EXISTS).fetchone()
    installed = bool(row and row[0])
    plan = CachePlan(queries, installed)
    watched = {
        oid: table
        for q in queries
        if q.reads is not None and q.problem is None
        for oid, table in q.reads.tables.items()
    }
    if watched:
        missing = conn.execute(MISSING_TRIGGERS, (sorted(watched),)).fetchall()
        tables = plan.tables
        for (oid,) in sorted(missing, key=lambda r: watched[r[0]]):
            plan.untriggered[watched[oid]] = tables[watched[oid]]
    return plan


def plan_cache(settings: Settings) -> CachePlan:
    """The plan on a scratch database built by the project's migrations (then dropped)."""
    if not cached_queries(settings):
        return CachePlan([], installed=False)
    from plainsql.typegen.generate import migrated_connection

    with migrated_connection(settings) as conn:
        return plan_on(conn, settings)


def migration_text(plan: CachePlan, migration_id: str) -> tuple[str, str] | None:
    """The forward and rollback text that installs what ``plan`` lacks, or None."""
    if not plan.untriggered and (plan.installed or not plan.tables):
        return None
    lines = [
        f"-- {migration_id}: the query cache's invalidation triggers.",
        "--",
        "-- Written by `plainsql cache migration` (docs/caching.md); review it. Every INSERT,",
        "-- UPDATE, DELETE or TRUNCATE on a table a cached query reads (its plan, the row-level",
        "-- security policies of what it reads, the functions those call) notifies channel",
        "-- plainsql_cache with the table's oid when it commits, from a statement-level trigger:",
        "-- writes from psql, cascades and SECURITY DEFINER functions invalidate the cache too.",
        "-- The triggers fire in replica mode as well (ENABLE ALWAYS). The tables:",
    ]
    for table, names in plan.untriggered.items():
        lines.append(f"-- - {table}, read by {', '.join(names)}")
    forward = "\n".join(lines) + "\n\n"
    rollback = f"-- {migration_id} rollback: drop what the migration creates.\n\n"
    for table in reversed(plan.untriggered):
        rollback += drop_trigger_sql(table)
    if not plan.installed:
        forward += install_sql() + "\n"
        rollback += uninstall_sql()
    forward += "\n".join(trigger_sql(table) for table in plan.untriggered)
    return forward, rollback


def write_migration(settings: Settings, plan: CachePlan, slug: str) -> tuple[Path, Path] | None:
    """Write the migration :func:`migration_text` makes (None: nothing is missing)."""
    if migration_text(plan, "") is None:
        return None
    forward, rollback = new_migration(settings.migrations_dir, slug)
    migration_id = forward.name.removesuffix(".sql")
    texts = migration_text(plan, migration_id)
    assert texts is not None
    forward.write_text(texts[0], encoding="utf-8")
    rollback.write_text(texts[1], encoding="utf-8")
    return forward, rollback


def describe(plan: CachePlan) -> str:
    """``plainsql cache show``: each cached query with its ttl and what invalidates it."""
    if not plan.queries:
        return "no query has a cache directive (-- plainsql: cache ttl=...)"
    out = []
    for q in plan.queries:
        out.append(f"{q.name}  ({q.where}, ttl {q.spec.ttl:g} s)")
        if q.problem:
            out.append(f"    not cacheable: {q.problem}")
            continue
        assert q.reads is not None
        for table in q.reads.tables.values():
            state = "no trigger" if table in plan.untriggered else "trigger"
            out.append(f"    {table}  ({state})")
        for reason in q.reads.unknown:
            out.append(f"    unknown: {reason} (tables= lists: {', '.join(q.spec.tables)})")
    return "\n".join(out)
