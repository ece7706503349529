"""Deleting 100,000 nodes: the content import's first step, the parent key's cascade.

Every node a DELETE removes fires the parent foreign key's ON DELETE CASCADE, which runs
``DELETE FROM nodes WHERE <parent key> = <the node's key>`` once per removed node: the index
that serves the parent key decides the whole delete's time (with none leading with the key's
columns it took 140 s). The same 100,000 rows as the bulk import (1,000 pages of 100 nodes),
loaded by server-side COPY before each clock, in one workspace:

- plainsql: ``ContentService.import_content`` with no pages, acting as the workspace's user (the
  application's role, under row-level security): it locks the workspace and deletes its nodes;
- raw psycopg, as the login role (no policy): ``DELETE FROM nodes WHERE workspace_id = $1``;
- the pages only, as the login role: ``DELETE ... AND parent_uuid IS NULL``, 1,000 rows, the
  99,000 blocks removed by the cascade alone.

Three interleaved rounds, each contender's median. A smoke run deletes 2,000 nodes, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

import psycopg

from bench.harness import BenchContext, Measurement, Result, interleaved, measure
from bench.workloads.bulk_import import (
    NODES_PER_PAGE,
    PAGES,
    SMOKE_PAGES,
    _content,
    _copy_file,
    _write_copy_file,
)
from plainsql import AsyncDatabase, load_async_queries, open_async_pool
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.content import ContentService, node_rows

REPEATS = 3


def run(ctx: BenchContext) -> list[Result]:
    pages = _content(ctx.size(PAGES, SMOKE_PAGES))
    nodes = len(pages) * NODES_PER_PAGE
    repeats = ctx.size(REPEATS, 1)
    runner = asyncio.Runner()
    services = AsyncExitStack()
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, email)"
            " VALUES ('bench-delete', 'Bench', 'bench@example.com')"
        )
        found = conn.execute(
            "INSERT INTO workspaces (user_id, slug, name) VALUES ('bench-delete', 'bench', 'Bench')"
            " RETURNING id"
        ).fetchone()
        assert found is not None
        ws: int = found[0]
        copy_file = _write_copy_file(list(node_rows(ws, pages)))

        def count() -> int:
            row = conn.execute("SELECT count(*) FROM nodes WHERE workspace_id = %s", (ws,))
            value = row.fetchone()
            assert value is not None
            return int(value[0])

        def loaded(label: str, delete: Callable[[], None]) -> Callable[[], Measurement]:
            """One round: the workspace's 100,000 nodes loaded and analyzed, the timed delete,
            no node left."""

            def round_() -> Measurement:
                conn.execute("DELETE FROM nodes")
                conn.execute("VACUUM nodes")
                # Loaded with the foreign-key triggers off (the rows are node_rows', consistent
                # by construction): a setup step, outside the clock, whose own 100,000 key
                # checks are not what is measured. ANALYZE then gives the deletes' cascade
                # queries the statistics a filled table has.
                conn.execute("SET session_replication_role = replica")
                try:
                    _copy_file(conn, "nodes", copy_file)
                finally:
                    conn.execute("RESET session_replication_role")
                conn.execute("ANALYZE nodes")
                assert count() == nodes
                result = measure(label, nodes, delete)
                assert count() == 0, f"{label} left nodes behind"
                return result

            return round_

        async def open_service() -> ContentService:
            pool = await services.enter_async_context(open_async_pool(ctx.settings))
            db = AsyncDatabase(pool, ctx.settings)
            return ContentService(db, AsyncTypedQueries(load_async_queries(ctx.settings.sql_dir)))

        def through_plainsql() -> None:
            runner.run(service.import_content(ws, [], acting_user_id="bench-delete"))

        def raw(statement: str) -> Callable[[], None]:
            def delete() -> None:
                with conn.transaction():
                    conn.execute(statement, (ws,))

            return delete

        try:
            service = runner.run(open_service())
            through, everything, pages_only = interleaved(
                repeats,
                loaded("plainsql ContentService.import_content([]) (delete)", through_plainsql),
                loaded(
                    "raw DELETE FROM nodes WHERE workspace_id = $1",
                    raw("DELETE FROM nodes WHERE workspace_id = %s"),
                ),
                loaded(
                    "raw DELETE of the pages only (blocks by the cascade)",
                    raw("DELETE FROM nodes WHERE workspace_id = %s AND parent_uuid IS NULL"),
                ),
            )
        finally:
            copy_file.unlink()
            runner.run(services.aclose())
            runner.close()
    return [
        Result(
            f"delete {nodes:,} nodes (each one's parent-key cascade)",
            "rows",
            through,
            everything,
            (pages_only,),
        )
    ]
