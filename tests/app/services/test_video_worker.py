"""VideoWorkerQueue: the summarising worker's queue (migration 0052), on real concurrency.

Workers run as the worker role (reference_worker) with no acting user, through the queue's own
grants; the application role cannot execute them (test_row_level_security.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import ProcessingStatus
from reference_apps.services.video_worker import ClaimedVideo, VideoWorkerQueue
from reference_apps.services.videos import VideosService

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]


def add_pending_videos(conn: Conn, count: int) -> list[str]:
    """``count`` pending videos, alternately Alice's and Bob's, one second apart; their ids."""
    rows = conn.execute(
        "INSERT INTO video_summaries (id, user_id, youtube_url, youtube_id, title, created_at)"
        " SELECT 'v' || lpad(i::text, 5, '0'), CASE WHEN i %% 2 = 0 THEN %s ELSE %s END,"
        " 'https://youtu.be/' || i, 'yt' || i, 'Video ' || i,"
        " now() - make_interval(secs => %s - i)"
        " FROM generate_series(1, %s) AS i RETURNING id",
        (ALICE, BOB, count, count),
    ).fetchall()
    conn.commit()
    return [r[0] for r in rows]


def video_state(conn: Conn, video_id: str) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT processing_status::text, processing_attempts, processing_error,"
        " ai_generated_content, claim_token IS NULL FROM video_summaries WHERE id = %s",
        (video_id,),
    ).fetchone()
    conn.commit()
    assert row is not None
    return tuple(row)


def queue(db: AsyncDatabase, q: AsyncTypedQueries, name: str, **kw: int) -> VideoWorkerQueue:
    return VideoWorkerQueue(db, q, name, **kw)


async def test_four_workers_drain_1000_pending_videos_completing_each_exactly_once(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    ids = add_pending_videos(plainsql_conn, 1000)
    completions: Counter[str] = Counter()
    claims: Counter[str] = Counter()

    async def work(name: str) -> None:
        q = queue(plainsql_async_db, typed_queries, name)
        while batch := await q.claim(batch_size=25):
            for claim in batch:
                claims[claim.id] += 1
                await asyncio.sleep(0)  # let the other workers in between claim and report
                if await q.complete(claim, {"summary": f"by {name}"}):
                    completions[claim.id] += 1

    await asyncio.gather(*(work(f"worker-{n}") for n in range(4)))

    assert set(completions) == set(ids)
    assert set(completions.values()) == {1}
    assert set(claims.values()) == {1}  # no lease ran out: nothing was claimed twice
    done = plainsql_conn.execute(
        "SELECT processing_status::text, processing_attempts, count(*) FROM video_summaries"
        " WHERE claim_token IS NULL AND claimed_until IS NULL"
        " GROUP BY 1, 2"
    ).fetchall()
    assert done == [("completed", 1, 1000)]


async def test_a_killed_worker_s_lease_runs_out_and_its_video_completes(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (video_id,) = add_pending_videos(plainsql_conn, 1)
    claimed = asyncio.Event()
    taken: list[ClaimedVideo] = []

    async def doomed_worker() -> None:
        taken.extend(
            await queue(plainsql_async_db, typed_queries, "doomed", lease_seconds=1).claim()
        )
        claimed.set()
        await asyncio.Event().wait()  # "works" until killed, never reports

    doomed = asyncio.create_task(doomed_worker())
    await claimed.wait()
    doomed.cancel()  # killed after its claim committed
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert [c.id for c in taken] == [video_id]
    assert video_state(plainsql_conn, video_id)[:2] == ("processing", 1)

    survivor = queue(plainsql_async_db, typed_queries, "survivor")
    retaken: list[ClaimedVideo] = []
    for _ in range(300):  # until the one-second lease has run out
        if retaken := await survivor.claim():
            break
        await asyncio.sleep(0.05)
    assert [c.id for c in retaken] == [video_id]
    assert retaken[0].processing_attempts == 2
    assert await survivor.complete(retaken[0], {"summary": "second try"})
    # the killed worker's claim, reported late, changes nothing: completed exactly once
    late = queue(plainsql_async_db, typed_queries, "doomed")
    assert not await late.complete(taken[0], {"summary": "late"})
    assert await late.fail(taken[0], "late failure") is None
    assert video_state(plainsql_conn, video_id) == (
        "completed",
        2,
        None,
        {"summary": "second try"},
        True,
    )


async def test_while_the_lease_runs_nobody_else_claims_the_video(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    add_pending_videos(plainsql_conn, 2)
    first = await queue(plainsql_async_db, typed_queries, "a").claim(batch_size=1)
    second = await queue(plainsql_async_db, typed_queries, "b").claim(batch_size=5)
    third = await queue(plainsql_async_db, typed_queries, "c").claim(batch_size=5)
    assert len(first) == len(second) == 1
    assert first[0].id != second[0].id
    assert third == []


async def test_a_failing_video_is_retried_with_its_error_kept_then_fails_for_good(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (video_id,) = add_pending_videos(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "w", max_attempts=2)
    (claim,) = await q.claim()
    assert await q.fail(claim, "transcript unavailable") == "pending"
    assert video_state(plainsql_conn, video_id) == (
        "pending",
        1,
        "transcript unavailable",
        None,
        True,
    )
    (claim,) = await q.claim()
    assert claim.processing_attempts == 2
    assert await q.fail(claim, "model timed out") == "failed"
    assert video_state(plainsql_conn, video_id) == ("failed", 2, "model timed out", None, True)
    assert await q.claim() == []  # bounded: never claimed again


async def test_a_user_retrying_a_failed_video_gives_it_its_attempts_back(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (video_id,) = add_pending_videos(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "w", max_attempts=1)
    (claim,) = await q.claim()
    assert await q.fail(claim, "boom") == "failed"
    user = plainsql_conn.execute(
        "SELECT user_id FROM video_summaries WHERE id = %s", (video_id,)
    ).fetchone()
    assert user is not None
    plainsql_conn.commit()
    await VideosService(plainsql_async_db, typed_queries).set_processing_status(
        video_id, ProcessingStatus.PENDING, acting_user_id=user[0]
    )
    (again,) = await q.claim()
    assert again.processing_attempts == 1
    assert await q.complete(again, {"summary": "ok"})
    assert not await q.complete(claim, {"summary": "stale"})  # the first claim stays dead
    assert video_state(plainsql_conn, video_id)[:2] == ("completed", 1)


async def test_a_lease_running_out_on_the_last_attempt_fails_the_video(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (video_id,) = add_pending_videos(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "dies", max_attempts=1, lease_seconds=1)
    assert len(await q.claim()) == 1
    for _ in range(300):  # until the lease has run out and a claim gave the video up
        assert await q.claim() == []
        if video_state(plainsql_conn, video_id)[0] == "failed":
            break
        await asyncio.sleep(0.05)
    status, attempts, error, _, cleared = video_state(plainsql_conn, video_id)
    assert (status, attempts, cleared) == ("failed", 1, True)
    assert error == "lease of dies ran out after attempt 1"


async def test_the_worker_acts_for_no_user_and_sees_no_row_outside_its_paths(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    add_pending_videos(plainsql_conn, 3)
    assert len(await queue(plainsql_async_db, typed_queries, "w").claim()) == 3
    async with plainsql_async_db.transaction() as unit:  # the worker's units: no acting user
        cursor = await unit.execute("SELECT count(*) FROM video_summaries")
        assert await cursor.fetchone() == (0,)


@pytest.mark.parametrize(
    "function",
    [
        "app_claim_videos(text, integer, integer, integer)",
        "app_complete_video(text, uuid, jsonb)",
        "app_fail_video(text, uuid, text, integer)",
    ],
)
async def test_without_its_grant_the_worker_is_refused(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    function: str,
) -> None:
    (video_id,) = add_pending_videos(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "w")
    (claim,) = await q.claim()
    plainsql_conn.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM reference_worker")
    plainsql_conn.commit()
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "app_claim_videos": lambda: q.claim(),
        "app_complete_video": lambda: q.complete(claim, {"summary": "x"}),
        "app_fail_video": lambda: q.fail(claim, "x"),
    }
    call = calls[function.split("(")[0]]
    with pytest.raises(PermissionDenied):
        await call()
    assert video_state(plainsql_conn, video_id)[:2] == ("processing", 1)
