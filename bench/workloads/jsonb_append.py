"""Atomic JSONB append, 5,000 phase appends: plainsql's service and query against raw psycopg.

Every append is its own transaction running ONE ``UPDATE agent_states SET phases = phases ||
...`` (the statement in sql/projects/agent_states.sql), spread round-robin over 50 projects so
that the figure is the per-call cost rather than the rewriting of one ever-growing document.
Four ways, same database, same statement, each from an emptied, vacuumed table:

- plainsql service: ``AgentStatesService.append_phase`` over plainsql's async pool (a pool
  checkout with its health check, a transaction, the query function, a record back);
- plainsql typed query function: ``AsyncTypedQueries(queries).projects.
  update_agent_state_append_phase`` (what the service calls) on one async connection, in a
  transaction per append;
- plainsql query function: the aiosql function ``queries.projects.
  update_agent_state_append_phase`` it wraps, the same way;
- raw psycopg: the same SQL text with ``%(name)s`` placeholders on one async connection, in a
  transaction per append.

A smoke run makes 200 appends each way (after 50 to warm up) instead of 5,000 (after 500).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from bench.harness import BenchContext, Measurement, Result, measure, median_of
from plainsql import AsyncDatabase, Queries, load_async_queries, open_async_pool
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.agent_states import AgentStatesService

APPENDS = 5_000
SMOKE_APPENDS = 200
WARM_UP = 500
SMOKE_WARM_UP = 50
ROUNDS = 3
PROJECTS = 50
USER = "bench-user"

RAW_APPEND = """
UPDATE agent_states AS s
SET phases = s.phases || jsonb_build_array(%(phase)s::jsonb)
FROM projects AS p
WHERE p.id = s.project_id AND s.project_id = %(project_id)s AND p.user_id = %(user_id)s
RETURNING jsonb_array_length(s.phases) AS phase_count
"""


def _phase(i: int) -> dict[str, Any]:
    return {"name": f"phase {i}", "description": "generate the files", "completed": False}


def _setup(conninfo: str) -> list[UUID]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, 'Bench', 'bench@example.com')",
            (USER,),
        )
        rows = conn.execute(
            "INSERT INTO projects (user_id, name, description)"
            " SELECT %s, 'bench ' || g, '' FROM generate_series(1, %s) g RETURNING id",
            (USER, PROJECTS),
        ).fetchall()
        ids = [r[0] for r in rows]
        conn.execute("INSERT INTO agent_states (project_id) SELECT unnest(%s::uuid[])", (ids,))
    return ids


def _reset(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("UPDATE agent_states SET phases = '[]'")
        conn.execute("VACUUM agent_states")


def _check(conninfo: str, appends: int) -> None:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT sum(jsonb_array_length(phases)) FROM agent_states").fetchone()
    if row is None or row[0] != appends:
        raise RuntimeError(f"expected {appends} phases after a run, found {row}")


async def _through_service(
    ctx: BenchContext, queries: Queries, ids: list[UUID], appends: int
) -> None:
    async with open_async_pool(ctx.settings) as pool:
        service = AgentStatesService(AsyncDatabase(pool, ctx.settings), AsyncTypedQueries(queries))
        for i in range(appends):
            await service.append_phase(ids[i % PROJECTS], _phase(i), acting_user_id=USER)


async def _through_typed_query(
    ctx: BenchContext, queries: Queries, ids: list[UUID], appends: int
) -> None:
    append = AsyncTypedQueries(queries).projects.update_agent_state_append_phase
    async with await psycopg.AsyncConnection.connect(ctx.conninfo) as conn:
        for i in range(appends):
            async with conn.transaction():
                await append(conn, project_id=ids[i % PROJECTS], user_id=USER, phase=_phase(i))


async def _through_query(
    ctx: BenchContext, queries: Queries, ids: list[UUID], appends: int
) -> None:
    append = queries.projects.update_agent_state_append_phase
    async with await psycopg.AsyncConnection.connect(ctx.conninfo) as conn:
        for i in range(appends):
            async with conn.transaction():
                await append(
                    conn, project_id=ids[i % PROJECTS], user_id=USER, phase=Jsonb(_phase(i))
                )


async def _through_psycopg(ctx: BenchContext, ids: list[UUID], appends: int) -> None:
    async with await psycopg.AsyncConnection.connect(ctx.conninfo) as conn:
        for i in range(appends):
            async with conn.transaction():
                cur = conn.cursor(row_factory=psycopg.rows.dict_row)
                await cur.execute(
                    RAW_APPEND,
                    {"project_id": ids[i % PROJECTS], "user_id": USER, "phase": Jsonb(_phase(i))},
                )
                await cur.fetchone()


def run(ctx: BenchContext) -> list[Result]:
    appends = ctx.size(APPENDS, SMOKE_APPENDS)
    queries = load_async_queries(ctx.settings.sql_dir)
    ids = _setup(ctx.conninfo)

    def timed(label: str, work: Callable[[], Coroutine[Any, Any, None]]) -> Measurement:
        _reset(ctx.conninfo)
        result = measure(label, appends, lambda: asyncio.run(work()))
        _check(ctx.conninfo, appends)
        return result

    # Warm-up: server caches, the table's pages, the first TOAST chunks.
    asyncio.run(_through_psycopg(ctx, ids, ctx.size(WARM_UP, SMOKE_WARM_UP)))
    service_label = "plainsql AgentStatesService"
    typed_label = "plainsql typed query function"
    query_label = "plainsql query function"
    raw_label = "raw psycopg (same SQL)"
    ways: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        service_label: lambda: _through_service(ctx, queries, ids, appends),
        typed_label: lambda: _through_typed_query(ctx, queries, ids, appends),
        query_label: lambda: _through_query(ctx, queries, ids, appends),
        raw_label: lambda: _through_psycopg(ctx, ids, appends),
    }
    # Rounds run every way once, so a change in the machine's load hits all of them alike;
    # each way reports its median round, with the spread.
    rounds: dict[str, list[Measurement]] = {label: [] for label in ways}
    for _ in range(ctx.size(ROUNDS, 2)):
        for label, work in ways.items():
            rounds[label].append(timed(label, work))
    best = {label: median_of(runs) for label, runs in rounds.items()}
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (USER,))
    return [
        Result(
            f"atomic JSONB phase append ({appends:,} appends, one transaction each)",
            "appends",
            best[service_label],
            best[raw_label],
            others=(best[typed_label], best[query_label]),
        )
    ]
