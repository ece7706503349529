"""A batch of 1,000 project-file upserts in one unit of work: pipelined against one by one,
and beside raw psycopg's pipeline of the same statements.

All three run inside one transaction on one pooled connection (``AsyncDatabase.transaction``
for plainsql, ``conn.transaction()`` for raw psycopg), writing the same 1,000 paths of one
project each round:

- plainsql pipelined: the typed ``projects.upsert_project_file_batch`` (a ``*!`` query: its
  rows go through psycopg's ``executemany``, which pipelines them: one round trip);
- plainsql one by one: the typed ``projects.upsert_project_file`` called 1,000 times (a round
  trip each, the written row back each time);
- raw psycopg pipeline: ``async with conn.pipeline()`` around 1,000 ``cursor.execute`` calls
  of the same INSERT ... ON CONFLICT statement, in a transaction that acts as the application
  does (``SET LOCAL ROLE`` to ``transaction-role`` when one is configured, and the acting
  user), so the server checks the same row-level security policies for both.

Seven interleaved rounds, each contender's median. A smoke run writes 50 files, twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from uuid import UUID

import psycopg

from bench.harness import BenchContext, Measurement, Result, interleaved_async, measure_async
from plainsql import AsyncDatabase, load_async_queries, open_async_pool
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UpsertProjectFileBatchParams

FILES = 1_000
SMOKE_FILES = 50
ROUNDS = 7
USER = "bench-batch"
RAW_UPSERT = (
    "INSERT INTO project_files (project_id, path, content)\n"
    "SELECT p.id, %(path)s, %(content)s\n"
    "FROM projects AS p\n"
    "WHERE p.id = %(project_id)s AND p.user_id = %(user_id)s\n"
    "ON CONFLICT (project_id, path) DO UPDATE SET content = EXCLUDED.content"
)


def _setup(conninfo: str) -> UUID:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, 'Batch', 'batch@bench.invalid')",
            (USER,),
        )
        row = conn.execute(
            "INSERT INTO projects (user_id, name, description) VALUES (%s, 'batch', '')"
            " RETURNING id",
            (USER,),
        ).fetchone()
    assert row is not None
    project_id: UUID = row[0]
    return project_id


def run(ctx: BenchContext) -> list[Result]:
    files = ctx.size(FILES, SMOKE_FILES)
    project_id = _setup(ctx.conninfo)
    typed = AsyncTypedQueries(load_async_queries(ctx.settings.sql_dir))
    settings = replace(ctx.settings, pool_min_size=1, pool_max_size=1)

    def rows() -> list[UpsertProjectFileBatchParams]:
        return [
            {
                "project_id": project_id,
                "user_id": USER,
                "path": f"src/file_{i:04d}.py",
                "content": f"print({i})\n",
            }
            for i in range(files)
        ]

    act_as = ctx.act_as(USER)

    async def compare() -> tuple[Measurement, ...]:
        async with (
            open_async_pool(settings, name="plainsql-batch") as pool,
            await psycopg.AsyncConnection.connect(ctx.conninfo) as raw_conn,
        ):
            db = AsyncDatabase(pool, settings)

            async def pipelined() -> None:
                batch = rows()
                async with db.transaction(acting_user=USER) as conn:
                    written = await typed.projects.upsert_project_file_batch(conn, batch)
                assert written == files

            async def one_by_one() -> None:
                batch = rows()
                async with db.transaction(acting_user=USER) as conn:
                    for row in batch:
                        written = await typed.projects.upsert_project_file(conn, **row)
                        assert written is not None

            async def raw_pipeline() -> None:
                batch = rows()
                async with raw_conn.transaction(), raw_conn.pipeline():
                    cur = raw_conn.cursor()
                    for statement in act_as:
                        await cur.execute(statement)
                    for row in batch:
                        await cur.execute(RAW_UPSERT, dict(row))

            for work in (raw_pipeline, pipelined, one_by_one):  # warm-up, rows in place
                await work()
            return await interleaved_async(
                ctx.size(ROUNDS, 2),
                lambda: measure_async("plainsql pipelined (typed *! query)", files, pipelined),
                lambda: measure_async("raw psycopg pipeline", files, raw_pipeline),
                lambda: measure_async("plainsql one by one (typed <! query)", files, one_by_one),
            )

    plain, raw, single = asyncio.run(compare())
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (USER,))
    return [
        Result(
            f"batch of {files:,} project-file upserts in one transaction",
            "rows",
            plain,
            raw,
            others=(single,),
        )
    ]
