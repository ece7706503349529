"""Replica reads: 8 workers reading, on the primary alone and on the primary plus one standby.

A primary and a streaming standby of it are made for the run (``plainsql.testing.
streaming_pair``: embedded servers of their own, the standby by ``pg_basebackup -R``); a table
of 1,000 points is written on the primary and replayed on the standby. Each call is a unit of
one typed query marked ``-- plainsql: replica-safe``, ``db.unit().run(q.get_..._by_id, ...)``:

- plainsql, primary alone: ``Database(pool, settings)`` (no replicas): the unit runs READ ONLY
  on the primary;
- plainsql, primary + standby: ``Database(pool, settings, replicas=...)``: the same call, routed
  to the standby (the scope check, the choice of a replica, its pool), with the monitor
  threads polling both servers every 100 ms in the background (their CPU is counted too);
- the base: a default psycopg pool of the same size on the primary, the same SELECT, tuple
  rows (psycopg's BEGIN, the SELECT, COMMIT: three round trips, as the units make).

The point is client CPU per call (the 2 cores also run both servers, so the calls per second
say little): routing must cost at most 1.05x the client CPU per call of the primary alone.
Sync (8 threads) and async (8 tasks); seven interleaved rounds, each contender's median. A
smoke run makes 30 calls per worker, twice (the pair is still built: about 15 s).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from bench.harness import (
    BENCH_DIR,
    BenchContext,
    Measurement,
    Result,
    interleaved,
    interleaved_async,
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
    open_async_replicas,
    open_pool,
    open_replicas,
)
from plainsql.testing import streaming_pair

SMOKE_CALLS = 30
SQL = "SELECT id, label, value FROM bench_points_replica WHERE id = %(point_id)s"


def run(ctx: BenchContext) -> list[Result]:
    calls = ctx.size(CALLS_PER_WORKER, SMOKE_CALLS)
    total = calls * WORKERS
    repeats = ctx.size(REPEATS, 2)
    with streaming_pair(dbname="bench_replicas") as servers:
        create_points(servers.primary_url, "bench_points_replica")
        _replayed(servers.standby_url)
        settings = replace(
            ctx.settings,
            database_url=servers.primary_url,
            replica_urls=(servers.standby_url,),
            transaction_role=None,  # the pair has none of the project's roles
            pool_min_size=WORKERS,
            pool_max_size=WORKERS,
        )
        return [
            _sync(settings, servers.primary_url, calls, total, repeats),
            _async(settings, calls, total, repeats),
        ]


def _replayed(standby_url: str) -> None:
    deadline = time.monotonic() + 60
    with psycopg.connect(standby_url, autocommit=True) as conn:
        while conn.execute("SELECT to_regclass('bench_points_replica')").fetchone() == (None,):
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not replay the bench table within 60 s")
            time.sleep(0.05)


def _serving(replicas: Any) -> None:
    deadline = time.monotonic() + 60
    while not all(stats.serving for stats in replicas.statistics()):
        if time.monotonic() > deadline:
            raise RuntimeError("the standby did not serve reads within 60 s")
        time.sleep(0.05)


def _sync(settings: Any, primary_url: str, calls: int, total: int, repeats: int) -> Result:
    q = load_queries(BENCH_DIR / "sql", RECORD_CLASSES, settings=settings)
    get = q.get_bench_replica_point_by_id
    with (
        open_pool(settings, name="plainsql-replica-reads") as pool,
        open_replicas(settings) as replicas,
        ConnectionPool(primary_url, min_size=WORKERS, max_size=WORKERS, open=True) as base,
    ):
        _serving(replicas)
        alone, routed = Database(pool, settings), Database(pool, settings, replicas=replicas)

        def alone_worker(w: int) -> None:
            for point_id in point_ids(w, calls):
                alone.unit().run(get, point_id=point_id)

        def routed_worker(w: int) -> None:
            for point_id in point_ids(w, calls):
                routed.unit().run(get, point_id=point_id)

        raw_worker = base_worker(base, SQL, calls)
        for worker in (raw_worker, alone_worker, routed_worker):  # warm-up: statements prepared
            in_threads(worker)
        on_standby = replicas.statistics()[0].reads
        with_standby, raw, primary_alone = interleaved(
            repeats,
            lambda: measure(
                "plainsql, primary + standby, 8 threads", total, lambda: in_threads(routed_worker)
            ),
            lambda: measure(
                "default psycopg pool, primary, 8 threads", total, lambda: in_threads(raw_worker)
            ),
            lambda: measure(
                "plainsql, primary alone, 8 threads", total, lambda: in_threads(alone_worker)
            ),
        )
        served = replicas.statistics()[0].reads - on_standby
    title = (
        f"replica reads, sync ({total:,} calls, {WORKERS} workers; the standby served "
        f"{served:,} of the {total * repeats:,} routed calls)"
    )
    return Result(title, "calls", with_standby, raw, (primary_alone,))


def _async(settings: Any, calls: int, total: int, repeats: int) -> Result:
    q = load_async_queries(BENCH_DIR / "sql", RECORD_CLASSES, settings=settings)
    get = q.get_bench_replica_point_by_id

    async def rounds() -> tuple[Measurement, ...]:
        async with (
            open_async_pool(settings, name="plainsql-replica-reads-a") as pool,
            open_async_replicas(settings) as replicas,
        ):
            _serving(replicas)
            alone = AsyncDatabase(pool, settings)
            routed = AsyncDatabase(pool, settings, replicas=replicas)

            async def one_round(label: str, db: AsyncDatabase) -> Measurement:
                async def task(w: int) -> None:
                    for point_id in point_ids(w, calls):
                        await db.unit().run(get, point_id=point_id)

                return await measure_async(label, total, lambda: in_tasks(task))

            await one_round("warm-up", alone)
            await one_round("warm-up", routed)
            return await interleaved_async(
                repeats,
                lambda: one_round("plainsql, primary + standby, 8 tasks", routed),
                lambda: one_round("plainsql, primary alone, 8 tasks", alone),
            )

    with_standby, primary_alone = asyncio.run(rounds())
    return Result(
        f"replica reads, async ({total:,} calls, {WORKERS} workers)",
        "calls",
        with_standby,
        primary_alone,
    )
