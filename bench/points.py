"""What the point-read workloads with 8 workers share (W5 pool_throughput, replica_reads).

A table of 1,000 points, the ids each worker reads (a run of its own, wrapping round the
table), the workers run as threads or as tasks, and the base they are compared against: a
default psycopg pool's connection per call, the same SELECT, tuple rows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

WORKERS = 8
CALLS_PER_WORKER = 1_500
ROWS = 1_000
REPEATS = 7


def create_points(conninfo: str, table: str, *, reader: str | None = None) -> None:
    """``table`` (id, label, value) with ``ROWS`` points; ``reader`` (a role) may SELECT it."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (id integer PRIMARY KEY, label text NOT NULL, value float8)"
            ).format(sql.Identifier(table))
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {} SELECT g, 'point ' || g, g * 0.5 FROM generate_series(1, %s) g"
            ).format(sql.Identifier(table)),
            (ROWS,),
        )
        if reader:
            conn.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(
                    sql.Identifier(table), sql.Identifier(reader)
                )
            )


def point_ids(worker: int, calls: int) -> list[int]:
    """The ``calls`` point ids ``worker`` reads, computed before its loop."""
    return [(worker * calls + i) % ROWS + 1 for i in range(calls)]


def in_threads(work: Callable[[int], object]) -> None:
    """``work(w)`` for every worker ``w``, each in a thread of its own; back when all are done."""
    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def in_tasks(work: Callable[[int], Awaitable[object]]) -> None:
    """``work(w)`` for every worker ``w``, each in a task of its own; back when all are done."""
    await asyncio.gather(*(work(w) for w in range(WORKERS)))


def base_worker(pool: ConnectionPool, statement: str, calls: int) -> Callable[[int], None]:
    """The base's worker: ``statement`` for each of its points, a connection of ``pool`` per
    call (autocommit off: psycopg's BEGIN, the SELECT, COMMIT), the row fetched as a tuple."""

    def work(w: int) -> None:
        for point_id in point_ids(w, calls):
            with pool.connection() as conn:
                conn.execute(statement, {"point_id": point_id}).fetchone()

    return work
