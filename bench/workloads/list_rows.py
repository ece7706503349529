"""Fetch 100,000 rows in one query: time and peak Python memory, plainsql against raw psycopg.

A smoke run fetches 5,000 rows, twice each.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.harness import BENCH_DIR, BenchContext, Result, interleaved, measure
from plainsql import load_queries

ROWS = 100_000
SMOKE_ROWS = 5_000
REPEATS = 5


def run(ctx: BenchContext) -> list[Result]:
    rows_wanted = ctx.size(ROWS, SMOKE_ROWS)
    queries = load_queries(BENCH_DIR / "sql")
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_points (id integer PRIMARY KEY, label text NOT NULL, value float8)"
        )
        conn.execute(
            "INSERT INTO bench_points SELECT g, 'point ' || g, g * 0.5"
            " FROM generate_series(1, %s) g",
            (rows_wanted,),
        )

        def through_plainsql() -> None:
            rows = queries.list_bench_points(conn)
            assert len(rows) == rows_wanted

        def through_psycopg() -> None:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute("SELECT id, label, value FROM bench_points ORDER BY id")
                rows: list[dict[str, Any]] = cur.fetchall()
            assert len(rows) == rows_wanted

        through_psycopg()
        timed_plain, timed_raw = interleaved(
            ctx.size(REPEATS, 2),
            lambda: measure("plainsql list_bench_points", rows_wanted, through_plainsql),
            lambda: measure("raw psycopg fetchall (dict rows)", rows_wanted, through_psycopg),
        )
        memory_plain = measure(
            "plainsql (traced memory)", rows_wanted, through_plainsql, memory=True
        )
        memory_raw = measure(
            "raw psycopg (traced memory)", rows_wanted, through_psycopg, memory=True
        )
        conn.execute("DROP TABLE bench_points")
    return [
        Result(f"list {rows_wanted:,} rows, time", "rows", timed_plain, timed_raw),
        Result(f"list {rows_wanted:,} rows, peak memory", "rows", memory_plain, memory_raw),
    ]
