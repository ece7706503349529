"""VideosService: video summaries, tags, categories and keyframes, scoped by user."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import ProcessingStatus
from reference_apps.services.errors import NotAnAdministrator
from reference_apps.services.videos import (
    CategoryNameTaken,
    CategoryNotFound,
    CategoryNotLinked,
    DuplicateVideo,
    TagNotFound,
    TagNotLinked,
    VideoNotFound,
    VideosService,
    VideoSummary,
)

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def service(
    users: None,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> VideosService:
    return VideosService(plainsql_async_db, typed_queries)


async def add_video(
    service: VideosService, user_id: str = ALICE, youtube_id: str = "dQw4w9WgXcQ"
) -> VideoSummary:
    return await service.create_video(
        youtube_url=f"https://www.youtube.com/watch?v={youtube_id}",
        youtube_id=youtube_id,
        title=f"Video {youtube_id}",
        acting_user_id=user_id,
    )


@pytest.fixture
async def video(service: VideosService) -> VideoSummary:
    return await add_video(service)


def count(conn: Conn, sql: str, *params: Any) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


# -- video summaries --------------------------------------------------------------------


async def test_search_is_the_users_top_matches_by_rank_then_newest_never_another_users(
    service: VideosService, plainsql_conn: Conn
) -> None:
    """The search path (app_search_video_summaries) changes neither which videos come back
    nor their order: the user's matches by ts_rank, then newest, then id (ties in both are
    many here), cut at the limit; Bob's videos, which match better, never come back."""
    plainsql_conn.execute(  # Alice's 60 and Bob's 20 videos, in one statement
        "INSERT INTO video_summaries (id, user_id, youtube_url, youtube_id, title,"
        "  ai_generated_content, created_at)"
        " SELECT u || '-v' || i, u, 'https://youtu.be/x', 'y' || i,"
        "  CASE WHEN u = %s THEN 'PostgreSQL postgresql postgresql' WHEN i %% 3 = 0"
        "   THEN 'PostgreSQL vacuum ' || i ELSE 'Cooking ' || i END,"
        "  jsonb_build_object('summary', CASE WHEN i %% 2 = 0 THEN 'postgresql tuning'"
        "   ELSE 'pasta' END),"
        "  timestamptz '2026-01-01' + make_interval(mins => i / 5)"
        " FROM unnest(ARRAY[%s, %s]) AS u, generate_series(1, 60) AS i"
        " WHERE u = %s OR i <= 20",
        (BOB, ALICE, BOB, ALICE),
    )
    plainsql_conn.commit()

    def expected(user: str, query: str) -> list[tuple[str, float]]:
        """The user's matches in the search's order, read by the owner (no policy)."""
        return [
            (row[0], row[1])
            for row in plainsql_conn.execute(
                "SELECT v.id, ts_rank(video_search_vector(v.title, v.ai_generated_content), q)"
                " FROM video_summaries AS v, websearch_to_tsquery('english', %s) AS q"
                " WHERE v.user_id = %s AND video_search_vector(v.title, v.ai_generated_content)"
                "  @@ q ORDER BY 2 DESC, v.created_at DESC, v.id DESC",
                (query, user),
            ).fetchall()
        ]

    for query in ("postgresql", "postgresql -vacuum", '"postgresql vacuum" or pasta'):
        mine = expected(ALICE, query)
        assert len(mine) > 7
        assert all(id.startswith(ALICE) for id, _ in mine)
        for limit in (1, 7, 20, 500):
            hits = await service.search_videos(query, acting_user_id=ALICE, limit=limit)
            assert [(h.id, h.rank) for h in hits] == mine[:limit], (query, limit)
    bobs = await service.search_videos("postgresql", acting_user_id=BOB, limit=500)
    assert [(h.id, h.rank) for h in bobs] == expected(BOB, "postgresql")
    assert len(bobs) == 20
    assert await service.search_videos("nothing matches this", acting_user_id=ALICE) == []


async def test_create_video_is_pending_with_every_field(service: VideosService) -> None:
    video = await service.create_video(
        youtube_url="https://youtu.be/abc123",
        youtube_id="abc123",
        title="How PostgreSQL works",
        description="A talk",
        channel_name="PGConf",
        duration=3600,
        thumbnail_url="https://i.ytimg.com/abc123.jpg",
        acting_user_id=ALICE,
    )
    assert video.processing_status == "pending"
    assert video.processing_error is None
    assert video.ai_generated_content is None
    assert (video.title, video.channel_name, video.duration) == (
        "How PostgreSQL works",
        "PGConf",
        3600,
    )
    assert len(video.id) == 21
    assert await service.get_video(video.id, acting_user_id=ALICE) == video


async def test_the_same_youtube_video_twice_for_one_user_is_duplicate(
    service: VideosService, video: VideoSummary, plainsql_conn: Conn
) -> None:
    with pytest.raises(DuplicateVideo):
        await add_video(service, ALICE, video.youtube_id)
    other_user_copy = await add_video(service, BOB, video.youtube_id)  # another user may
    assert other_user_copy.id != video.id
    assert count(plainsql_conn, "SELECT count(*) FROM video_summaries") == 2


async def test_get_video_is_scoped_by_user(service: VideosService, video: VideoSummary) -> None:
    assert await service.get_video(video.id, acting_user_id=BOB) is None
    assert await service.get_video_by_youtube_id(video.youtube_id, acting_user_id=ALICE) == video
    assert await service.get_video_by_youtube_id(video.youtube_id, acting_user_id=BOB) is None


async def test_processing_status_with_its_error(
    service: VideosService, video: VideoSummary
) -> None:
    processing = await service.set_processing_status(
        video.id, ProcessingStatus.PROCESSING, acting_user_id=ALICE
    )
    assert processing.processing_status == "processing"
    failed = await service.set_processing_status(
        video.id, ProcessingStatus.FAILED, "transcript unavailable", acting_user_id=ALICE
    )
    assert failed.processing_status == "failed"
    assert failed.processing_error == "transcript unavailable"
    retried = await service.set_processing_status(
        video.id, ProcessingStatus.COMPLETED, acting_user_id=ALICE
    )
    assert retried.processing_error is None

    with pytest.raises(VideoNotFound):
        await service.set_processing_status(
            video.id, ProcessingStatus.FAILED, "x", acting_user_id=BOB
        )


async def test_store_ai_generated_content(service: VideosService, video: VideoSummary) -> None:
    content: dict[str, Any] = {
        "summary": "Short.",
        "key_points": ["one", "two"],
        "chapters": [{"start": 0, "title": "Intro"}],
    }
    stored = await service.store_ai_content(video.id, content, acting_user_id=ALICE)
    assert stored.ai_generated_content == content
    fetched = await service.get_video(video.id, acting_user_id=ALICE)
    assert fetched is not None
    assert fetched.ai_generated_content == content
    with pytest.raises(VideoNotFound):
        await service.store_ai_content(video.id, {"summary": "evil"}, acting_user_id=BOB)


async def test_list_videos_with_tag_counts_and_category_names(
    service: VideosService, video: VideoSummary
) -> None:
    plain = await add_video(service, ALICE, "plain000001")
    await add_video(service, BOB, "bob00000001")
    for name in ("postgres", "databases", "talks"):
        await service.attach_tag(video.id, name, acting_user_id=ALICE)
    science = await service.create_category("Science")
    education = await service.create_category("Education")
    await service.attach_category(video.id, science.id, acting_user_id=ALICE)
    await service.attach_category(video.id, education.id, acting_user_id=ALICE)

    listed = (await service.list_videos(acting_user_id=ALICE)).items

    assert [item.id for item in listed] == [plain.id, video.id]  # newest first
    assert (listed[0].tag_count, listed[0].category_names) == (0, [])
    assert (listed[1].tag_count, listed[1].category_names) == (3, ["Education", "Science"])
    assert [item.youtube_id for item in (await service.list_videos(acting_user_id=BOB)).items] == [
        "bob00000001"
    ]
    assert (await service.list_videos(acting_user_id="nobody")).items == ()


async def test_delete_video_cascades_to_links_and_keyframes(
    service: VideosService, video: VideoSummary, plainsql_conn: Conn
) -> None:
    await service.attach_tag(video.id, "t", acting_user_id=ALICE)
    category = await service.create_category("C")
    await service.attach_category(video.id, category.id, acting_user_id=ALICE)
    await service.add_keyframe(
        video.id, timestamp_seconds=1, image_url="https://k/1", acting_user_id=ALICE
    )

    with pytest.raises(VideoNotFound):
        await service.delete_video(video.id, acting_user_id=BOB)
    await service.delete_video(video.id, acting_user_id=ALICE)

    for table in ("video_summary_tags", "video_summary_categories", "keyframes"):
        assert count(plainsql_conn, f"SELECT count(*) FROM {table}") == 0
    assert count(plainsql_conn, "SELECT count(*) FROM tags") == 1  # shared tags stay
    assert count(plainsql_conn, "SELECT count(*) FROM categories") == 1


# -- tags -------------------------------------------------------------------------------


async def test_attach_tag_creates_it_by_name_once_and_reuses_it(
    service: VideosService, video: VideoSummary, plainsql_conn: Conn
) -> None:
    other = await add_video(service, BOB, "other000001")
    created = await service.attach_tag(video.id, "postgres", acting_user_id=ALICE)
    reused = await service.attach_tag(other.id, "postgres", acting_user_id=BOB)
    again = await service.attach_tag(video.id, "postgres", acting_user_id=ALICE)

    assert created.id == reused.id == again.id
    assert created.name == "postgres"
    assert count(plainsql_conn, "SELECT count(*) FROM tags") == 1
    assert count(plainsql_conn, "SELECT count(*) FROM video_summary_tags") == 2
    assert [t.name for t in await service.list_tags(video.id, acting_user_id=ALICE)] == ["postgres"]


async def test_attach_tag_to_another_users_video_leaves_no_tag_behind(
    service: VideosService, video: VideoSummary, plainsql_conn: Conn
) -> None:
    with pytest.raises(VideoNotFound):
        await service.attach_tag(video.id, "sneaky", acting_user_id=BOB)
    assert count(plainsql_conn, "SELECT count(*) FROM tags") == 0
    assert count(plainsql_conn, "SELECT count(*) FROM video_summary_tags") == 0


async def test_list_tags_in_name_order_and_scoped(
    service: VideosService, video: VideoSummary
) -> None:
    for name in ("zeta", "alpha", "mid"):
        await service.attach_tag(video.id, name, acting_user_id=ALICE)
    assert [t.name for t in await service.list_tags(video.id, acting_user_id=ALICE)] == [
        "alpha",
        "mid",
        "zeta",
    ]
    assert await service.list_tags(video.id, acting_user_id=BOB) == []


async def test_detach_tag(service: VideosService, video: VideoSummary, plainsql_conn: Conn) -> None:
    tag = await service.attach_tag(video.id, "t", acting_user_id=ALICE)
    with pytest.raises(VideoNotFound):
        await service.detach_tag(video.id, tag.id, acting_user_id=BOB)
    await service.detach_tag(video.id, tag.id, acting_user_id=ALICE)
    assert await service.list_tags(video.id, acting_user_id=ALICE) == []
    with pytest.raises(TagNotLinked):
        await service.detach_tag(video.id, tag.id, acting_user_id=ALICE)
    assert count(plainsql_conn, "SELECT count(*) FROM tags") == 1


async def test_8_workers_tagging_with_one_new_name_create_one_tag(
    service: VideosService, plainsql_conn: Conn
) -> None:
    videos = [await add_video(service, ALICE, f"video{i:06d}") for i in range(8)]
    go = asyncio.Event()

    async def worker(video: VideoSummary) -> str:
        await go.wait()
        return (await service.attach_tag(video.id, "brand-new", acting_user_id=ALICE)).id

    tasks = [asyncio.create_task(worker(v)) for v in videos]
    go.set()
    ids = await asyncio.gather(*tasks)

    assert len(set(ids)) == 1
    assert count(plainsql_conn, "SELECT count(*) FROM tags") == 1
    assert count(plainsql_conn, "SELECT count(*) FROM video_summary_tags") == 8


# -- categories -------------------------------------------------------------------------


async def test_categories_are_unique_by_name_and_listed_by_name(service: VideosService) -> None:
    await service.create_category("Science", "Things about nature")
    await service.create_category("Art")
    with pytest.raises(CategoryNameTaken):
        await service.create_category("Science")
    assert [(c.name, c.description) for c in (await service.list_categories()).items] == [
        ("Art", None),
        ("Science", "Things about nature"),
    ]


async def test_attach_and_detach_category(service: VideosService, video: VideoSummary) -> None:
    category = await service.create_category("Music")
    assert await service.attach_category(video.id, category.id, acting_user_id=ALICE) is True
    assert await service.attach_category(video.id, category.id, acting_user_id=ALICE) is False
    assert [
        c.name for c in await service.list_video_categories(video.id, acting_user_id=ALICE)
    ] == ["Music"]
    assert await service.list_video_categories(video.id, acting_user_id=BOB) == []

    with pytest.raises(VideoNotFound):
        await service.attach_category(video.id, category.id, acting_user_id=BOB)
    with pytest.raises(CategoryNotFound):
        await service.attach_category(video.id, "no-such-category", acting_user_id=ALICE)
    with pytest.raises(VideoNotFound):
        await service.detach_category(video.id, category.id, acting_user_id=BOB)
    await service.detach_category(video.id, category.id, acting_user_id=ALICE)
    with pytest.raises(CategoryNotLinked):
        await service.detach_category(video.id, category.id, acting_user_id=ALICE)
    assert await service.list_video_categories(video.id, acting_user_id=ALICE) == []


async def test_a_shared_description_is_set_at_creation_then_changed_only_by_an_administrator(
    service: VideosService, video: VideoSummary, plainsql_conn: Conn
) -> None:
    bobs = await add_video(service, BOB, "bobsvideo01")
    tag = await service.attach_tag(
        video.id, "python", description="The language", acting_user_id=ALICE
    )
    again = await service.attach_tag(bobs.id, "python", description="A snake", acting_user_id=BOB)
    assert tag.description == again.description == "The language"  # the first one stays
    category = await service.create_category("Science", "Things about nature")

    for user in (ALICE, BOB):  # neither is an administrator yet
        with pytest.raises(NotAnAdministrator):
            await service.describe_tag(tag.id, "Mine", acting_user_id=user)
        with pytest.raises(NotAnAdministrator):
            await service.describe_category(category.id, "Mine", acting_user_id=user)
    plainsql_conn.execute("UPDATE users SET role = 'OWNER' WHERE id = %s", (ALICE,))
    plainsql_conn.commit()
    await service.describe_tag(tag.id, "A programming language", acting_user_id=ALICE)
    await service.describe_category(category.id, "Natural sciences", acting_user_id=ALICE)

    bobs_tags = await service.list_tags(bobs.id, acting_user_id=BOB)
    assert [(t.name, t.description) for t in bobs_tags] == [("python", "A programming language")]
    assert [c.description for c in (await service.list_categories()).items] == ["Natural sciences"]
    with pytest.raises(TagNotFound):
        await service.describe_tag("no-such-tag", "x", acting_user_id=ALICE)
    with pytest.raises(CategoryNotFound):
        await service.describe_category("no-such-category", "x", acting_user_id=ALICE)
    # Even an administrator's requests never UPDATE the shared tables directly.
    for table in ("tags", "categories"):
        with pytest.raises(PermissionDenied):
            async with service.db.transaction(acting_user=ALICE) as conn:
                await conn.execute(f"UPDATE {table} SET description = 'direct'")


# -- keyframes --------------------------------------------------------------------------


async def test_keyframes_are_listed_in_time_order(
    service: VideosService, video: VideoSummary
) -> None:
    for second in (90, 5, 42, 0):
        await service.add_keyframe(
            video.id,
            timestamp_seconds=second,
            image_url=f"https://frames.example/{second}.jpg",
            description=f"at {second}s",
            acting_user_id=ALICE,
        )
    frames = (await service.list_keyframes(video.id, acting_user_id=ALICE)).items
    assert [f.timestamp_seconds for f in frames] == [0, 5, 42, 90]
    assert frames[2].image_url == "https://frames.example/42.jpg"
    assert frames[2].description == "at 42s"
    assert (await service.list_keyframes(video.id, acting_user_id=BOB)).items == ()


async def test_keyframes_cannot_be_added_to_another_users_video(
    service: VideosService, video: VideoSummary, plainsql_conn: Conn
) -> None:
    with pytest.raises(VideoNotFound):
        await service.add_keyframe(
            video.id, timestamp_seconds=1, image_url="https://x", acting_user_id=BOB
        )
    assert count(plainsql_conn, "SELECT count(*) FROM keyframes") == 0
