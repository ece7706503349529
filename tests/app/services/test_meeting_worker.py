"""MeetingWorkerQueue: the meeting worker's queue (migration 20261207042941_meeting_worker), on
real concurrency.

Workers run as the worker role (reference_worker) with no acting user, through the queue's own
grants; the application role cannot execute them (test_row_level_security.py, WORKER_PATHS).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.meeting_worker import ClaimedMeeting, MeetingWorkerQueue
from reference_apps.services.meetings import IllegalMeetingTransition, MeetingsService

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]


def add_meetings(conn: Conn, count: int, status: str = "processing") -> list[str]:
    """``count`` meetings of ``status``, alternately Alice's and Bob's (each with an agent of
    theirs), ended one second apart; their ids."""
    conn.execute(
        "INSERT INTO agents (id, user_id, name, instructions)"
        " SELECT 'agent-' || u, u, 'Notetaker', 'take notes' FROM unnest(%s::text[]) AS u"
        " ON CONFLICT (id) DO NOTHING",
        ([ALICE, BOB],),
    )
    rows = conn.execute(
        "INSERT INTO meetings (id, user_id, agent_id, name, status, started_at, ended_at)"
        " SELECT %(prefix)s || lpad(i::text, 4, '0'), u, 'agent-' || u, 'Meeting ' || i,"
        "  %(status)s::meeting_status,"
        "  CASE WHEN %(status)s <> 'upcoming' THEN now() - make_interval(secs => 2 * %(n)s - i)"
        "  END,"
        "  CASE WHEN %(status)s = 'processing' THEN now() - make_interval(secs => %(n)s - i) END"
        " FROM generate_series(1, %(n)s) AS i,"
        "  LATERAL (SELECT CASE WHEN i %% 2 = 0 THEN %(alice)s ELSE %(bob)s END AS u) AS owner"
        " RETURNING id",
        {"prefix": status[:3] + "-", "status": status, "n": count, "alice": ALICE, "bob": BOB},
    ).fetchall()
    conn.commit()
    return [r[0] for r in rows]


def meeting_state(conn: Conn, meeting_id: str) -> tuple[Any, ...]:
    """status, attempts, error, given up, transcript, recording, summary, claim cleared."""
    row = conn.execute(
        "SELECT status::text, processing_attempts, processing_error,"
        " processing_failed_at IS NOT NULL, transcript_url, recording_url, summary,"
        " claim_token IS NULL AND claimed_until IS NULL AND claimed_by IS NULL"
        " FROM meetings WHERE id = %s",
        (meeting_id,),
    ).fetchone()
    conn.commit()
    assert row is not None
    return tuple(row)


def queue(db: AsyncDatabase, q: AsyncTypedQueries, name: str, **kw: int) -> MeetingWorkerQueue:
    return MeetingWorkerQueue(db, q, name, **kw)


async def complete(q: MeetingWorkerQueue, claim: ClaimedMeeting, by: str) -> bool:
    return await q.complete(
        claim,
        transcript_url=f"https://cdn.example/{claim.id}.vtt",
        recording_url=f"https://cdn.example/{claim.id}.mp4",
        summary=f"summary of {claim.name} by {by}",
    )


async def test_four_workers_complete_200_processing_meetings_each_exactly_once(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    ids = add_meetings(plainsql_conn, 200)
    others = [
        *add_meetings(plainsql_conn, 5, "upcoming"),
        *add_meetings(plainsql_conn, 5, "active"),
    ]
    completions: Counter[str] = Counter()
    claims: Counter[str] = Counter()
    completed_by: dict[str, str] = {}

    async def work(name: str) -> None:
        q = queue(plainsql_async_db, typed_queries, name)
        while batch := await q.claim(batch_size=7):
            for claim in batch:
                claims[claim.id] += 1
                await asyncio.sleep(0)  # let the other workers in between claim and report
                if await complete(q, claim, name):
                    completions[claim.id] += 1
                    completed_by[claim.id] = name
                assert not await complete(q, claim, name)  # reported twice: the second is a no-op

    await asyncio.gather(*(work(f"worker-{n}") for n in range(4)))

    assert set(completions) == set(ids)
    assert set(completions.values()) == {1}
    assert set(claims.values()) == {1}  # no lease ran out: nothing was claimed twice
    assert len(set(completed_by.values())) > 1  # the workers did share the work
    done = plainsql_conn.execute(
        "SELECT status::text, processing_attempts, count(*),"
        " count(*) FILTER (WHERE summary LIKE 'summary of %% by worker-%%'"
        "  AND transcript_url = 'https://cdn.example/' || id || '.vtt'"
        "  AND recording_url = 'https://cdn.example/' || id || '.mp4')"
        " FROM meetings WHERE id = any(%s)"
        "  AND claim_token IS NULL AND claimed_until IS NULL AND processing_error IS NULL"
        " GROUP BY 1, 2",
        (ids,),
    ).fetchall()
    assert done == [("completed", 1, 200, 200)]
    untouched = plainsql_conn.execute(
        "SELECT status::text, processing_attempts FROM meetings WHERE id = any(%s)", (others,)
    ).fetchall()
    assert sorted(untouched) == [("active", 0)] * 5 + [("upcoming", 0)] * 5


async def test_the_owner_sees_what_the_worker_completed_and_cannot_complete_it_again(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (meeting_id,) = add_meetings(plainsql_conn, 1)  # Bob's
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    q = queue(plainsql_async_db, typed_queries, "w")
    (claim,) = await q.claim()
    assert (claim.id, claim.user_id, claim.processing_attempts) == (meeting_id, BOB, 1)

    assert await complete(q, claim, "w")

    seen = await meetings.get_meeting(meeting_id, acting_user_id=BOB)
    assert seen is not None
    assert (seen.status, seen.summary, seen.transcript_url) == (
        "completed",
        "summary of Meeting 1 by w",
        f"https://cdn.example/{meeting_id}.vtt",
    )
    with pytest.raises(IllegalMeetingTransition):
        await meetings.complete_meeting(meeting_id, "by hand", acting_user_id=BOB)
    assert await meetings.get_meeting(meeting_id, acting_user_id=ALICE) is None


async def test_an_owner_who_completed_the_meeting_by_hand_wins_over_the_worker(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (meeting_id,) = add_meetings(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "w")
    (claim,) = await q.claim()
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    await meetings.complete_meeting(meeting_id, "by hand", acting_user_id=BOB)

    assert not await complete(q, claim, "w")
    assert await q.fail(claim, "too late") is None
    assert meeting_state(plainsql_conn, meeting_id)[:7] == (
        "completed", 1, None, False, None, None, "by hand",
    )  # fmt: skip


async def test_a_killed_worker_s_lease_runs_out_and_its_meeting_completes(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (meeting_id,) = add_meetings(plainsql_conn, 1)
    claimed = asyncio.Event()
    taken: list[ClaimedMeeting] = []

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
    assert [c.id for c in taken] == [meeting_id]
    assert await queue(plainsql_async_db, typed_queries, "eager").claim() == []  # leased

    survivor = queue(plainsql_async_db, typed_queries, "survivor")
    retaken: list[ClaimedMeeting] = []
    for _ in range(300):  # until the one-second lease has run out
        if retaken := await survivor.claim():
            break
        await asyncio.sleep(0.05)
    assert [c.id for c in retaken] == [meeting_id]
    assert retaken[0].processing_attempts == 2
    assert await complete(survivor, retaken[0], "survivor")
    # the killed worker's claim, reported late, changes nothing: completed exactly once
    assert not await complete(survivor, taken[0], "doomed")
    assert await survivor.fail(taken[0], "late failure") is None
    state = meeting_state(plainsql_conn, meeting_id)
    assert state[:4] == ("completed", 2, None, False)
    assert state[6:] == ("summary of Meeting 1 by survivor", True)


async def test_a_failing_meeting_keeps_its_reason_is_retried_then_given_up(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (meeting_id,) = add_meetings(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "w", max_attempts=2)
    (claim,) = await q.claim()

    first = await q.fail(claim, "transcript not ready")

    assert first is not None
    assert (first.processing_attempts, first.processing_failed_at) == (1, None)
    assert meeting_state(plainsql_conn, meeting_id) == (
        "processing", 1, "transcript not ready", False, None, None, None, True,
    )  # fmt: skip
    (claim,) = await q.claim()
    assert claim.processing_attempts == 2

    last = await q.fail(claim, "recording corrupt")

    assert last is not None
    assert last.processing_attempts == 2
    assert last.processing_failed_at is not None
    assert meeting_state(plainsql_conn, meeting_id) == (
        "processing", 2, "recording corrupt", True, None, None, None, True,
    )  # fmt: skip
    assert await q.claim() == []  # given up: never claimed again
    assert not await complete(q, claim, "w")  # nor completed by the claim that failed it
    # Its owner still can, by hand.
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    done = await meetings.complete_meeting(meeting_id, "written by hand", acting_user_id=BOB)
    assert done.status == "completed"


async def test_a_lease_running_out_on_the_last_attempt_gives_the_meeting_up(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (meeting_id,) = add_meetings(plainsql_conn, 1)
    q = queue(plainsql_async_db, typed_queries, "dies", max_attempts=1, lease_seconds=1)
    assert len(await q.claim()) == 1
    for _ in range(300):  # until the lease has run out and a claim gave the meeting up
        assert await q.claim() == []
        if meeting_state(plainsql_conn, meeting_id)[3]:
            break
        await asyncio.sleep(0.05)
    assert meeting_state(plainsql_conn, meeting_id) == (
        "processing", 1, "lease of dies ran out after attempt 1", True, None, None, None, True,
    )  # fmt: skip


async def test_the_application_role_cannot_write_the_worker_s_columns(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    """Bob may write his own meeting's name and lifecycle, never its claim, attempts or failure
    (a user resetting processing_attempts would lift the bound on retries)."""
    (meeting_id,) = add_meetings(plainsql_conn, 1)
    for column, value in (
        ("processing_attempts", "0"),
        ("processing_failed_at", "NULL"),
        ("processing_error", "NULL"),
        ("claim_token", "gen_random_uuid()"),
        ("claimed_until", "NULL"),
        ("claimed_by", "'me'"),
    ):
        with pytest.raises(PermissionDenied):
            async with plainsql_async_db.transaction(acting_user=BOB) as unit:
                await unit.execute(
                    f"UPDATE meetings SET {column} = {value} WHERE id = %s", (meeting_id,)
                )
    async with plainsql_async_db.transaction(acting_user=BOB) as unit:
        cursor = await unit.execute(
            "UPDATE meetings SET name = 'Renamed' WHERE id = %s", (meeting_id,)
        )
        assert cursor.rowcount == 1


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
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    settings: dict[str, int],
    batch_size: int,
    named: str,
) -> None:
    with pytest.raises(InvalidInput, match=named):
        await queue(plainsql_async_db, typed_queries, "w", **settings).claim(batch_size)
