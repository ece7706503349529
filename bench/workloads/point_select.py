"""W1: point select by primary key, 20,000 calls on one connection: the application's typed
query function (``meetings.get_agent_by_id``, as typegen generated it, an ``AgentRow`` record
back) against raw psycopg with tuple rows, the same SQL, both on their (auto-)prepared
statement, on one async connection in autocommit (one round trip per call each).

The figure that matters is the client CPU per call: the server does the same work for both.
A third contender runs the same typed function loaded with ``name-statements = false``: the
name comment's cost (plainsql's bound: at most 1.03x the client CPU per call without it).
A smoke run makes 500 calls per round.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import psycopg

from bench.harness import BenchContext, Measurement, Result, interleaved_async, measure_async
from plainsql import load_async_queries
from reference_apps.db.queries import AsyncTypedQueries

CALLS = 20_000
SMOKE_CALLS = 500
AGENTS = 1_000
ROUNDS = 7
USER = "bench-w1"
SQL = (
    "SELECT id, name, user_id, instructions, created_at, updated_at\n"
    "FROM agents\nWHERE id = %(agent_id)s AND user_id = %(user_id)s"
)


def run(ctx: BenchContext) -> list[Result]:
    calls = ctx.size(CALLS, SMOKE_CALLS)
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, 'W1', 'w1@bench.invalid')", (USER,)
        )
        conn.execute(
            "INSERT INTO agents (user_id, name, instructions)"
            " SELECT %s, 'agent ' || g, 'be brief' FROM generate_series(1, %s) g",
            (USER, AGENTS),
        )
        ids: list[str] = [row[0] for row in conn.execute("SELECT id FROM agents ORDER BY id")]
    named = replace(ctx.settings, name_statements=True)
    unnamed = replace(ctx.settings, name_statements=False)
    get_agent = AsyncTypedQueries(
        load_async_queries(ctx.settings.sql_dir, settings=named)
    ).meetings.get_agent_by_id
    get_agent_unnamed = AsyncTypedQueries(
        load_async_queries(ctx.settings.sql_dir, settings=unnamed)
    ).meetings.get_agent_by_id

    async def compare() -> tuple[Measurement, ...]:
        async with await psycopg.AsyncConnection.connect(ctx.conninfo, autocommit=True) as conn:

            async def through_plainsql() -> None:
                for i in range(calls):
                    row = await get_agent(conn, agent_id=ids[i % AGENTS], user_id=USER)
                    assert row is not None

            async def through_plainsql_unnamed() -> None:
                for i in range(calls):
                    row = await get_agent_unnamed(conn, agent_id=ids[i % AGENTS], user_id=USER)
                    assert row is not None

            async def through_psycopg() -> None:
                for i in range(calls):
                    cur = await conn.execute(SQL, {"agent_id": ids[i % AGENTS], "user_id": USER})
                    assert await cur.fetchone() is not None

            await through_psycopg()  # warm-up: both statements prepared, caches filled
            await through_plainsql()
            await through_plainsql_unnamed()
            return await interleaved_async(
                ctx.size(ROUNDS, 2),
                lambda: measure_async(
                    "plainsql typed meetings.get_agent_by_id", calls, through_plainsql
                ),
                lambda: measure_async("raw psycopg (tuple rows)", calls, through_psycopg),
                lambda: measure_async(
                    "plainsql typed, name-statements off", calls, through_plainsql_unnamed
                ),
            )

    plain, raw, unnamed_figure = asyncio.run(compare())
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (USER,))
    title = f"W1 point select by primary key ({calls:,} calls)"
    return [Result(title, "calls", plain, raw, (unnamed_figure,))]
