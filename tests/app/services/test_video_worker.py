"""VideoWorkerQueue: what the summarising worker's queue (migration 0052) does that the meeting
queue does not. What every work queue does is tested for both in test_worker_queue.py."""

from __future__ import annotations

from typing import Any

import psycopg

from plainsql import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import ProcessingStatus
from reference_apps.services.videos import VideosService

from ..fixtures import VideoQueue, add_pending_videos

Conn = psycopg.Connection[tuple[Any, ...]]


async def test_a_user_retrying_a_failed_video_gives_it_its_attempts_back(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    (video_id,) = add_pending_videos(plainsql_conn, 1)
    q = VideoQueue(plainsql_async_db, typed_queries, "w", max_attempts=1)
    (claim,) = await q.claim()
    assert await q.queue.fail(claim, "boom") == "failed"
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
    assert await q.complete(again, "the retry")
    assert not await q.complete(claim, "stale")  # the first claim stays dead
    assert VideoQueue.item(plainsql_conn, video_id)[:2] == ("completed", 1)
