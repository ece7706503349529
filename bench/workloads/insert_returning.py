"""W2: insert returning, 10,000 calls on one connection, each its own statement (autocommit):
a typed query function (``insert_bench_event``, a frozen record back) against raw psycopg
with tuple rows, the same statement, both (auto-)prepared. A smoke run makes 300 calls.
"""

from __future__ import annotations

import psycopg

from bench.harness import BENCH_DIR, BenchContext, Result, interleaved, measure
from bench.records import RECORD_CLASSES
from plainsql import load_queries

CALLS = 10_000
SMOKE_CALLS = 300
ROUNDS = 7
SQL = (
    "INSERT INTO bench_events (label, amount) VALUES (%(label)s, %(amount)s)"
    " RETURNING id, label, amount, created_at"
)


def run(ctx: BenchContext) -> list[Result]:
    calls = ctx.size(CALLS, SMOKE_CALLS)
    queries = load_queries(BENCH_DIR / "sql", RECORD_CLASSES)
    insert_event = queries.insert_bench_event
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " label text NOT NULL, amount integer NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )

        def through_plainsql() -> None:
            for i in range(calls):
                insert_event(conn, label="typed", amount=i)

        def through_psycopg() -> None:
            for i in range(calls):
                row = conn.execute(SQL, {"label": "raw", "amount": i}).fetchone()
                assert row is not None

        through_psycopg()  # warm-up
        through_plainsql()
        plain, raw = interleaved(
            ctx.size(ROUNDS, 2),
            lambda: measure("plainsql typed insert_bench_event", calls, through_plainsql),
            lambda: measure("raw psycopg (tuple rows)", calls, through_psycopg),
        )
        inserted = conn.execute("SELECT count(*) FROM bench_events").fetchone()
        assert inserted is not None
        assert inserted[0] == calls * 2 * (ctx.size(ROUNDS, 2) + 1)
        conn.execute("DROP TABLE bench_events")
    return [Result(f"W2 insert returning ({calls:,} calls)", "calls", plain, raw)]
