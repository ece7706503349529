"""base.WorkerQueue: what every work queue promises (claims, leases, bounded attempts, each item
completed exactly once), on real concurrency, for each queue: the video summaries'
(VideoWorkerQueue, migration 0052) and the meetings' (MeetingWorkerQueue, migration
20261207042941_meeting_worker). What one queue alone does is tested in test_video_worker.py and
test_meeting_worker.py.

Workers run as the worker role (reference_worker) with no acting user, through the queue's own
grants; the application role cannot execute them (test_row_level_security.py, WORKER_PATHS).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries

from ..fixtures import MeetingQueue, QueueItem, QueueUnderTest, VideoQueue

Conn = psycopg.Connection[tuple[Any, ...]]
Queue = type[QueueUnderTest[Any]]
Start = Callable[..., QueueUnderTest[Any]]


@pytest.fixture(params=[VideoQueue, MeetingQueue], ids=["videos", "meetings"])
def kind(request: pytest.FixtureRequest) -> Queue:
    """The queue under test, each in turn."""
    queue: Queue = request.param
    return queue


@pytest.fixture
def start(kind: Queue, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> Start:
    """``start("worker-1", lease_seconds=1)``: a worker of the queue under test."""

    def worker(name: str, **settings: int) -> QueueUnderTest[Any]:
        return kind(plainsql_async_db, typed_queries, name, **settings)

    return worker


async def test_four_workers_drain_the_queue_completing_each_item_exactly_once(
    users: None, plainsql_conn: Conn, kind: Queue, start: Start
) -> None:
    count, batch_size = kind.drain
    ids = kind.add(plainsql_conn, count)
    completions: Counter[str] = Counter()
    claims: Counter[str] = Counter()
    completed_by: dict[str, str] = {}
    expected: dict[str, QueueItem] = {}

    async def work(name: str) -> None:
        q = start(name)
        while batch := await q.claim(batch_size=batch_size):
            for claim in batch:
                claims[claim.id] += 1
                await asyncio.sleep(0)  # let the other workers in between claim and report
                if await q.complete(claim, name):
                    completions[claim.id] += 1
                    completed_by[claim.id] = name
                    expected[claim.id] = QueueItem(
                        "completed", 1, None, False, q.result(claim, name), True
                    )
                assert not await q.complete(claim, name)  # reported twice: the second is a no-op

    await asyncio.gather(*(work(f"worker-{n}") for n in range(4)))

    assert set(completions) == set(ids)
    assert set(completions.values()) == {1}
    assert set(claims.values()) == {1}  # no lease ran out: nothing was claimed twice
    assert len(set(completed_by.values())) > 1  # the workers did share the work
    assert kind.items(plainsql_conn, ids) == expected


async def test_a_killed_worker_s_lease_runs_out_and_its_item_completes_once(
    users: None, plainsql_conn: Conn, kind: Queue, start: Start
) -> None:
    (item_id,) = kind.add(plainsql_conn, 1)
    claimed = asyncio.Event()
    taken: list[Any] = []

    async def doomed_worker() -> None:
        taken.extend(await start("doomed", lease_seconds=1).claim())
        claimed.set()
        await asyncio.Event().wait()  # "works" until killed, never reports

    doomed = asyncio.create_task(doomed_worker())
    await claimed.wait()
    doomed.cancel()  # killed after its claim committed
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert [c.id for c in taken] == [item_id]
    assert kind.item(plainsql_conn, item_id)[:2] == ("processing", 1)
    assert await start("eager").claim() == []  # leased

    survivor = start("survivor")
    retaken: list[Any] = []
    for _ in range(300):  # until the one-second lease has run out
        if retaken := await survivor.claim():
            break
        await asyncio.sleep(0.05)
    assert [c.id for c in retaken] == [item_id]
    assert retaken[0].processing_attempts == 2
    assert await survivor.complete(retaken[0], "survivor")
    # the killed worker's claim, reported late, changes nothing: completed exactly once
    late = start("doomed")
    assert not await late.complete(taken[0], "doomed")
    assert await late.fail(taken[0], "late failure") is None
    assert kind.item(plainsql_conn, item_id) == QueueItem(
        "completed", 2, None, False, survivor.result(retaken[0], "survivor"), True
    )


async def test_while_the_lease_runs_nobody_else_claims_the_item(
    users: None, plainsql_conn: Conn, kind: Queue, start: Start
) -> None:
    kind.add(plainsql_conn, 2)
    first = await start("a").claim(batch_size=1)
    second = await start("b").claim(batch_size=5)
    third = await start("c").claim(batch_size=5)
    assert len(first) == len(second) == 1
    assert first[0].id != second[0].id
    assert third == []


async def test_a_failing_item_keeps_its_reason_is_retried_then_given_up(
    users: None, plainsql_conn: Conn, kind: Queue, start: Start
) -> None:
    (item_id,) = kind.add(plainsql_conn, 1)
    q = start("w", max_attempts=2)
    (claim,) = await q.claim()

    assert await q.fail(claim, "transcript unavailable") == (1, False)

    assert kind.item(plainsql_conn, item_id) == QueueItem(
        kind.retry_status, 1, "transcript unavailable", False, None, True
    )
    (claim,) = await q.claim()
    assert claim.processing_attempts == 2

    assert await q.fail(claim, "model timed out") == (2, True)

    assert kind.item(plainsql_conn, item_id) == QueueItem(
        kind.given_up_status, 2, "model timed out", True, None, True
    )
    assert await q.claim() == []  # bounded: never claimed again
    assert not await q.complete(claim, "w")  # nor completed by the claim that failed it


async def test_a_lease_running_out_on_the_last_attempt_gives_the_item_up(
    users: None, plainsql_conn: Conn, kind: Queue, start: Start
) -> None:
    (item_id,) = kind.add(plainsql_conn, 1)
    q = start("dies", max_attempts=1, lease_seconds=1)
    assert len(await q.claim()) == 1
    for _ in range(300):  # until the lease has run out and a claim gave the item up
        assert await q.claim() == []
        if kind.item(plainsql_conn, item_id).given_up:
            break
        await asyncio.sleep(0.05)
    assert kind.item(plainsql_conn, item_id) == QueueItem(
        kind.given_up_status, 1, "lease of dies ran out after attempt 1", True, None, True
    )


async def test_the_worker_acts_for_no_user_and_sees_no_row_outside_its_paths(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    kind: Queue,
    start: Start,
) -> None:
    kind.add(plainsql_conn, 3)
    assert len(await start("w").claim()) == 3
    async with plainsql_async_db.transaction() as unit:  # the worker's units: no acting user
        cursor = await unit.execute(f"SELECT count(*) FROM {kind.table}")
        assert await cursor.fetchone() == (0,)


@pytest.mark.parametrize("path", ["claim", "complete", "fail"])
async def test_without_its_grant_the_worker_is_refused(
    users: None, plainsql_conn: Conn, kind: Queue, start: Start, path: str
) -> None:
    (item_id,) = kind.add(plainsql_conn, 1)
    q = start("w")
    (claim,) = await q.claim()
    plainsql_conn.execute(f"REVOKE EXECUTE ON FUNCTION {kind.paths[path]} FROM reference_worker")
    plainsql_conn.commit()
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "claim": lambda: q.claim(),
        "complete": lambda: q.complete(claim, "w"),
        "fail": lambda: q.fail(claim, "x"),
    }
    with pytest.raises(PermissionDenied):
        await calls[path]()
    assert kind.item(plainsql_conn, item_id)[:2] == ("processing", 1)


@pytest.mark.parametrize(
    ("settings", "batch_size", "named"),
    [
        ({"lease_seconds": 0}, 10, "lease_seconds"),
        ({"max_attempts": 0}, 10, "max_attempts"),
        ({}, 0, "batch_size"),
        ({}, 101, "batch_size"),
    ],
)
async def test_out_of_bounds_settings_are_refused_before_the_database_is_asked(
    start: Start, settings: dict[str, int], batch_size: int, named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        await start("w", **settings).claim(batch_size)
