"""The node keys after and before they were scoped to their workspace (main 7877ad2), side by side.

``after_and_before`` gives a workload two databases on the same server: its own (the schema as
migrated, "after") and a second clone of the same template whose ``nodes`` bench/nodes_before.sql
replaced by 7877ad2's ("before": keyed by ``uuid`` alone, ``parent_uuid -> nodes (uuid)``), so
the same service and the same SQL run on both shapes, in one run, on the same rows.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.harness import BENCH_DIR, BenchContext, ServerCPU
from plainsql import AsyncDatabase, load_async_queries, open_async_pool
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.content import ContentService

AFTER = "after"
BEFORE = "before"


@dataclass(frozen=True, slots=True)
class Shape:
    """One shape's database: a login-role connection, its server CPU monitor, a
    ContentService on a pool of its own, and the bench user's workspace."""

    name: str  # AFTER or BEFORE: the contenders' labels start with it
    context: BenchContext
    conn: psycopg.Connection[Any]
    server: ServerCPU
    service: ContentService
    workspace_id: int


def after_and_before(
    ctx: BenchContext, stack: ExitStack, runner: asyncio.Runner, user: str
) -> tuple[Shape, Shape]:
    """Both shapes, each with a workspace of ``user``'s (the same id on both, so node_rows
    computes the same rows); everything closed, and the clone dropped, as ``stack`` closes
    (``runner`` must outlive it: the pools close on it)."""
    before_ctx = stack.enter_context(ctx.another_database())
    services = AsyncExitStack()
    stack.callback(lambda: runner.run(services.aclose()))  # before the clone is dropped

    async def open_service(context: BenchContext) -> ContentService:
        # Open before any clock, as an application's pool is.
        pool = await services.enter_async_context(open_async_pool(context.settings))
        db = AsyncDatabase(pool, context.settings)
        return ContentService(db, AsyncTypedQueries(load_async_queries(context.settings.sql_dir)))

    shapes = []
    for name, context in ((AFTER, ctx), (BEFORE, before_ctx)):
        conn = stack.enter_context(psycopg.connect(context.conninfo, autocommit=True))
        if name == BEFORE:
            with conn.transaction():  # the clone's nodes is empty: dropped and created again
                conn.execute((BENCH_DIR / "nodes_before.sql").read_text())
        server = ServerCPU(context.conninfo)
        stack.callback(server.close)
        service = runner.run(open_service(context))
        shapes.append(Shape(name, context, conn, server, service, _workspace(conn, user)))
    after, before = shapes
    assert after.workspace_id == before.workspace_id
    return after, before


def _workspace(conn: psycopg.Connection[Any], user: str) -> int:
    conn.execute(
        "INSERT INTO users (id, name, email) VALUES (%s, 'Bench', 'bench@example.com')", (user,)
    )
    found = conn.execute(
        "INSERT INTO workspaces (user_id, slug, name) VALUES (%s, 'bench', 'Bench') RETURNING id",
        (user,),
    ).fetchone()
    assert found is not None
    return int(found[0])
