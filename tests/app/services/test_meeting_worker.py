"""MeetingWorkerQueue: what the meeting worker's queue (migration
20261207042941_meeting_worker) does that the video queue does not: its meetings have owners who
move them by hand too. What every work queue does is tested for both in test_worker_queue.py."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.meetings import IllegalMeetingTransition, MeetingsService

from ..fixtures import ALICE, BOB, MeetingQueue, QueueItem, add_meetings

Conn = psycopg.Connection[tuple[Any, ...]]


async def test_only_meetings_in_processing_are_claimed(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    ids = add_meetings(plainsql_conn, 3)
    others = [
        *add_meetings(plainsql_conn, 5, "upcoming"),
        *add_meetings(plainsql_conn, 5, "active"),
    ]
    q = MeetingQueue(plainsql_async_db, typed_queries, "w")
    claimed = []
    while batch := await q.claim(batch_size=100):
        claimed += [claim.id for claim in batch]
        for claim in batch:
            assert await q.complete(claim, "w")
    assert sorted(claimed) == sorted(ids)
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
    q = MeetingQueue(plainsql_async_db, typed_queries, "w")
    (claim,) = await q.claim()
    assert (claim.id, claim.user_id, claim.processing_attempts) == (meeting_id, BOB, 1)

    assert await q.complete(claim, "w")

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
    q = MeetingQueue(plainsql_async_db, typed_queries, "w")
    (claim,) = await q.claim()
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    await meetings.complete_meeting(meeting_id, "by hand", acting_user_id=BOB)

    assert not await q.complete(claim, "w")
    assert await q.fail(claim, "too late") is None
    assert MeetingQueue.item(plainsql_conn, meeting_id)[:5] == (
        "completed", 1, None, False, (None, None, "by hand"),
    )  # fmt: skip


async def test_a_meeting_the_queue_gave_up_stays_in_processing_for_its_owner_to_complete(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (meeting_id,) = add_meetings(plainsql_conn, 1)
    q = MeetingQueue(plainsql_async_db, typed_queries, "w", max_attempts=1)
    (claim,) = await q.claim()
    assert await q.fail(claim, "recording corrupt") == (1, True)
    assert MeetingQueue.item(plainsql_conn, meeting_id) == QueueItem(
        "processing", 1, "recording corrupt", True, None, True
    )
    # Its owner still can, by hand.
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    done = await meetings.complete_meeting(meeting_id, "written by hand", acting_user_id=BOB)
    assert done.status == "completed"


async def test_the_application_role_cannot_write_the_worker_s_columns(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
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
