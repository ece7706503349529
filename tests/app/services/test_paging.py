"""Keyset pages with opaque cursors (plainsql.KeysetList), through the services."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import InvalidCursor, InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import ProcessingStatus
from reference_apps.services.agents import AgentsService
from reference_apps.services.meetings import MeetingsService
from reference_apps.services.videos import (
    KeyframeInput,
    KeyframeNotFound,
    VideoNotFound,
    VideosService,
)

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]


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

    async def walk(**filters: Any) -> list[str]:
        out: list[str] = []
        cursor = None
        while True:
            page = await videos.list_videos(
                after=cursor, page_size=3, acting_user_id=ALICE, **filters
            )
            out += [v.youtube_id for v in page.items]
            if (cursor := page.next_cursor) is None:
                return out

    assert await walk() == [f"y{i}" for i in range(6, -1, -1)]
    # through the link table: in the order of its key, the video id
    by_id = [v.youtube_id for v in sorted(made[::2], key=lambda v: v.id)]
    assert await walk(tag_id=tag.id) == by_id
    assert await walk(category_id=science.id) == by_id
    assert await walk(status="failed") == ["y1"]
    assert await walk(status="pending") == ["y6", "y5", "y4", "y3", "y2", "y0"]


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
        k.timestamp_seconds for k in await videos.list_keyframes(a.id, acting_user_id=ALICE)
    ] == [30]
    with pytest.raises(InvalidInput, match="status, tag_id"):
        await videos.list_videos(status=ProcessingStatus.PENDING, tag_id="x", acting_user_id=ALICE)
