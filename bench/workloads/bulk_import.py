"""Bulk import of 100,000 nodes: plainsql's import, 1,000-row VALUES batches, server COPY.

All load the same 100,000 rows (1,000 pages, each with 33 blocks of 2 children) into
``nodes`` with all its indexes (two btrees, the pages' unique index, the full-text GIN, the
backlinks GIN), both foreign keys and its row-level security, into one workspace emptied
before each run (its rows deleted and vacuumed away):

- plainsql: ``ContentService.import_content`` acting as the workspace's user (the application's
  role, bound by the policies), from the parsed pages (ids computed inside), on a pool opened
  before the clock starts: chunks COPYed into a staging table and moved with INSERT ... SELECT;
- raw psycopg: multi-row ``INSERT ... VALUES`` in 1,000-row batches (9,000 parameters each),
  one transaction, rows computed before the clock starts (as the login role);
- server-side COPY from a file the server reads itself (written under /tmp, mode 0644), as the
  login role, which no policy binds (COPY FROM is refused to a role the policies bind);
- the floor of the import's way: its INSERT ... SELECT alone, from a staging table filled
  before the clock starts, as the application's role: what moving the rows costs with no
  transport at all.

Five interleaved rounds, each contender's median.

A second figure loads the same rows into an unindexed table with no constraints: the cost
of getting rows to the server, which is what COPY changes, without the index maintenance
that every path pays alike.

A smoke run loads 2,000 nodes (20 pages) the same ways, once.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.harness import BenchContext, Measurement, Result, interleaved, measure
from plainsql import AsyncDatabase, load_async_queries, open_async_pool
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.content import (
    BlockInput,
    ContentService,
    NodeCopyRow,
    PageInput,
    copy_binary,
    node_rows,
)

PAGES = 1_000
SMOKE_PAGES = 20
BLOCKS_PER_PAGE = 33  # each with 2 children: 1 + 33 * 3 = 100 nodes a page
NODES_PER_PAGE = 1 + BLOCKS_PER_PAGE * 3
BATCH = 1_000
REPEATS = 5
COLUMNS = (
    *("uuid", "workspace_id", "parent_uuid", "position", "page_name", "slug", "title"),
    *("html", "metadata"),
)
# The columns' types, for the tables the rows are loaded into besides nodes.
NODE_SHAPE = (
    "(uuid uuid, workspace_id bigint, parent_uuid uuid, position integer, page_name text,"
    " slug text, title text, html text, metadata jsonb)"
)


def _content(pages: int) -> list[PageInput]:
    """Notes-like pages: short paragraphs, one block in five links another page."""

    def paragraph(p: int, b: int) -> str:
        text = f"<p>Note {b} on topic {p}: how the setup works, what to check and why."
        if b % 5 == 0:
            text += f' See <a data-page="topics/{(p * 7 + b) % pages}">topic {b}</a>.'
        return text + "</p>"

    return [
        PageInput(
            f"topics/{p}",
            f"Topic {p}",
            html=f"<p>Everything about topic {p}.</p>",
            metadata={"tags": ["topic", f"group-{p % 10}"]},
            blocks=[
                BlockInput(
                    paragraph(p, b),
                    children=[
                        BlockInput(f"<p>Detail {b}.1, a <em>short</em> remark.</p>"),
                        BlockInput(f"<p>Detail {b}.2 with <code>inline code</code>.</p>"),
                    ],
                )
                for b in range(BLOCKS_PER_PAGE)
            ],
        )
        for p in range(pages)
    ]


def _copy_text(value: object) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return text


def _values_batches(conn: psycopg.Connection[Any], table: str, rows: Sequence[NodeCopyRow]) -> None:
    """The source application's way: one multi-row INSERT per 1,000 rows, one transaction."""
    row_sql = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    with conn.transaction(), conn.cursor() as cur:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            statement = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES " + ", ".join(
                [row_sql] * len(batch)
            )
            cur.execute(statement, [value for row in batch for value in row])


def _copy_stdin(conn: psycopg.Connection[Any], table: str, rows: Sequence[NodeCopyRow]) -> None:
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _copy_file(conn: psycopg.Connection[Any], table: str, path: Path) -> None:
    statement = sql.SQL("COPY {} ({}) FROM {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.Literal(str(path)),
    )
    with conn.transaction():
        conn.execute(statement)


def _write_copy_file(rows: Sequence[NodeCopyRow]) -> Path:
    """The rows as a COPY text file the server process can read (it runs as another user)."""
    handle, name = tempfile.mkstemp(prefix="plainsql-bench-nodes-", suffix=".tsv", dir="/tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        for row in rows:
            out.write("\t".join(_copy_text(v) for v in row) + "\n")
    os.chmod(name, 0o644)
    return Path(name)


def run(ctx: BenchContext) -> list[Result]:
    pages = _content(ctx.size(PAGES, SMOKE_PAGES))
    nodes = len(pages) * NODES_PER_PAGE
    repeats = ctx.size(REPEATS, 1)
    runner = asyncio.Runner()
    services = AsyncExitStack()
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, email)"
            " VALUES ('bench-import', 'Bench', 'bench@example.com')"
        )
        workspace_id = conn.execute(
            "INSERT INTO workspaces (user_id, slug, name) VALUES ('bench-import', 'bench', 'Bench')"
            " RETURNING id"
        ).fetchone()
        assert workspace_id is not None
        ws: int = workspace_id[0]
        rows = list(node_rows(ws, pages))
        assert len(rows) == nodes
        copy_file = _write_copy_file(rows)

        def fresh(table: str) -> None:
            # Every row goes, so the parent key's per-row cascade (triggers) has nothing to
            # do: switched off for this setup step (a cascade planned in a session that had
            # seen the table nearly empty ran for minutes here, outside any clock).
            conn.execute("SET session_replication_role = replica")
            try:
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            finally:
                conn.execute("RESET session_replication_role")
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))

        def loaded(table: str, label: str, load: Callable[[], Measurement]) -> Measurement:
            """One round: an emptied table, the timed load, every row there."""
            fresh(table)
            result = load()
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            found = count.fetchone()
            assert found is not None
            assert found[0] == nodes, f"{label} loaded {found[0]} rows"
            return result

        def timed(label: str, table: str, load: Callable[[], None]) -> Callable[[], Measurement]:
            return lambda: loaded(table, label, lambda: measure(label, nodes, load))

        async def open_service() -> ContentService:
            # Open before the clock, as an application's pool is: the server-side COPY gets an
            # open connection too.
            pool = await services.enter_async_context(open_async_pool(ctx.settings))
            db = AsyncDatabase(pool, ctx.settings)
            return ContentService(db, AsyncTypedQueries(load_async_queries(ctx.settings.sql_dir)))

        def through_plainsql() -> None:
            runner.run(service.import_content(ws, pages, acting_user_id="bench-import"))

        def staging_floor() -> Measurement:
            """The INSERT ... SELECT alone, from a staging table filled before the clock starts:
            what the import pays with no transport at all."""
            label = "floor: INSERT ... SELECT from a filled staging table"
            with conn.transaction():
                for statement in ctx.act_as("bench-import"):
                    conn.execute(statement)
                conn.execute(
                    f"CREATE TEMPORARY TABLE bench_nodes_staged {NODE_SHAPE} ON COMMIT DROP"
                )
                with conn.cursor().copy(
                    f"COPY bench_nodes_staged ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.write(copy_binary(rows))
                cpu_started, started = time.process_time(), time.perf_counter()
                conn.execute(
                    f"INSERT INTO nodes ({', '.join(COLUMNS)})"
                    f" SELECT {', '.join(COLUMNS)} FROM bench_nodes_staged"
                )
            elapsed = time.perf_counter() - started  # the commit included, as for the others
            return Measurement(label, elapsed, nodes, 0, time.process_time() - cpu_started)

        try:
            service = runner.run(open_service())
            imported, values, server, floor = interleaved(
                repeats,
                timed("plainsql import_content (COPY)", "nodes", through_plainsql),
                timed(
                    f"raw INSERT VALUES, {BATCH:,}-row batches",
                    "nodes",
                    lambda: _values_batches(conn, "nodes", rows),
                ),
                timed(
                    "server-side COPY FROM file",
                    "nodes",
                    lambda: _copy_file(conn, "nodes", copy_file),
                ),
                lambda: loaded("nodes", "floor", staging_floor),
            )
            fresh("nodes")

            conn.execute(f"CREATE TABLE bench_nodes_plain {NODE_SHAPE}")
            plain_copy, plain_values, plain_server = interleaved(
                repeats,
                timed(
                    "COPY FROM STDIN",
                    "bench_nodes_plain",
                    lambda: _copy_stdin(conn, "bench_nodes_plain", rows),
                ),
                timed(
                    f"raw INSERT VALUES, {BATCH:,}-row batches",
                    "bench_nodes_plain",
                    lambda: _values_batches(conn, "bench_nodes_plain", rows),
                ),
                timed(
                    "server-side COPY FROM file",
                    "bench_nodes_plain",
                    lambda: _copy_file(conn, "bench_nodes_plain", copy_file),
                ),
            )
            conn.execute("DROP TABLE bench_nodes_plain")
        finally:
            copy_file.unlink()
            runner.run(services.aclose())
            runner.close()
    return [
        Result(
            f"bulk import, {nodes:,} nodes into nodes (indexes, foreign keys, row-level security)",
            "rows",
            imported,
            values,
            (server, floor),
        ),
        Result(
            f"transport only, {nodes:,} rows into an unindexed table",
            "rows",
            plain_copy,
            plain_values,
            (plain_server,),
        ),
    ]
