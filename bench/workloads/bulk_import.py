"""Bulk import of 100,000 nodes: plainsql's import, 1,000-row VALUES batches, server COPY, and
the import's floor; after and before the node keys were scoped to their workspace.

All load the same 100,000 rows (1,000 pages, each with 33 blocks of 2 children) into
``nodes`` with all its indexes (the primary key, the parent index, the pages' unique name
and slug indexes, the page-name index, the full-text GIN, the backlinks GIN), both foreign
keys and its row-level security, into one workspace emptied before each run (its rows
deleted and vacuumed away):

- plainsql: ``ContentService.import_content`` acting as the workspace's user (the application's
  role, bound by the policies), from the parsed pages (ids computed inside), on a pool opened
  before the clock starts: chunks COPYed into a staging table and moved with INSERT ... SELECT;
- raw psycopg: multi-row ``INSERT ... VALUES`` in 1,000-row batches (9,000 parameters each),
  one transaction, rows computed before the clock starts (as the login role);
- server-side COPY from a file the server reads itself (written under /tmp, mode 0644), as the
  login role, which no policy binds (COPY FROM is refused to a role the policies bind);
- the floor of the import's way: its INSERT ... SELECT alone, from a staging table filled
  before the clock starts, as the application's role: what moving the rows costs with no
  transport at all. The import's bound: at most 1.10x its floor.

plainsql's import and the floor also run "before": on a second clone of the template whose
nodes is main 7877ad2's (bench/nodes_before.sql: keyed by uuid alone, parent_uuid -> nodes
(uuid)), each beside its "after" twin. Five interleaved rounds, each contender's median of
wall time and of the server backends' CPU time (the machine is shared: wall time counts the
waits for a CPU), and the ratios import / floor and after / before.

A second figure loads the same rows into an unindexed table with no constraints: the cost
of getting rows to the server, which is what COPY changes, without the index maintenance
that every path pays alike.

A smoke run loads 2,000 nodes (20 pages) the same ways, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import psycopg
from psycopg import sql

from bench.harness import (
    BenchContext,
    Measurement,
    Ratio,
    Result,
    interleaved,
    measure,
)
from bench.node_content import COLUMNS, copy_from_file, empty, node_content
from bench.nodes_before import Shape, after_and_before
from reference_apps.services.content import NodeCopyRow, copy_binary

BATCH = 1_000
REPEATS = 5
BOUND = 1.10  # the import at most 1.10x its floor
USER = "bench-import"
# The columns' types, for the tables the rows are loaded into besides nodes.
NODE_SHAPE = (
    "(uuid uuid, workspace_id bigint, parent_uuid uuid, position integer, page_name text,"
    " slug text, title text, html text, metadata jsonb)"
)


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


def run(ctx: BenchContext) -> list[Result]:
    repeats = ctx.size(REPEATS, 1)
    # The stack closes first (pools, connections, the second clone), then the runner.
    with asyncio.Runner() as runner, ExitStack() as stack:
        after, before = after_and_before(ctx, stack, runner, USER)
        content = node_content(ctx, stack, after.workspace_id)
        pages, rows, nodes = content.pages, content.rows, content.nodes
        copy_file = content.copy_file
        conn = after.conn

        def timed(
            shape: Shape, label: str, table: str, load: Callable[[], None]
        ) -> Callable[[], Measurement]:
            def round_() -> Measurement:
                return _loaded(
                    shape.conn,
                    table,
                    nodes,
                    lambda: measure(label, nodes, load, server=shape.server),
                )

            return round_

        def through_plainsql(shape: Shape) -> Callable[[], Measurement]:
            def load() -> None:
                runner.run(
                    shape.service.import_content(shape.workspace_id, pages, acting_user_id=USER)
                )

            return timed(shape, f"{shape.name}: plainsql import_content (COPY)", "nodes", load)

        def floor(shape: Shape) -> Callable[[], Measurement]:
            label = f"{shape.name}: floor, INSERT ... SELECT from staging"
            return lambda: _loaded(
                shape.conn, "nodes", nodes, lambda: _staging_floor(shape, label, rows)
            )

        # Each after contender right beside its before twin: a burst of the machine's other
        # work is more likely to hit both alike.
        imported, imported_before, floored, floored_before, values, server_copy = interleaved(
            repeats,
            through_plainsql(after),
            through_plainsql(before),
            floor(after),
            floor(before),
            timed(
                after,
                f"after: raw INSERT VALUES, {BATCH:,}-row batches",
                "nodes",
                lambda: _values_batches(conn, "nodes", rows),
            ),
            timed(
                after,
                "after: server-side COPY FROM file",
                "nodes",
                lambda: copy_from_file(conn, "nodes", copy_file),
            ),
        )
        for shape in (after, before):
            empty(shape.conn, "nodes")
        bound = None if ctx.smoke else BOUND  # a smoke run's figures mean nothing

        conn.execute(f"CREATE TABLE bench_nodes_plain {NODE_SHAPE}")
        plain_copy, plain_values, plain_server = interleaved(
            repeats,
            timed(
                after,
                "COPY FROM STDIN",
                "bench_nodes_plain",
                lambda: _copy_stdin(conn, "bench_nodes_plain", rows),
            ),
            timed(
                after,
                f"raw INSERT VALUES, {BATCH:,}-row batches",
                "bench_nodes_plain",
                lambda: _values_batches(conn, "bench_nodes_plain", rows),
            ),
            timed(
                after,
                "server-side COPY FROM file",
                "bench_nodes_plain",
                lambda: copy_from_file(conn, "bench_nodes_plain", copy_file),
            ),
        )
        conn.execute("DROP TABLE bench_nodes_plain")
    return [
        Result(
            f"bulk import, {nodes:,} nodes into nodes (indexes, foreign keys, row-level security),"
            " after and before (7877ad2's keys)",
            "rows",
            imported,
            values,
            (server_copy, floored),
            ratios=(
                Ratio("after: import / floor", imported, floored, bound),
                Ratio("before: import / floor", imported_before, floored_before, bound),
                Ratio("after / before, plainsql's import", imported, imported_before),
                Ratio("after / before, floor", floored, floored_before),
            ),
            related=(imported_before, floored_before),
        ),
        Result(
            f"transport only, {nodes:,} rows into an unindexed table",
            "rows",
            plain_copy,
            plain_values,
            (plain_server,),
        ),
    ]


def _loaded(
    conn: psycopg.Connection[Any], table: str, nodes: int, load: Callable[[], Measurement]
) -> Measurement:
    """One round: an emptied table, the timed load, every row there."""
    empty(conn, table)
    result = load()
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    found = count.fetchone()
    assert found is not None
    assert found[0] == nodes, f"{result.label} loaded {found[0]} rows"
    return result


def _staging_floor(shape: Shape, label: str, rows: Sequence[NodeCopyRow]) -> Measurement:
    """The INSERT ... SELECT alone, from a staging table filled before the clock starts: what
    the import pays with no transport at all (as the application's role, as the import)."""
    conn = shape.conn
    with conn.transaction():
        for statement in shape.context.act_as(USER):
            conn.execute(statement)
        conn.execute(f"CREATE TEMPORARY TABLE bench_nodes_staged {NODE_SHAPE} ON COMMIT DROP")
        with conn.cursor().copy(
            f"COPY bench_nodes_staged ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(copy_binary(rows))
        server_before = shape.server.sample()
        cpu_started, started = time.process_time(), time.perf_counter()
        conn.execute(
            f"INSERT INTO nodes ({', '.join(COLUMNS)})"
            f" SELECT {', '.join(COLUMNS)} FROM bench_nodes_staged"
        )
    elapsed = time.perf_counter() - started  # the commit included, as for the others
    cpu = time.process_time() - cpu_started
    server_cpu = shape.server.seconds(server_before, shape.server.sample())
    return Measurement(label, elapsed, len(rows), 0, cpu, server_cpu_seconds=server_cpu)
