"""W5: 8 workers doing a point select, one checkout per call, with an acting user on each call.

plainsql: ``Database.transaction(acting_user=...)`` (sync, 8 threads) and
``AsyncDatabase.transaction(acting_user=...)`` (async, 8 tasks) over plainsql's pool, the
query through its aiosql function building a frozen record (bench/records.py); the base: a
default psycopg pool of the same size (``ConnectionPool(conninfo, min_size=8, max_size=8)``),
``with pool.connection()``, the same SELECT, tuple rows. Both make three round trips per call:
psycopg's BEGIN, the SELECT, COMMIT; plainsql's ``BEGIN ISOLATION LEVEL READ COMMITTED; SET
LOCAL ROLE <transaction-role>; SET LOCAL <acting user>`` (the role when ``transaction-role``
is set, as the reference project sets it), the SELECT, COMMIT.

The sync run adds plainsql with ``name-statements = false`` (the queries' SQL without the name
comment): the name's cost, bound at 1.03x the client CPU per call without it.

Seven interleaved rounds, each contender's median (the 8 threads share one GIL: single rounds
spread by ±20% on this machine). A smoke run makes 40 calls per worker, twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from bench.harness import (
    BENCH_DIR,
    BenchContext,
    Measurement,
    Result,
    interleaved,
    measure,
    measure_async,
)
from bench.points import (
    CALLS_PER_WORKER,
    REPEATS,
    WORKERS,
    base_worker,
    create_points,
    in_tasks,
    in_threads,
    point_ids,
)
from bench.records import RECORD_CLASSES
from plainsql import (
    AsyncDatabase,
    Database,
    load_async_queries,
    load_queries,
    open_async_pool,
    open_pool,
)

SMOKE_CALLS = 40
SQL = "SELECT id, label, value FROM bench_points_w5 WHERE id = %(point_id)s"


def run(ctx: BenchContext) -> list[Result]:
    calls = ctx.size(CALLS_PER_WORKER, SMOKE_CALLS)
    total = calls * WORKERS
    repeats = ctx.size(REPEATS, 2)
    # plainsql's units act as the application's role, when one is set
    create_points(ctx.conninfo, "bench_points_w5", reader=ctx.settings.transaction_role)
    settings = replace(ctx.settings, pool_min_size=WORKERS, pool_max_size=WORKERS)
    sync_queries = load_queries(BENCH_DIR / "sql", RECORD_CLASSES, settings=settings)
    unnamed_queries = load_queries(
        BENCH_DIR / "sql", RECORD_CLASSES, settings=replace(settings, name_statements=False)
    )
    async_queries = load_async_queries(BENCH_DIR / "sql", RECORD_CLASSES, settings=settings)
    results = []

    with (
        open_pool(settings, name="plainsql-w5") as pool,
        ConnectionPool(ctx.conninfo, min_size=WORKERS, max_size=WORKERS, open=True) as base,
    ):
        db = Database(pool, settings)
        # The same units without the role switch (issue 13's W5: acting user only): a
        # ``SET LOCAL ROLE`` costs the server about 10 µs per unit.
        db_no_role = Database(pool, replace(settings, transaction_role=None))
        base.wait()

        def plain_worker(w: int) -> None:
            for point_id in point_ids(w, calls):
                with db.transaction(acting_user=f"user-{w}") as conn:
                    sync_queries.get_bench_w5_point_by_id(conn, point_id=point_id)

        def no_role_worker(w: int) -> None:
            for point_id in point_ids(w, calls):
                with db_no_role.transaction(acting_user=f"user-{w}") as conn:
                    sync_queries.get_bench_w5_point_by_id(conn, point_id=point_id)

        def unnamed_worker(w: int) -> None:
            for point_id in point_ids(w, calls):
                with db.transaction(acting_user=f"user-{w}") as conn:
                    unnamed_queries.get_bench_w5_point_by_id(conn, point_id=point_id)

        raw_worker = base_worker(base, SQL, calls)
        in_threads(raw_worker)  # warm-up: every connection has prepared its statements
        in_threads(plain_worker)
        in_threads(unnamed_worker)
        plain, raw, no_role, unnamed = interleaved(
            repeats,
            lambda: measure("plainsql, 8 threads", total, lambda: in_threads(plain_worker)),
            lambda: measure(
                "default psycopg pool, 8 threads", total, lambda: in_threads(raw_worker)
            ),
            lambda: measure(
                "plainsql, 8 threads, no role switch", total, lambda: in_threads(no_role_worker)
            ),
            lambda: measure(
                "plainsql, 8 threads, name-statements off",
                total,
                lambda: in_threads(unnamed_worker),
            ),
        )
        results.append(
            _throughput_result("W5 pool throughput, sync", total, plain, raw, (no_role, unnamed))
        )

    async def async_measure(label: str, use_plainsql: bool) -> Measurement:
        """One timed round of 8 tasks, on pools opened (and warmed up) for it."""
        async with (
            open_async_pool(settings, name="plainsql-w5a") as apool,
            AsyncConnectionPool(
                ctx.conninfo, min_size=WORKERS, max_size=WORKERS, open=False
            ) as abase,
        ):
            await abase.wait()
            adb = AsyncDatabase(apool, settings)

            async def plain_task(w: int) -> None:
                for point_id in point_ids(w, calls):
                    async with adb.transaction(acting_user=f"user-{w}") as conn:
                        await async_queries.get_bench_w5_point_by_id(conn, point_id=point_id)

            async def base_task(w: int) -> None:
                for point_id in point_ids(w, calls):
                    async with abase.connection() as conn:
                        cursor = await conn.execute(SQL, {"point_id": point_id})
                        await cursor.fetchone()

            task = plain_task if use_plainsql else base_task
            await in_tasks(task)  # warm-up
            return await measure_async(label, total, lambda: in_tasks(task))

    aplain, araw = interleaved(
        repeats,
        lambda: asyncio.run(async_measure("plainsql, 8 tasks", True)),
        lambda: asyncio.run(async_measure("psycopg pool, 8 tasks", False)),
    )
    results.append(_throughput_result("W5 pool throughput, async", total, aplain, araw))
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_points_w5")
    return results


def _throughput_result(
    title: str,
    total: int,
    plain: Measurement,
    raw: Measurement,
    others: tuple[Measurement, ...] = (),
) -> Result:
    return Result(f"{title} ({total:,} calls, {WORKERS} workers)", "calls", plain, raw, others)
