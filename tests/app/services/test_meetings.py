"""AgentsService and MeetingsService: agents, meetings, the lifecycle, keyset pages."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase, Queries
from plainsql.errors import InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.agents import Agent, AgentNotFound, AgentsService
from reference_apps.services.meetings import (
    IllegalMeetingTransition,
    Meeting,
    MeetingListItem,
    MeetingNotFound,
    MeetingsService,
    MeetingStatus,
    MeetingWithAgent,
)

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]
URL_SAFE_21 = re.compile(r"^[A-Za-z0-9_-]{21}$")


@pytest.fixture
def agents(
    users: None,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> AgentsService:
    return AgentsService(plainsql_async_db, typed_queries)


@pytest.fixture
def meetings(
    users: None,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> MeetingsService:
    return MeetingsService(plainsql_async_db, typed_queries)


@pytest.fixture
async def agent(agents: AgentsService) -> Agent:
    return await agents.create_agent("Tutor", "Explain things simply.", acting_user_id=ALICE)


def with_agent(meeting: Meeting, agent_name: str) -> MeetingWithAgent:
    """``meeting`` as get_meeting and list_meetings show it: with its agent's name."""
    return MeetingWithAgent(**asdict(meeting), agent_name=agent_name)


def count(conn: Conn, sql: str, *params: Any) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


# -- agents -----------------------------------------------------------------------------


async def test_agents_get_21_character_url_safe_ids_from_the_database(
    agents: AgentsService,
) -> None:
    created = [
        await agents.create_agent(f"agent {i}", "be brief", acting_user_id=ALICE) for i in range(20)
    ]
    assert all(URL_SAFE_21.match(a.id) for a in created)
    assert len({a.id for a in created}) == 20


async def test_get_agent_is_scoped_by_user(agents: AgentsService, agent: Agent) -> None:
    assert await agents.get_agent(agent.id, acting_user_id=ALICE) == agent
    assert await agents.get_agent(agent.id, acting_user_id=BOB) is None
    assert await agents.get_agent("x" * 21, acting_user_id=ALICE) is None


async def test_list_agents_newest_first_with_meeting_counts(
    agents: AgentsService, meetings: MeetingsService, agent: Agent
) -> None:
    second = await agents.create_agent("Coach", "Motivate.", acting_user_id=ALICE)
    await agents.create_agent("Bob's", "x", acting_user_id=BOB)
    await meetings.create_meeting(agent.id, "one", acting_user_id=ALICE)
    await meetings.create_meeting(agent.id, "two", acting_user_id=ALICE)

    listed = (await agents.list_agents(acting_user_id=ALICE)).items
    assert [(a.id, a.meeting_count) for a in listed] == [(second.id, 0), (agent.id, 2)]
    assert [a.name for a in (await agents.list_agents(acting_user_id=BOB)).items] == ["Bob's"]
    assert (await agents.list_agents(acting_user_id="nobody")).items == ()


async def test_update_agent_renames_and_changes_instructions(
    agents: AgentsService, agent: Agent
) -> None:
    renamed = await agents.update_agent(agent.id, name="Mentor", acting_user_id=ALICE)
    assert (renamed.name, renamed.instructions) == ("Mentor", "Explain things simply.")
    changed = await agents.update_agent(
        agent.id, instructions="Ask questions.", acting_user_id=ALICE
    )
    assert (changed.name, changed.instructions) == ("Mentor", "Ask questions.")
    assert changed.updated_at > agent.updated_at

    with pytest.raises(AgentNotFound):
        await agents.update_agent(agent.id, name="stolen", acting_user_id=BOB)
    assert await agents.get_agent(agent.id, acting_user_id=ALICE) == changed


async def test_delete_agent_cascades_to_its_meetings(
    agents: AgentsService, meetings: MeetingsService, agent: Agent, plainsql_conn: Conn
) -> None:
    other = await agents.create_agent("Other", "x", acting_user_id=ALICE)
    await meetings.create_meeting(agent.id, "goes", acting_user_id=ALICE)
    kept = await meetings.create_meeting(other.id, "stays", acting_user_id=ALICE)

    with pytest.raises(AgentNotFound):
        await agents.delete_agent(agent.id, acting_user_id=BOB)
    await agents.delete_agent(agent.id, acting_user_id=ALICE)

    assert await agents.get_agent(agent.id, acting_user_id=ALICE) is None
    assert count(plainsql_conn, "SELECT count(*) FROM meetings WHERE agent_id = %s", agent.id) == 0
    assert count(plainsql_conn, "SELECT count(*) FROM meetings") == 1
    assert await meetings.get_meeting(kept.id, acting_user_id=ALICE) is not None
    with pytest.raises(AgentNotFound):
        await agents.delete_agent(agent.id, acting_user_id=ALICE)


# -- meetings ---------------------------------------------------------------------------


async def test_create_meeting_is_upcoming_with_a_generated_id(
    meetings: MeetingsService, agent: Agent
) -> None:
    meeting = await meetings.create_meeting(agent.id, "Weekly sync", acting_user_id=ALICE)

    assert URL_SAFE_21.match(meeting.id)
    assert meeting.status == "upcoming"
    assert (meeting.agent_id, meeting.user_id, meeting.name) == (agent.id, ALICE, "Weekly sync")
    assert meeting.started_at is None
    assert meeting.ended_at is None
    assert meeting.summary is None


async def test_create_meeting_with_another_users_agent_is_agent_not_found(
    meetings: MeetingsService, agent: Agent, plainsql_conn: Conn
) -> None:
    with pytest.raises(AgentNotFound):
        await meetings.create_meeting(agent.id, "sneaky", acting_user_id=BOB)
    assert count(plainsql_conn, "SELECT count(*) FROM meetings") == 0


async def test_get_meeting_has_the_agent_name_and_is_scoped(
    meetings: MeetingsService, agent: Agent
) -> None:
    meeting = await meetings.create_meeting(agent.id, "m", acting_user_id=ALICE)
    found = await meetings.get_meeting(meeting.id, acting_user_id=ALICE)
    assert found == with_agent(meeting, "Tutor")
    assert await meetings.get_meeting(meeting.id, acting_user_id=BOB) is None


async def test_the_full_lifecycle_sets_started_and_ended(
    meetings: MeetingsService, agent: Agent
) -> None:
    meeting = await meetings.create_meeting(agent.id, "m", acting_user_id=ALICE)

    active = await meetings.start_meeting(meeting.id, acting_user_id=ALICE)
    assert active.status == "active"
    assert active.started_at is not None
    assert active.ended_at is None

    processing = await meetings.end_meeting(meeting.id, acting_user_id=ALICE)
    assert processing.status == "processing"
    assert processing.started_at == active.started_at
    assert processing.ended_at is not None
    assert processing.ended_at >= active.started_at

    recorded = await meetings.set_recording(
        meeting.id,
        transcript_url="https://t.example/1",
        recording_url="https://r/1",
        acting_user_id=ALICE,
    )
    assert (recorded.transcript_url, recorded.recording_url) == (
        "https://t.example/1",
        "https://r/1",
    )
    recorded = await meetings.set_recording(
        meeting.id, recording_url="https://r/2", acting_user_id=ALICE
    )
    assert (recorded.transcript_url, recorded.recording_url) == (
        "https://t.example/1",
        "https://r/2",
    )

    completed = await meetings.complete_meeting(meeting.id, "We agreed on X.", acting_user_id=ALICE)
    assert completed.status == "completed"
    assert completed.summary == "We agreed on X."
    assert completed.ended_at == processing.ended_at


async def test_cancel_from_upcoming_and_from_active(
    meetings: MeetingsService, agent: Agent
) -> None:
    never_started = await meetings.create_meeting(agent.id, "a", acting_user_id=ALICE)
    cancelled = await meetings.cancel_meeting(never_started.id, acting_user_id=ALICE)
    assert cancelled.status == "cancelled"
    assert cancelled.started_at is None
    assert cancelled.ended_at is None

    started = await meetings.create_meeting(agent.id, "b", acting_user_id=ALICE)
    active = await meetings.start_meeting(started.id, acting_user_id=ALICE)
    cancelled = await meetings.cancel_meeting(started.id, acting_user_id=ALICE)
    assert cancelled.status == "cancelled"
    assert active.started_at is not None
    assert cancelled.ended_at is not None
    assert cancelled.ended_at >= active.started_at


async def _meeting_in(meetings: MeetingsService, agent: Agent, status: MeetingStatus) -> Meeting:
    meeting = await meetings.create_meeting(agent.id, f"in {status}", acting_user_id=ALICE)
    steps = {
        "upcoming": [],
        "active": ["start"],
        "processing": ["start", "end"],
        "completed": ["start", "end", "complete"],
        "cancelled": ["cancel"],
    }[status]
    for step in steps:
        if step == "start":
            meeting = await meetings.start_meeting(meeting.id, acting_user_id=ALICE)
        elif step == "end":
            meeting = await meetings.end_meeting(meeting.id, acting_user_id=ALICE)
        elif step == "complete":
            meeting = await meetings.complete_meeting(meeting.id, "done", acting_user_id=ALICE)
        else:
            meeting = await meetings.cancel_meeting(meeting.id, acting_user_id=ALICE)
    assert meeting.status == status
    return meeting


ALLOWED = {
    "start": {"upcoming"},
    "end": {"active"},
    "complete": {"processing"},
    "cancel": {"upcoming", "active"},
}


@pytest.mark.parametrize("status", list(MeetingStatus))
@pytest.mark.parametrize("action", sorted(ALLOWED))
async def test_every_illegal_transition_is_refused_and_changes_nothing(
    meetings: MeetingsService, agent: Agent, status: MeetingStatus, action: str
) -> None:
    meeting = await _meeting_in(meetings, agent, status)
    moves = {
        "start": lambda: meetings.start_meeting(meeting.id, acting_user_id=ALICE),
        "end": lambda: meetings.end_meeting(meeting.id, acting_user_id=ALICE),
        "complete": lambda: meetings.complete_meeting(meeting.id, "s", acting_user_id=ALICE),
        "cancel": lambda: meetings.cancel_meeting(meeting.id, acting_user_id=ALICE),
    }
    if status in ALLOWED[action]:
        moved = await moves[action]()
        assert moved.status != status
        return
    with pytest.raises(IllegalMeetingTransition) as raised:
        await moves[action]()
    assert raised.value.current == status
    assert raised.value.action == action
    after = await meetings.get_meeting(meeting.id, acting_user_id=ALICE)
    assert after is not None
    assert after == with_agent(meeting, "Tutor")


async def test_transitions_on_another_users_meeting_are_meeting_not_found(
    meetings: MeetingsService, agent: Agent
) -> None:
    meeting = await meetings.create_meeting(agent.id, "m", acting_user_id=ALICE)
    with pytest.raises(MeetingNotFound):
        await meetings.start_meeting(meeting.id, acting_user_id=BOB)
    with pytest.raises(MeetingNotFound):
        await meetings.cancel_meeting(meeting.id, acting_user_id=BOB)
    with pytest.raises(MeetingNotFound):
        await meetings.set_recording(meeting.id, transcript_url="x", acting_user_id=BOB)
    with pytest.raises(MeetingNotFound):
        await meetings.delete_meeting(meeting.id, acting_user_id=BOB)
    with pytest.raises(MeetingNotFound):
        await meetings.start_meeting("no-such-meeting", acting_user_id=ALICE)
    still = await meetings.get_meeting(meeting.id, acting_user_id=ALICE)
    assert still is not None
    assert still == with_agent(meeting, "Tutor")


async def test_delete_meeting(meetings: MeetingsService, agent: Agent) -> None:
    meeting = await meetings.create_meeting(agent.id, "m", acting_user_id=ALICE)
    await meetings.delete_meeting(meeting.id, acting_user_id=ALICE)
    assert await meetings.get_meeting(meeting.id, acting_user_id=ALICE) is None


async def test_the_database_refuses_ended_before_started(
    meetings: MeetingsService, agent: Agent, plainsql_conn: Conn
) -> None:
    meeting = await meetings.create_meeting(agent.id, "m", acting_user_id=ALICE)
    await meetings.start_meeting(meeting.id, acting_user_id=ALICE)
    with pytest.raises(psycopg.errors.CheckViolation) as raised:
        plainsql_conn.execute(
            "UPDATE meetings SET ended_at = started_at - interval '1 second' WHERE id = %s",
            (meeting.id,),
        )
    assert raised.value.diag.constraint_name == "meetings_ended_after_started"


async def test_two_workers_racing_to_start_one_meeting_one_wins(
    meetings: MeetingsService, agent: Agent, plainsql_database_url: str
) -> None:
    """Both UPDATEs are made to wait on the same row lock, then released together."""
    meeting = await meetings.create_meeting(agent.id, "race", acting_user_id=ALICE)
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as blocker:
        await blocker.execute("SELECT 1 FROM meetings WHERE id = %s FOR UPDATE", (meeting.id,))
        racers = [
            asyncio.create_task(meetings.start_meeting(meeting.id, acting_user_id=ALICE))
            for _ in "ab"
        ]
        await _until_waiting_on_locks(blocker, 2)
        await blocker.rollback()  # release: one racer updates, the other re-checks and loses
        results = await asyncio.gather(*racers, return_exceptions=True)

    winners = [r for r in results if isinstance(r, Meeting)]
    losers = [r for r in results if isinstance(r, IllegalMeetingTransition)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert winners[0].status == "active"
    assert losers[0].current == "active"
    after = await meetings.get_meeting(meeting.id, acting_user_id=ALICE)
    assert after is not None
    assert after.started_at == winners[0].started_at


async def _until_waiting_on_locks(conn: psycopg.AsyncConnection[Any], waiting: int) -> None:
    for _ in range(500):
        # pg_stat_activity is snapshotted once per transaction: drop the snapshot each time.
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = await cur.fetchone()
        if row is not None and row[0] >= waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{waiting} sessions never waited on the lock")


# -- listing: keyset pages --------------------------------------------------------------


async def _all_pages(
    meetings: MeetingsService, page_size: int, status: MeetingStatus | None = None
) -> list[list[MeetingListItem]]:
    pages = []
    cursor: str | None = None
    while True:
        page = await meetings.list_meetings(
            status=status, after=cursor, page_size=page_size, acting_user_id=ALICE
        )
        pages.append(list(page.items))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_keyset_pages_cover_every_meeting_once_newest_first(
    meetings: MeetingsService, agent: Agent, plainsql_conn: Conn
) -> None:
    created = [
        await meetings.create_meeting(agent.id, f"m{i:02d}", acting_user_id=ALICE)
        for i in range(23)
    ]
    # Ties on created_at are broken by id: give ten meetings the very same time.
    same = datetime(2025, 3, 1, 12, tzinfo=UTC)
    plainsql_conn.execute(
        "UPDATE meetings SET created_at = %s WHERE id = any(%s)",
        (same, [m.id for m in created[:10]]),
    )
    plainsql_conn.commit()
    rows = plainsql_conn.execute(
        "SELECT id FROM meetings ORDER BY created_at DESC, id DESC"
    ).fetchall()
    expected = [r[0] for r in rows]

    pages = await _all_pages(meetings, page_size=5)

    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [m.id for page in pages for m in page]
    assert listed == expected
    assert all(m.agent_name == "Tutor" for page in pages for m in page)


async def test_an_exactly_full_last_page_has_no_next_cursor(
    meetings: MeetingsService, agent: Agent
) -> None:
    for i in range(6):
        await meetings.create_meeting(agent.id, f"m{i}", acting_user_id=ALICE)
    pages = await _all_pages(meetings, page_size=3)
    assert [len(p) for p in pages] == [3, 3]


async def test_meetings_created_between_pages_do_not_shift_later_pages(
    meetings: MeetingsService, agent: Agent
) -> None:
    for i in range(6):
        await meetings.create_meeting(agent.id, f"m{i}", acting_user_id=ALICE)
    first = await meetings.list_meetings(page_size=3, acting_user_id=ALICE)
    await meetings.create_meeting(agent.id, "newcomer", acting_user_id=ALICE)
    second = await meetings.list_meetings(
        after=first.next_cursor, page_size=3, acting_user_id=ALICE
    )
    assert [m.name for m in first.items] == ["m5", "m4", "m3"]
    assert [m.name for m in second.items] == ["m2", "m1", "m0"]
    assert second.next_cursor is None


async def test_list_filters_by_status_and_is_scoped(
    meetings: MeetingsService, agents: AgentsService, agent: Agent
) -> None:
    by_status = {s: await _meeting_in(meetings, agent, s) for s in list(MeetingStatus)}
    await _meeting_in(meetings, agent, MeetingStatus.ACTIVE)
    bobs_agent = await agents.create_agent("B", "x", acting_user_id=BOB)
    await meetings.create_meeting(bobs_agent.id, "bob's", acting_user_id=BOB)

    everything = await meetings.list_meetings(page_size=50, acting_user_id=ALICE)
    assert len(everything.items) == 6
    active = await meetings.list_meetings(status=MeetingStatus.ACTIVE, acting_user_id=ALICE)
    assert len(active.items) == 2
    assert {m.status for m in active.items} == {"active"}
    completed = await meetings.list_meetings(status=MeetingStatus.COMPLETED, acting_user_id=ALICE)
    assert [m.id for m in completed.items] == [by_status[MeetingStatus.COMPLETED].id]
    assert await meetings.count_meetings(acting_user_id=ALICE) == 6
    assert await meetings.count_meetings(status=MeetingStatus.ACTIVE, acting_user_id=ALICE) == 2
    assert await meetings.count_meetings(acting_user_id=BOB) == 1
    assert await meetings.count_meetings(acting_user_id="nobody") == 0
    bobs = await meetings.list_meetings(acting_user_id=BOB)
    assert [(m.name, m.agent_name) for m in bobs.items] == [("bob's", "B")]
    assert (await meetings.list_meetings(acting_user_id="nobody")).items == ()
    paged = await _all_pages(meetings, page_size=1, status=MeetingStatus.ACTIVE)
    assert [len(p) for p in paged] == [1, 1]


async def test_list_rejects_a_page_size_below_one(meetings: MeetingsService) -> None:
    with pytest.raises(InvalidInput, match="page_size must be between 1 and 500, got 0"):
        await meetings.list_meetings(page_size=0, acting_user_id=ALICE)
    with pytest.raises(InvalidInput, match="page_size must be between 1 and 500, got 10001"):
        await meetings.list_meetings(page_size=10_001, acting_user_id=ALICE)


def test_a_deep_page_is_read_from_the_keyset_index(
    plainsql_conn: Conn, plainsql_queries: Queries
) -> None:
    """The page query walks meetings_user_id_created_at_idx in order: no sort, no seq scan."""
    plainsql_conn.execute("SET enable_seqscan = off")
    sql = plainsql_queries.meetings.list_meetings_by_user.sql
    params = {
        "user_id": ALICE,
        "status": None,
        "before_created_at": datetime.now(UTC) - timedelta(days=1),
        "before_id": "abc",
        "page_size": 20,
    }
    row = plainsql_conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()
    assert row is not None
    plan = json.dumps(row[0])
    assert "meetings_user_id_created_at_idx" in plan
    assert '"Sort"' not in plan
    assert "created_at" in json.dumps(_index_conditions(row[0]))


def _index_conditions(plan: Any) -> list[str]:
    found: list[str] = []
    if isinstance(plan, dict):
        if "Index Cond" in plan:
            found.append(plan["Index Cond"])
        for value in plan.values():
            found.extend(_index_conditions(value))
    elif isinstance(plan, list):
        for item in plan:
            found.extend(_index_conditions(item))
    return found


async def test_a_meeting_is_renamed_moved_to_another_agent_filtered_and_searched(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    agents = AgentsService(plainsql_async_db, typed_queries)
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    tutor = await agents.create_agent("Tutor", "teach", acting_user_id=ALICE)
    coach = await agents.create_agent("Coach", "push", acting_user_id=ALICE)
    bobs = await agents.create_agent("Bob's", "x", acting_user_id=BOB)
    weekly = await meetings.create_meeting(tutor.id, "Weekly 100% sync", acting_user_id=ALICE)
    await meetings.create_meeting(tutor.id, "Daily standup", acting_user_id=ALICE)

    moved = await meetings.update_meeting(
        weekly.id, name="Weekly_sync", agent_id=coach.id, acting_user_id=ALICE
    )
    assert (moved.name, moved.agent_id) == ("Weekly_sync", coach.id)
    with pytest.raises(AgentNotFound):
        await meetings.update_meeting(weekly.id, agent_id=bobs.id, acting_user_id=ALICE)
    with pytest.raises(MeetingNotFound):
        await meetings.update_meeting(weekly.id, name="mine now", acting_user_id=BOB)

    by_coach = await meetings.list_meetings_by_agent(coach.id, acting_user_id=ALICE)
    assert [(m.name, m.agent_name) for m in by_coach.items] == [("Weekly_sync", "Coach")]
    assert (await meetings.list_meetings_by_agent(coach.id, acting_user_id=BOB)).items == ()
    found = await meetings.search_meetings("WEEKLY_", acting_user_id=ALICE)
    assert [m.id for m in found.items] == [weekly.id]
    assert (
        await meetings.search_meetings("%", acting_user_id=ALICE)
    ).items == ()  # taken literally
    assert (await meetings.search_meetings("weekly", acting_user_id=BOB)).items == ()
