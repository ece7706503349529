"""Point select by primary key, 20,000 calls: plainsql's query function against raw psycopg.

A smoke run makes 500 calls, twice each.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bench.harness import BENCH_DIR, BenchContext, Result, interleaved, measure
from plainsql.queries import load_queries

CALLS = 20_000
SMOKE_CALLS = 500
ROWS = 1_000
REPEATS = 3


def run(ctx: BenchContext) -> list[Result]:
    calls = ctx.size(CALLS, SMOKE_CALLS)
    queries = load_queries(BENCH_DIR / "sql")
    get_point = queries.get_bench_point_by_id
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_points (id integer PRIMARY KEY, label text NOT NULL, value float8)"
        )
        conn.execute(
            "INSERT INTO bench_points SELECT g, 'point ' || g, g * 0.5"
            " FROM generate_series(1, %s) g",
            (ROWS,),
        )

        def through_plainsql() -> None:
            for i in range(calls):
                get_point(conn, point_id=i % ROWS + 1)

        def through_psycopg() -> None:
            sql = "SELECT id, label, value FROM bench_points WHERE id = %(point_id)s"
            for i in range(calls):
                with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
                    cur.execute(sql, {"point_id": i % ROWS + 1})
                    row: Any = cur.fetchone()
                    assert row is not None

        through_psycopg()  # warm-up: server-side prepared statements, caches
        plain, raw = interleaved(
            ctx.size(REPEATS, 2),
            lambda: measure("plainsql get_bench_point_by_id", calls, through_plainsql),
            lambda: measure("raw psycopg (dict rows)", calls, through_psycopg),
        )
        conn.execute("DROP TABLE bench_points")
    return [Result(f"point select by primary key ({calls:,} calls)", "calls", plain, raw)]
