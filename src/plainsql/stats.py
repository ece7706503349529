"""``plainsql stats``: the top named queries of a database, read from ``pg_stat_statements``.

``pg_stat_statements`` keeps one entry per ``queryid`` (a hash of the parsed statement:
comments never change it) and, as its text, the first statement it saw with that id. So the
name comment in the text (:mod:`plainsql.naming`) is not trusted alone: each named query is
also run through ``EXPLAIN (VERBOSE)`` here, which prints its ``Query Identifier`` (with
``compute_query_id`` on, as it is where the module is loaded), planned generic: ``EXPLAIN
(GENERIC_PLAN)`` on PostgreSQL 16 and later, a prepared statement under
``plan_cache_mode = force_generic_plan`` before. A name maps to every id whose text names it
or whose plan it has; names with the same SQL have the same id and are reported as sharing
it (their calls cannot be told apart). One query can run under several ids: psycopg sends a
Python int as int2, int4, int8 or numeric by its value, and each is another parse tree.

The query cache's counters (hits, misses, evictions, invalidations per cached query, summed
over the processes that flushed them into ``plainsql.cache_stats``: docs/caching.md) are
shown beside, when the database has that table.
With ``replica-urls`` set, the report also gives each replica's lag (:func:`replica_lags`):
how many bytes of WAL it has not replayed yet, and how old its last replayed commit is while it
is behind; ``--replica N`` reports the named queries that replica ran (its own
``pg_stat_statements``: a standby counts the queries it serves).

plainsql never creates the extension in an application's migrations. On the embedded server
(which preloads the module) ``stats`` creates it itself, in the schema ``plainsql``, where
everything the toolkit installs in a database lives; elsewhere it says what to run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from aiosql.types import SQLOperationType
from psycopg import sql

from plainsql import naming
from plainsql._sqltext import numbered
from plainsql.config import Settings, describe_target
from plainsql.errors import ConfigError, DatabaseUnavailable, StatsUnavailable, scrub_secrets
from plainsql.runtime._cache_sql import READ_STATS, STATS_EXIST, STATS_TABLE
from plainsql.server import connect, database_name, session_conninfo

EXTENSION = "pg_stat_statements"
SCHEMA = "plainsql"  # everything plainsql installs in a database lives here, never in public
SORT_KEYS = {
    "total": "total_ms",
    "calls": "calls",
    "mean": "mean_ms",
    "max": "max_ms",
    "rows": "rows",
    "hit": "shared_blks_hit",
    "read": "shared_blks_read",
}
_QUERY_ID = re.compile(r"^\s*Query Identifier:\s*(-?\d+)", re.M)


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``queryid``'s totals in this database (all roles summed)."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    shared_blks_hit: int
    shared_blks_read: int
    names: tuple[str, ...] = field(default=(), compare=False)  # every name in its texts


@dataclass(frozen=True, slots=True)
class NamedStats:
    """A named query's totals over every ``queryid`` it ran under."""

    name: str
    queryids: tuple[int, ...]
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    shared_blks_hit: int
    shared_blks_read: int
    shared_with: tuple[str, ...]  # names whose calls are counted in the same ids


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A cached query's counters in ``plainsql.cache_stats`` (every process's flushes)."""

    name: str
    hits: int
    misses: int
    evictions: int
    invalidations: int
    flushed_at: str  # ISO time of the last flush

    @property
    def hit_ratio(self) -> float:
        calls = self.hits + self.misses
        return self.hits / calls if calls else 0.0


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """One replica of ``replica-urls`` as it answers now, against the primary's position."""

    name: str  # replica-1, ... in the order of replica-urls
    target: str  # host:port/db, never the password
    state: str  # streaming, replay paused, not a standby, unreachable (why)
    replay_position: str | None  # "16/B374D848"
    behind_bytes: int | None  # WAL the primary has written that it has not replayed
    last_replay_age_s: float | None  # age of its last replayed commit; 0 when caught up


@dataclass(slots=True)
class StatsReport:
    database: str
    server_version: int
    queries: list[NamedStats]
    unmatched: list[Entry]
    explain_failed: dict[str, str]  # query name -> why EXPLAIN gave no id
    cache: list[CacheStats] = field(default_factory=list)
    replicas: list[ReplicaLag] = field(default_factory=list)
    server: str = "primary"  # or the replica whose queries these are

    def sorted(self, key: str, limit: int | None) -> StatsReport:
        """The report with both lists sorted by ``key`` (one of :data:`SORT_KEYS`), cut."""
        attr = SORT_KEYS[key]
        queries = sorted(self.queries, key=lambda q: (-getattr(q, attr), q.name))
        unmatched = sorted(self.unmatched, key=lambda e: (-getattr(e, attr), e.queryid))
        return StatsReport(
            self.database,
            self.server_version,
            queries[:limit] if limit is not None else queries,
            unmatched[:limit] if limit is not None else unmatched,
            self.explain_failed,
            self.cache,
            self.replicas,
            self.server,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "server_version": self.server_version,
            "queries": [
                {**asdict(q), "queryids": list(q.queryids), "shared_with": list(q.shared_with)}
                for q in self.queries
            ],
            "unmatched": [
                {k: v for k, v in asdict(e).items() if k != "names"} for e in self.unmatched
            ],
            "explain_failed": self.explain_failed,
            "cache": [{**asdict(c), "hit_ratio": c.hit_ratio} for c in self.cache],
            "server": self.server,
            "replicas": [asdict(r) for r in self.replicas],
        }


def setup_lines() -> str:
    """What to run in a database for ``plainsql stats``: the schema and the extension."""
    return (
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA};\n"
        f"    CREATE EXTENSION IF NOT EXISTS {EXTENSION} SCHEMA {SCHEMA};"
    )


def not_loaded_message(target: str) -> str:
    return (
        f"{EXTENSION} is not loaded on {target}: add it to the server's postgresql.conf "
        "(keep any library already listed there) and restart the server:\n"
        f"    shared_preload_libraries = '{EXTENSION}'\n"
        "then, as a superuser, in the application's database:\n"
        f"    {setup_lines()}"
    )


def not_created_message(target: str, dbname: str) -> str:
    return (
        f"{EXTENSION} is loaded on {target} but not created in database {dbname!r}; as a "
        "superuser, run there (plainsql's migrations never create it: it belongs to the "
        f"server's operators, not to the application's schema):\n    {setup_lines()}"
    )


def is_loaded(conn: psycopg.Connection[Any]) -> bool:
    """Whether the module is in ``shared_preload_libraries``: its settings exist only then
    (``pg_settings`` is readable by every role, ``shared_preload_libraries`` is not)."""
    row = conn.execute("SELECT current_setting('pg_stat_statements.max', true)").fetchone()
    return row is not None and row[0] is not None


def extension_schema(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = %s",
        (EXTENSION,),
    ).fetchone()
    return None if row is None else str(row[0])


def install(conn: psycopg.Connection[Any]) -> None:
    """Create the extension in the ``plainsql`` schema (the embedded server's database)."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
    conn.execute(
        sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA {}").format(
            sql.Identifier(EXTENSION), sql.Identifier(SCHEMA)
        )
    )


@contextmanager
def open_stats(
    settings: Settings, conninfo: str | None = None
) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """An autocommit connection to the database and the schema of its ``pg_stat_statements``;
    :class:`StatsUnavailable` saying what to run when the module is not loaded or created."""
    target = conninfo
    if target is None:  # a session of its own (SET, EXPLAIN): the direct URL behind a pooler
        target = session_conninfo(settings, "plainsql stats")
    with connect(settings, target, autocommit=True) as conn:
        shown = describe_target(target)
        if not is_loaded(conn):
            raise StatsUnavailable(not_loaded_message(shown))
        schema = extension_schema(conn)
        if schema is None and settings.uses_embedded and conninfo is None:
            install(conn)
            schema = SCHEMA
        if schema is None:
            raise StatsUnavailable(not_created_message(shown, database_name(target)))
        # This session's own statements (EXPLAIN of every query) need not be counted
        # (a superuser's setting: elsewhere they are, as unmatched statements).
        with suppress(psycopg.Error):
            conn.execute("SET pg_stat_statements.track = 'none'")
        yield conn, schema


def reset(conn: psycopg.Connection[Any], schema: str) -> None:
    """Forget the statistics of this database (other databases' are kept), and the query
    cache's counters when it has them."""
    if has_cache_stats(conn):
        conn.execute(f"DELETE FROM {STATS_TABLE}")
    conn.execute(
        sql.SQL(
            "SELECT {}.pg_stat_statements_reset(0::oid, "
            "(SELECT oid FROM pg_database WHERE datname = current_database()), 0::bigint)"
        ).format(sql.Identifier(schema))
    )


def read_entries(conn: psycopg.Connection[Any], schema: str) -> list[Entry]:
    rows = conn.execute(
        sql.SQL(
            """
            SELECT queryid, array_agg(query ORDER BY calls DESC), sum(calls)::bigint,
                   sum(total_exec_time)::float8, max(max_exec_time)::float8, sum(rows)::bigint,
                   sum(shared_blks_hit)::bigint, sum(shared_blks_read)::bigint
            FROM {}.pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND queryid IS NOT NULL
            GROUP BY queryid
            """
        ).format(sql.Identifier(schema))
    ).fetchall()
    entries = []
    for queryid, texts, calls, total, peak, nrows, hit, read in rows:
        names = tuple(dict.fromkeys(n for text in texts for n in naming.names_in(text or "")))
        entries.append(
            Entry(
                int(queryid),
                str(texts[0] or ""),
                int(calls),
                float(total),
                float(total) / calls if calls else 0.0,
                float(peak),
                int(nrows),
                int(hit),
                int(read),
                names,
            )
        )
    return entries


def has_cache_stats(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(STATS_EXIST).fetchone()
    return bool(row and row[0])


def read_cache_stats(conn: psycopg.Connection[Any]) -> list[CacheStats]:
    """The query cache's counters, when the database has ``plainsql.cache_stats``."""
    if not has_cache_stats(conn):
        return []
    return [
        CacheStats(str(name), int(hits), int(misses), int(evicted), int(dropped), at.isoformat())
        for name, hits, misses, evicted, dropped, at in conn.execute(READ_STATS).fetchall()
    ]


def _explained_id(conn: psycopg.Connection[Any], text: str, nparams: int) -> int:
    """The ``Query Identifier`` of ``text`` (``$n`` parameters) planned generic; nothing runs
    (EXPLAIN without ANALYZE, in a transaction rolled back)."""
    printed: list[str] = []
    with conn.transaction(force_rollback=True):
        if conn.info.server_version >= 160000:
            rows = conn.execute(f"EXPLAIN (VERBOSE, GENERIC_PLAN) {text}").fetchall()
            printed = [str(r[0]) for r in rows]
        else:
            name = b"plainsql_stats_explain"
            result = conn.pgconn.prepare(name, text.encode())
            if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
                message = result.error_field(psycopg.pq.DiagnosticField.MESSAGE_PRIMARY)
                raise ValueError((message or b"cannot prepare").decode(errors="replace"))
            try:
                conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                args = f"({', '.join(['NULL'] * nparams)})" if nparams else ""
                rows = conn.execute(f"EXPLAIN (VERBOSE) EXECUTE {name.decode()}{args}").fetchall()
                printed = [str(r[0]) for r in rows]
            finally:
                conn.pgconn.exec_(b"DEALLOCATE " + name)
    found = _QUERY_ID.search("\n".join(printed))
    if found is None:
        raise ValueError("EXPLAIN printed no Query Identifier (is compute_query_id off?)")
    return int(found.group(1))


def explain_ids(
    conn: psycopg.Connection[Any], sources: Iterable[tuple[str, SQLOperationType, str]]
) -> tuple[dict[str, int], dict[str, str]]:
    """Each named query's ``queryid`` from EXPLAIN; and why, for those that gave none."""
    ids: dict[str, int] = {}
    failed: dict[str, str] = {}
    for name, operation, text in sources:
        if operation is SQLOperationType.SCRIPT:
            continue  # several statements: no single id
        numbered_text, order = numbered(naming.unnamed(text))
        try:
            ids[name] = _explained_id(conn, numbered_text, len(order))
        except (psycopg.Error, ValueError) as exc:
            reason = exc.diag.message_primary if isinstance(exc, psycopg.Error) else str(exc)
            failed[name] = str(reason or exc).strip()
    return ids, failed


def build_report(
    entries: list[Entry],
    explained: dict[str, int],
    explain_failed: dict[str, str],
    database: str,
    server_version: int,
) -> StatsReport:
    """Map names to ids (the text's names, EXPLAIN's ids, names of the same SQL) and sum."""
    same_sql: dict[int, set[str]] = {}
    for name, queryid in explained.items():
        same_sql.setdefault(queryid, set()).add(name)
    by_name: dict[str, list[Entry]] = {}
    unmatched: list[Entry] = []
    names_of: dict[int, set[str]] = {}
    for entry in entries:
        names = set(entry.names) | same_sql.get(entry.queryid, set())
        for name in list(names):  # a name's twin (same SQL) ran this entry as much as it did
            if name in explained:
                names |= same_sql[explained[name]]
        if not names:
            unmatched.append(entry)
            continue
        names_of[entry.queryid] = names
        for name in names:
            by_name.setdefault(name, []).append(entry)
    queries = []
    for name, found in by_name.items():
        calls = sum(e.calls for e in found)
        total = sum(e.total_ms for e in found)
        shared = set().union(*(names_of[e.queryid] for e in found)) - {name}
        queries.append(
            NamedStats(
                name=name,
                queryids=tuple(sorted(e.queryid for e in found)),
                calls=calls,
                total_ms=total,
                mean_ms=total / calls if calls else 0.0,
                max_ms=max(e.max_ms for e in found),
                rows=sum(e.rows for e in found),
                shared_blks_hit=sum(e.shared_blks_hit for e in found),
                shared_blks_read=sum(e.shared_blks_read for e in found),
                shared_with=tuple(sorted(shared)),
            )
        )
    return StatsReport(database, server_version, queries, unmatched, explain_failed)


def collect(
    settings: Settings, conninfo: str | None = None, *, replica: int | None = None
) -> StatsReport:
    """The report for the configured database (or ``conninfo``, or replica number
    ``replica`` of ``replica-urls``), every named query of the project's sql/ explained
    against it; for the configured database, with each replica's lag."""
    from plainsql.typegen.describe import load_sources

    server = "primary"
    if replica is not None:
        conninfo, server = replica_conninfo(settings, replica), f"replica-{replica}"
    sources = [(s.name, s.operation, s.sql) for s in load_sources(settings.sql_dir)]
    with open_stats(settings, conninfo) as (conn, schema):
        explained, failed = explain_ids(conn, sources)
        entries = read_entries(conn, schema)
        cache = read_cache_stats(conn)
        dbname = str(conn.info.dbname)
        version = conn.info.server_version
        lags = replica_lags(settings, conn) if server == "primary" and conninfo is None else []
    report = build_report(entries, explained, failed, dbname, version)
    report.cache = cache
    report.replicas, report.server = lags, server
    return report


def replica_conninfo(settings: Settings, number: int) -> str:
    """The URL of replica ``number`` (1 is the first of ``replica-urls``)."""
    configured = len(settings.replica_urls)
    if not 1 <= number <= configured:
        raise ConfigError(
            f"there is no replica {number}: replica-urls lists {configured}"
            + ("" if configured else " (PLAINSQL_REPLICA_URLS is not set)")
        )
    return settings.replica_urls[number - 1]


_REPLICA_NOW = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END,
       CASE WHEN pg_is_in_recovery()
            THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END
"""


def replica_lags(settings: Settings, primary: psycopg.Connection[Any]) -> list[ReplicaLag]:
    """Each replica of ``replica-urls`` as it answers now, measured against ``primary``."""
    from plainsql.runtime._replicas import parse_lsn

    if not settings.replica_urls:
        return []
    row = primary.execute(
        "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END"
    ).fetchone()
    written = parse_lsn(str(row[0])) if row is not None and row[0] is not None else None
    lags = []
    for number, url in enumerate(settings.replica_urls, start=1):
        name, target = f"replica-{number}", describe_target(url)
        try:
            with connect(settings, url, autocommit=True) as conn:
                found = conn.execute(_REPLICA_NOW).fetchone()
        except (psycopg.Error, DatabaseUnavailable) as exc:
            reason = scrub_secrets(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            lags.append(ReplicaLag(name, target, f"unreachable: {reason}", None, None, None))
            continue
        in_recovery, replayed, paused, age = found or (False, None, None, None)
        if not in_recovery or replayed is None:
            lags.append(ReplicaLag(name, target, "not a standby", None, None, None))
            continue
        position = parse_lsn(str(replayed))
        behind = None if written is None else max(0, written - position)
        lags.append(
            ReplicaLag(
                name,
                target,
                "replay paused" if paused else "streaming",
                str(replayed),
                behind,
                0.0 if behind == 0 else (None if age is None else max(0.0, float(str(age)))),
            )
        )
    return lags


def render(report: StatsReport, sort_key: str) -> str:
    """The report as text tables: named queries first, then the statements matching none."""
    on = "" if report.server == "primary" else f" on {report.server}"
    lines = [
        f"named queries in database {report.database!r}{on} "
        f"(pg_stat_statements, by {sort_key}; {len(report.queries)} shown)"
    ]
    header = f"{'name':<44} {'calls':>8} {'total ms':>10} {'mean ms':>9} {'max ms':>9} "
    header += f"{'rows':>8} {'hit':>9} {'read':>7}  queryids"
    lines.append(header)
    for q in report.queries:
        lines.append(
            f"{q.name:<44} {q.calls:>8} {q.total_ms:>10.1f} {q.mean_ms:>9.3f} {q.max_ms:>9.3f} "
            f"{q.rows:>8} {q.shared_blks_hit:>9} {q.shared_blks_read:>7}  "
            + ", ".join(str(i) for i in q.queryids)
        )
    groups = {tuple(sorted((q.name, *q.shared_with))) for q in report.queries if q.shared_with}
    for group in sorted(groups):
        lines.append(f"  same SQL, one queryid, calls counted together: {', '.join(group)}")
    lines.append("")
    lines.append(f"statements matching no name (ad hoc SQL, migrations): {len(report.unmatched)}")
    lines.append(f"{'queryid':>21} {'calls':>8} {'total ms':>10} {'mean ms':>9}  query")
    for e in report.unmatched:
        text = " ".join(e.query.split())
        text = text if len(text) <= 70 else text[:67] + "..."
        lines.append(f"{e.queryid:>21} {e.calls:>8} {e.total_ms:>10.1f} {e.mean_ms:>9.3f}  {text}")
    for name, reason in sorted(report.explain_failed.items()):
        lines.append(f"  no queryid from EXPLAIN for {name}: {reason}")
    if report.cache:
        lines.append("")
        lines.append(f"query cache ({STATS_TABLE}: every process's counters, flushed every 10 s)")
        lines.append(
            f"{'name':<44} {'hits':>9} {'misses':>9} {'hit %':>6} {'evictions':>9} "
            f"{'invalidated':>11}  last flush"
        )
        for c in report.cache:
            lines.append(
                f"{c.name:<44} {c.hits:>9} {c.misses:>9} {100 * c.hit_ratio:>6.1f} "
                f"{c.evictions:>9} {c.invalidations:>11}  {c.flushed_at}"
            )
    if report.replicas:
        lines.append("")
        lines.append("replicas (replica-urls; `plainsql stats --replica N` for their queries)")
        lines.append(f"{'replica':<12} {'target':<36} {'behind':>12} {'last replay':>12}  state")
        for r in report.replicas:
            behind = "" if r.behind_bytes is None else f"{r.behind_bytes:,} B"
            age = "" if r.last_replay_age_s is None else f"{r.last_replay_age_s:.1f} s"
            lines.append(f"{r.name:<12} {r.target:<36} {behind:>12} {age:>12}  {r.state}")
    return "\n".join(lines)
