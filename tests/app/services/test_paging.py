"""Keyset pages with opaque cursors (plainsql.KeysetList), through the services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import psycopg
import pytest

from plainsql import AsyncDatabase, Page
from plainsql.errors import InvalidCursor, InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import ProcessingStatus
from reference_apps.services.agent_states import AgentStatesService
from reference_apps.services.agents import AgentsService
from reference_apps.services.meetings import MeetingsService
from reference_apps.services.projects import ProjectsService
from reference_apps.services.teams import NotTeamOwner, TeamMember, TeamNotFound, TeamService
from reference_apps.services.videos import (
    KeyframeInput,
    KeyframeNotFound,
    VideoNotFound,
    VideosService,
)

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]
T = TypeVar("T")


async def test_paging_10000_meetings_with_concurrent_inserts_returns_each_once_in_order(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_database_url: str,
) -> None:
    plainsql_conn.execute(
        "INSERT INTO agents (id, user_id, name, instructions) VALUES ('ag', %s, 'A', 'i')", (ALICE,)
    )
    plainsql_conn.execute(
        "INSERT INTO meetings (id, user_id, agent_id, name, created_at)"
        " SELECT 'm' || lpad(i::text, 5, '0'), %s, 'ag', 'meeting ' || i,"
        "  timestamptz '2026-01-01' + make_interval(secs => i / 3)"  # ties: broken by id
        " FROM generate_series(1, 10000) AS i",
        (ALICE,),
    )
    plainsql_conn.commit()
    existing = [
        r[0]
        for r in plainsql_conn.execute(
            "SELECT id FROM meetings ORDER BY created_at DESC, id DESC"
        ).fetchall()
    ]
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    done = asyncio.Event()
    inserted = 0

    async def insert_meanwhile() -> None:
        nonlocal inserted
        async with await psycopg.AsyncConnection.connect(
            plainsql_database_url, autocommit=True
        ) as c:
            while not done.is_set():
                # one newer than every row (before any cursor) and one among the old rows
                # (after the cursor for most of the walk)
                await c.execute(
                    "INSERT INTO meetings (id, user_id, agent_id, name, created_at) VALUES"
                    " ('new' || %s, %s, 'ag', 'new', now()),"
                    " ('old' || %s, %s, 'ag', 'old', timestamptz '2026-01-01'"
                    "  + make_interval(secs => (random() * 3333)::int))",
                    (inserted, ALICE, inserted, ALICE),
                )
                inserted += 1
                await asyncio.sleep(0)

    inserter = asyncio.create_task(insert_meanwhile())
    listed: list[Any] = []
    cursor: str | None = None
    while True:
        page = await meetings.list_meetings(after=cursor, page_size=100, acting_user_id=ALICE)
        listed.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        await asyncio.sleep(0)
    done.set()
    await inserter

    assert inserted > 0
    ids = [m.id for m in listed]
    assert len(ids) == len(set(ids))  # nothing twice
    assert [i for i in ids if not i.startswith(("new", "old"))] == existing  # all, in order
    keys = [(m.created_at, m.id) for m in listed]
    assert keys == sorted(keys, reverse=True)


async def test_a_cursor_of_another_list_or_garbage_is_refused(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    agents = AgentsService(plainsql_async_db, typed_queries)
    meetings = MeetingsService(plainsql_async_db, typed_queries)
    for i in range(3):
        await agents.create_agent(f"a{i}", "i", acting_user_id=ALICE)
    page = await agents.list_agents(page_size=2, acting_user_id=ALICE)
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursor, match="after"):
        await meetings.list_meetings(after=page.next_cursor, acting_user_id=ALICE)
    with pytest.raises(InvalidCursor):
        await agents.list_agents(after="not-a-cursor", acting_user_id=ALICE)
    rest = await agents.list_agents(after=page.next_cursor, page_size=2, acting_user_id=ALICE)
    assert [a.name for a in page.items + rest.items] == ["a2", "a1", "a0"]
    assert rest.next_cursor is None


async def test_videos_browse_by_status_tag_and_category_page_by_page(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    videos = VideosService(plainsql_async_db, typed_queries)
    made = [
        await videos.create_video(
            youtube_url="u", youtube_id=f"y{i}", title=f"t{i}", acting_user_id=ALICE
        )
        for i in range(7)
    ]
    await videos.create_video(youtube_url="u", youtube_id="b", title="bob", acting_user_id=BOB)
    science = await videos.create_category("Science")
    for v in made[::2]:  # y0, y2, y4, y6
        await videos.attach_tag(v.id, "pg", acting_user_id=ALICE)
        await videos.attach_category(v.id, science.id, acting_user_id=ALICE)
    tag = (await videos.list_tags(made[0].id, acting_user_id=ALICE))[0]
    await videos.set_processing_status(
        made[1].id, ProcessingStatus.FAILED, "boom", acting_user_id=ALICE
    )

    async def youtube_ids(**filters: Any) -> list[str]:
        out: list[str] = []
        cursor = None
        while True:
            page = await videos.list_videos(
                after=cursor, page_size=3, acting_user_id=ALICE, **filters
            )
            out += [v.youtube_id for v in page.items]
            if (cursor := page.next_cursor) is None:
                return out

    assert await youtube_ids() == [f"y{i}" for i in range(6, -1, -1)]
    # through the link table: in the order of its key, the video id
    by_id = [v.youtube_id for v in sorted(made[::2], key=lambda v: v.id)]
    assert await youtube_ids(tag_id=tag.id) == by_id
    assert await youtube_ids(category_id=science.id) == by_id
    assert await youtube_ids(status="failed") == ["y1"]
    assert await youtube_ids(status="pending") == ["y6", "y5", "y4", "y3", "y2", "y0"]


async def test_video_search_tag_counts_rename_drop_and_keyframes(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    videos = VideosService(plainsql_async_db, typed_queries)
    a = await videos.create_video(
        youtube_url="u", youtube_id="a", title="Vacuum internals", acting_user_id=ALICE
    )
    b = await videos.create_video(
        youtube_url="u", youtube_id="b", title="Cooking pasta", acting_user_id=ALICE
    )
    c = await videos.create_video(
        youtube_url="u", youtube_id="c", title="Vacuum cleaners", acting_user_id=BOB
    )
    await videos.store_ai_content(
        b.id, {"summary": "How autovacuum keeps tables lean"}, acting_user_id=ALICE
    )
    hits = await videos.search_videos("vacuum", acting_user_id=ALICE)
    assert [h.id for h in hits] == [a.id]  # title only; Bob's never
    hits = await videos.search_videos("autovacuum", acting_user_id=ALICE)
    assert [h.id for h in hits] == [b.id]
    assert "<mark>autovacuum</mark>" in hits[0].snippet

    for v in (a, b):
        await videos.attach_tag(v.id, "db", acting_user_id=ALICE)
    await videos.attach_tag(a.id, "pg", acting_user_id=ALICE)
    await videos.attach_tag(c.id, "db", acting_user_id=BOB)
    counts = await videos.list_tag_counts(acting_user_id=ALICE)
    assert [(t.name, t.video_count) for t in counts] == [("db", 2), ("pg", 1)]
    db_tag = next(t for t in counts if t.name == "db")
    renamed = await videos.rename_tag(db_tag.id, "databases", acting_user_id=ALICE)
    assert (renamed.name, renamed.relinked_count) == ("databases", 2)
    assert sorted(t.name for t in await videos.list_tags(a.id, acting_user_id=ALICE)) == [
        "databases",
        "pg",
    ]
    assert [t.name for t in await videos.list_tags(c.id, acting_user_id=BOB)] == [
        "db"
    ]  # Bob's keep it
    assert await videos.drop_tag(renamed.id, acting_user_id=ALICE) == 2
    assert [
        (t.name, t.video_count) for t in await videos.list_tag_counts(acting_user_id=ALICE)
    ] == [("pg", 1)]

    frames = await videos.add_keyframes(
        a.id,
        [KeyframeInput(30, "https://x/2.png"), KeyframeInput(5, "https://x/1.png", "intro")],
        acting_user_id=ALICE,
    )
    assert [(k.timestamp_seconds, k.description) for k in frames] == [(5, "intro"), (30, None)]
    with pytest.raises(VideoNotFound):  # one statement: none of them goes in
        await videos.add_keyframes(a.id, [KeyframeInput(1, "https://x/b.png")], acting_user_id=BOB)
    with pytest.raises(KeyframeNotFound):
        await videos.delete_keyframe(a.id, frames[0].id, acting_user_id=BOB)
    await videos.delete_keyframe(a.id, frames[0].id, acting_user_id=ALICE)
    assert [
        k.timestamp_seconds for k in (await videos.list_keyframes(a.id, acting_user_id=ALICE)).items
    ] == [30]
    with pytest.raises(InvalidInput, match="status, tag_id"):
        await videos.list_videos(status=ProcessingStatus.PENDING, tag_id="x", acting_user_id=ALICE)


# The lists that a fixed LIMIT used to cut silently (a big team, a large project, a long
# video): each is walked a page of 7 at a time over 50 rows, past what one page holds.

PAGE = 7
ROWS = 50


async def walk(read: Callable[[str | None], Awaitable[Page[T]]]) -> list[T]:
    """Every row of a list, read page by page from the first: each page but the last full."""
    rows: list[T] = []
    cursor: str | None = None
    while True:
        page = await read(cursor)
        rows += page.items
        if (cursor := page.next_cursor) is None:
            return rows
        assert len(page.items) == PAGE


async def test_a_big_team_s_members_and_invitations_are_read_a_page_at_a_time(
    users: None, plainsql_conn: Conn, teams: TeamService
) -> None:
    team = await teams.create_team(name="Enterprise", slug="enterprise", acting_user_id=ALICE)
    # ROWS members who joined before ALICE's team existed, three to a second (ties broken by
    # user id), the later ids first; one of them soft-deleted (the directory hides it).
    start = datetime(2020, 1, 1, tzinfo=UTC)
    joined = {f"member-{i:02d}": start + timedelta(seconds=(ROWS - i) // 3) for i in range(ROWS)}
    plainsql_conn.execute(
        "INSERT INTO users (id, name, email, deleted_at)"
        " SELECT u, 'Member ' || u, u || '@example.com',"
        "  CASE WHEN u = 'member-07' THEN now() END FROM unnest(%s::text[]) AS u",
        (list(joined),),
    )
    plainsql_conn.execute(
        "INSERT INTO team_members (team_id, user_id, created_at)"
        " SELECT %s, u, t FROM unnest(%s::text[], %s::timestamptz[]) AS j(u, t)",
        (team.id, list(joined), list(joined.values())),
    )
    plainsql_conn.execute(
        "INSERT INTO team_invitations (team_id, user_id, invited_by, created_at)"
        " SELECT %s, 'invitee-' || lpad(i::text, 2, '0'), %s,"
        "  timestamptz '2020-01-01' + make_interval(secs => (%s - i) / 3)"
        " FROM generate_series(0, %s - 1) AS i",
        (team.id, ALICE, ROWS, ROWS),
    )
    plainsql_conn.commit()
    members_in_order = [
        *sorted((u for u in joined if u != "member-07"), key=lambda u: (joined[u], u)),
        ALICE,  # joined when it created the team, after everyone else
    ]

    def members_as(reader: str) -> Callable[[str | None], Awaitable[Page[TeamMember]]]:
        return lambda after: teams.list_members(
            team.id, after=after, page_size=PAGE, acting_user_id=reader
        )

    for reader in (ALICE, "member-03"):  # the owner, a plain member: the same directory
        assert [m.user_id for m in await walk(members_as(reader))] == members_in_order
    invitations = await walk(
        lambda after: teams.list_invitations(
            team.id, after=after, page_size=PAGE, acting_user_id=ALICE
        )
    )
    assert [i.user_id for i in invitations] == sorted(
        (f"invitee-{i:02d}" for i in range(ROWS)), key=lambda u: ((ROWS - int(u[-2:])) // 3, u)
    )

    outsider = await teams.list_members(team.id, page_size=PAGE, acting_user_id=BOB)
    assert (outsider.items, outsider.next_cursor) == ((), None)
    with pytest.raises(TeamNotFound):  # an outsider: as for every other call on the team
        await teams.list_invitations(team.id, acting_user_id=BOB)
    with pytest.raises(NotTeamOwner):
        await teams.list_invitations(team.id, acting_user_id="member-03")
    members_page = await teams.list_members(team.id, page_size=PAGE, acting_user_id=ALICE)
    invitations_page = await teams.list_invitations(team.id, page_size=PAGE, acting_user_id=ALICE)
    with pytest.raises(InvalidCursor):
        await teams.list_invitations(team.id, after=members_page.next_cursor, acting_user_id=ALICE)
    with pytest.raises(InvalidCursor):
        await teams.list_members(team.id, after=invitations_page.next_cursor, acting_user_id=ALICE)


async def test_a_large_project_s_files_are_read_a_page_at_a_time(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    projects = ProjectsService(plainsql_async_db, typed_queries)
    project = await projects.create_project("monorepo", "", acting_user_id=ALICE)
    paths = [f"src/module_{i:02d}.py" for i in range(ROWS)]
    await projects.upsert_files(
        project.id, {p: f"# {p}" for p in reversed(paths)}, acting_user_id=ALICE
    )

    listed = await walk(
        lambda after: projects.list_files(
            project.id, after=after, page_size=PAGE, acting_user_id=ALICE
        )
    )

    assert [(f.path, f.content) for f in listed] == [(p, f"# {p}") for p in paths]
    bobs = await projects.list_files(project.id, page_size=PAGE, acting_user_id=BOB)
    assert (bobs.items, bobs.next_cursor) == ((), None)
    await projects.create_project("another", "", acting_user_id=ALICE)
    projects_page = await projects.list_projects_page(page_size=1, acting_user_id=ALICE)
    assert projects_page.next_cursor is not None
    with pytest.raises(InvalidCursor):
        await projects.list_files(project.id, after=projects_page.next_cursor, acting_user_id=ALICE)
    with pytest.raises(InvalidCursor):
        await projects.list_files(project.id, after="garbage", acting_user_id=ALICE)


async def test_projects_with_their_last_phase_completed_are_read_a_page_at_a_time(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    # ROWS projects of ALICE's, two in three with their last phase completed, updated two to
    # a second (ties broken by id); BOB's completed one beside them.
    rows = plainsql_conn.execute(
        "WITH p AS ("
        " INSERT INTO projects (user_id, name, description, updated_at)"
        " SELECT %s, 'p' || i, '', timestamptz '2020-01-01' + make_interval(secs => i / 2)"
        " FROM generate_series(1, %s) AS i RETURNING id, name, updated_at)"
        " INSERT INTO agent_states (project_id, phases)"
        " SELECT id, CASE WHEN substr(name, 2)::int %% 3 <> 0"
        '  THEN \'[{"completed": false}, {"completed": true}]\''
        '  ELSE \'[{"completed": true}, {"completed": false}]\' END::jsonb FROM p'
        " RETURNING project_id, phases -> -1 -> 'completed' = 'true'::jsonb",
        (ALICE, ROWS),
    ).fetchall()
    plainsql_conn.execute(
        "WITH p AS (INSERT INTO projects (user_id, name, description) VALUES (%s, 'b', '')"
        " RETURNING id) INSERT INTO agent_states (project_id, phases)"
        " SELECT id, '[{\"completed\": true}]' FROM p",
        (BOB,),
    )
    plainsql_conn.commit()
    updated: dict[UUID, datetime] = dict(
        plainsql_conn.execute(
            "SELECT id, updated_at FROM projects WHERE user_id = %s", (ALICE,)
        ).fetchall()
    )
    done = sorted((p for p, last_completed in rows if last_completed),
                  key=lambda p: (updated[p], p), reverse=True)  # fmt: skip
    states = AgentStatesService(plainsql_async_db, typed_queries)
    completed = states.list_projects_with_last_phase_completed

    listed = await walk(lambda after: completed(after=after, page_size=PAGE, acting_user_id=ALICE))

    assert len(done) == 34
    assert [p.id for p in listed] == done
    assert [p.name for p in (await completed(acting_user_id=BOB)).items] == ["b"]
    projects_page = await ProjectsService(plainsql_async_db, typed_queries).list_projects_page(
        page_size=PAGE, acting_user_id=ALICE
    )
    with pytest.raises(InvalidCursor):  # the same key, (updated_at, id), another list
        await completed(after=projects_page.next_cursor, acting_user_id=ALICE)


async def test_a_long_video_s_keyframes_are_read_a_page_at_a_time(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    videos = VideosService(plainsql_async_db, typed_queries)
    video = await videos.create_video(
        youtube_url="u", youtube_id="long", title="An hour", acting_user_id=ALICE
    )
    # Two keyframes to a second (ties broken by id), added latest first.
    added = await videos.add_keyframes(
        video.id,
        [KeyframeInput(i // 2, f"https://frames.example/{i}.jpg") for i in reversed(range(ROWS))],
        acting_user_id=ALICE,
    )

    listed = await walk(
        lambda after: videos.list_keyframes(
            video.id, after=after, page_size=PAGE, acting_user_id=ALICE
        )
    )

    assert listed == sorted(added, key=lambda k: (k.timestamp_seconds, k.id))
    assert [k.timestamp_seconds for k in listed] == [i // 2 for i in range(ROWS)]
    bobs = await videos.list_keyframes(video.id, page_size=PAGE, acting_user_id=BOB)
    assert (bobs.items, bobs.next_cursor) == ((), None)
    await videos.create_video(
        youtube_url="u", youtube_id="short", title="A minute", acting_user_id=ALICE
    )
    videos_page = await videos.list_videos(page_size=1, acting_user_id=ALICE)
    await videos.create_category("c1")
    await videos.create_category("c2")
    categories_page = await videos.list_categories(page_size=1)
    for foreign in (videos_page, categories_page):
        assert foreign.next_cursor is not None
        with pytest.raises(InvalidCursor):
            await videos.list_keyframes(video.id, after=foreign.next_cursor, acting_user_id=ALICE)


async def test_the_shared_categories_are_read_a_page_at_a_time(
    users: None, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    videos = VideosService(plainsql_async_db, typed_queries)
    names = [f"Category {i:02d}" for i in range(ROWS)]
    for name in reversed(names):
        await videos.create_category(name)

    listed = await walk(lambda after: videos.list_categories(after=after, page_size=PAGE))

    assert [c.name for c in listed] == names
    video = await videos.create_video(
        youtube_url="u", youtube_id="v", title="t", acting_user_id=ALICE
    )
    await videos.add_keyframes(
        video.id, [KeyframeInput(1, "https://x/1"), KeyframeInput(2, "https://x/2")],
        acting_user_id=ALICE,
    )  # fmt: skip
    keyframes = await videos.list_keyframes(video.id, page_size=1, acting_user_id=ALICE)
    with pytest.raises(InvalidCursor):
        await videos.list_categories(after=keyframes.next_cursor)
