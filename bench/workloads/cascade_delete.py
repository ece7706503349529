"""Deleting 100,000 nodes: the content import's first step, the parent key's cascade, before and
after the node keys were scoped to their workspace.

Every node a DELETE removes fires the parent foreign key's ON DELETE CASCADE, which runs
``DELETE FROM nodes WHERE <parent key> = <the node's key>`` once per removed node: the index
that serves the parent key decides the whole delete's time (with none leading with the key's
columns it took 140 s). The same 100,000 rows as the bulk import (1,000 pages of 100 nodes),
loaded by server-side COPY before each clock, in one workspace, on two databases cloned from
the same template:

- after: the schema as migrated, keys (workspace_id, uuid) and (workspace_id, parent_uuid) ->
  nodes (workspace_id, uuid), served by (workspace_id, parent_uuid, position);
- before: the same database with nodes as it was at main 7877ad2 (bench/nodes_before.sql):
  keyed by uuid alone, parent_uuid -> nodes (uuid), served by (parent_uuid, position).

On each, three ways:

- plainsql: ``ContentService.import_content`` with no pages, acting as the workspace's user (the
  application's role, under row-level security): it locks the workspace and deletes its nodes;
- raw psycopg, as the login role (no policy): ``DELETE FROM nodes WHERE workspace_id = $1``;
- the pages only, as the login role: ``DELETE ... AND parent_uuid IS NULL``, 1,000 rows, the
  99,000 blocks removed by the cascade alone.

Five interleaved rounds (each after contender beside its before twin), each contender's median
of wall time and of the server backends' CPU time, and the ratios after / before against the
bound, at most 1.10x (the machine is shared: wall time counts the waits for a CPU, CPU time
does not). A smoke run deletes 2,000 nodes, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import ExitStack

from bench.harness import (
    BenchContext,
    Measurement,
    Ratio,
    Result,
    interleaved,
    measure,
)
from bench.node_content import Content, copy_from_file, empty, node_content, triggers_off
from bench.nodes_before import Shape, after_and_before

REPEATS = 5
BOUND = 1.10  # the delete after the change at most 1.10x the delete before it
USER = "bench-delete"


def run(ctx: BenchContext) -> list[Result]:
    repeats = ctx.size(REPEATS, 1)
    # The stack closes first (pools, connections, the second clone), then the runner.
    with asyncio.Runner() as runner, ExitStack() as stack:
        after, before = after_and_before(ctx, stack, runner, USER)
        content = node_content(ctx, stack, after.workspace_id)
        nodes = content.nodes

        def contender(
            shape: Shape, label: str, delete: Callable[[Shape], None]
        ) -> Callable[[], Measurement]:
            return lambda: _round(shape, f"{shape.name}: {label}", content, delete)

        def through_plainsql(shape: Shape) -> None:
            runner.run(shape.service.import_content(shape.workspace_id, [], acting_user_id=USER))

        def raw(statement: str) -> Callable[[Shape], None]:
            def delete(shape: Shape) -> None:
                with shape.conn.transaction():
                    shape.conn.execute(statement, (shape.workspace_id,))

            return delete

        ways: list[tuple[str, Callable[[Shape], None]]] = [
            ("plainsql import_content([]) (its delete)", through_plainsql),
            (
                "raw DELETE WHERE workspace_id = $1",
                raw("DELETE FROM nodes WHERE workspace_id = %s"),
            ),
            (
                "raw DELETE of the pages only (cascade)",
                raw("DELETE FROM nodes WHERE workspace_id = %s AND parent_uuid IS NULL"),
            ),
        ]
        # Each after contender right beside its before twin: a burst of the machine's other
        # work is more likely to hit both alike.
        figures = interleaved(
            repeats,
            *(contender(shape, label, way) for label, way in ways for shape in (after, before)),
        )
    service_after, service_before, raw_after, raw_before, pages_after, pages_before = figures
    bound = None if ctx.smoke else BOUND  # a smoke run's figures mean nothing
    return [
        Result(
            f"delete {nodes:,} nodes (each one's parent-key cascade),"
            " after and before (7877ad2's keys)",
            "rows",
            service_after,
            raw_after,
            (pages_after,),
            ratios=(
                Ratio("after / before, plainsql's delete", service_after, service_before, bound),
                Ratio("after / before, raw DELETE", raw_after, raw_before, bound),
                Ratio("after / before, pages only (cascade)", pages_after, pages_before, bound),
            ),
            related=(service_before, raw_before, pages_before),
        )
    ]


def _round(
    shape: Shape, label: str, content: Content, delete: Callable[[Shape], None]
) -> Measurement:
    """One round: the workspace's nodes loaded and analyzed, the timed delete, no node left."""
    conn = shape.conn
    empty(conn, "nodes")
    # Loaded with the foreign-key triggers off (the rows are node_rows', consistent by
    # construction): a setup step, outside the clock, whose own 100,000 key checks are not
    # what is measured. ANALYZE then gives the deletes' cascade queries the statistics a
    # filled table has.
    with triggers_off(conn):
        copy_from_file(conn, "nodes", content.copy_file)
    conn.execute("ANALYZE nodes")
    assert _count(shape) == content.nodes
    result = measure(label, content.nodes, lambda: delete(shape), server=shape.server)
    assert _count(shape) == 0, f"{label} left nodes behind"
    return result


def _count(shape: Shape) -> int:
    row = shape.conn.execute(
        "SELECT count(*) FROM nodes WHERE workspace_id = %s", (shape.workspace_id,)
    ).fetchone()
    assert row is not None
    return int(row[0])
