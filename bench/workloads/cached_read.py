"""Cached point read: a hit of the query cache against the same read uncached, beside raw
psycopg, 5,000 calls a round each, one async connection, acting as a user (row-level security
on).

Every contender reads the same users row by primary key as its own user, the way a service
reads (``db.unit(acting_user=u, read_only=True).run(query, ...)``):

- plainsql, cached (``-- plainsql: cache ttl=10min``, bench/sql_cache/users.sql), every call
  a hit: the unit finds the kept result before it takes a connection, so no round trip;
- plainsql, the same SQL uncached: a read-only unit, three round trips (``BEGIN ... READ ONLY;
  SET LOCAL ROLE ...; SET LOCAL <acting user>``, the SELECT, ``COMMIT``);
- raw psycopg, the same three round trips by hand on one connection (the base);
- raw psycopg, the SELECT alone in autocommit (one round trip, no role, no acting user): the
  floor of any read that goes to the server.

The figure that matters is the client CPU per call (and the time, which for a hit is the
client alone). Five interleaved rounds, each contender's median; a smoke run makes 500 calls.
"""

from __future__ import annotations

import asyncio

import psycopg
from psycopg import sql

from bench.harness import (
    BENCH_DIR,
    BenchContext,
    Measurement,
    Result,
    interleaved_async,
    measure_async,
)
from plainsql import AsyncDatabase, load_async_queries, open_async_cache, open_async_pool

CALLS = 5_000
SMOKE_CALLS = 500
ROUNDS = 5
USER = "bench-cache"
SQL = "SELECT id, name, email, created_at FROM users WHERE id = %(user_id)s AND deleted_at IS NULL"


def run(ctx: BenchContext) -> list[Result]:
    calls = ctx.size(CALLS, SMOKE_CALLS)
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, 'Cache', 'cache@bench.invalid')",
            (USER,),
        )
    settings = ctx.settings
    queries = load_async_queries(BENCH_DIR / "sql_cache", settings=settings)
    with psycopg.connect(ctx.conninfo) as conn:  # the unit's BEGIN, rendered once
        begin = (
            sql.SQL("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY; {}")
            .format(sql.SQL("; ").join(ctx.act_as(USER)))
            .as_string(conn)
        )

    async def compare() -> tuple[Measurement, ...]:
        async with (
            open_async_pool(settings) as pool,
            open_async_cache(AsyncDatabase(pool, settings), queries) as cache,
            await psycopg.AsyncConnection.connect(ctx.conninfo, autocommit=True) as raw,
        ):
            unit = AsyncDatabase(pool, settings).unit(acting_user=USER, read_only=True)
            cached, uncached = queries.get_user_cached, queries.get_user

            async def through_cache() -> None:
                for _ in range(calls):
                    assert (await unit.run(cached, user_id=USER)) is not None

            async def through_unit() -> None:
                for _ in range(calls):
                    assert (await unit.run(uncached, user_id=USER)) is not None

            async def raw_unit() -> None:
                for _ in range(calls):
                    await raw.execute(begin)
                    cur = await raw.execute(SQL, {"user_id": USER})
                    assert await cur.fetchone() is not None
                    await raw.execute("COMMIT")

            async def raw_select() -> None:
                for _ in range(calls):
                    cur = await raw.execute(SQL, {"user_id": USER})
                    assert await cur.fetchone() is not None

            for warm_up in (through_cache, through_unit, raw_unit, raw_select):
                await warm_up()
            figures = await interleaved_async(
                ctx.size(ROUNDS, 2),
                lambda: measure_async("plainsql unit, cached (a hit)", calls, through_cache),
                lambda: measure_async("raw psycopg unit (3 round trips)", calls, raw_unit),
                lambda: measure_async("plainsql unit, uncached", calls, through_unit),
                lambda: measure_async("raw psycopg SELECT alone (autocommit)", calls, raw_select),
            )
            counts = cache.stats()["get_user_cached"]
            assert counts.misses == 1, counts  # the first call: every other one was a hit
            return figures

    hit, raw_unit_figure, uncached_figure, floor = asyncio.run(compare())
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (USER,))
    title = f"cached point read, acting as a user ({calls:,} calls)"
    return [Result(title, "calls", hit, raw_unit_figure, (uncached_figure, floor))]
