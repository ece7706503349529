"""Builders the application's tests share (datasette's tests/fixtures.py): users, workspaces,
writers of audit entries, the work queues' items and workers.

Fixtures that use them live in tests/app/services/conftest.py; a test module imports the
builders and constants from here instead of writing its own copy.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar, Generic, NamedTuple, Protocol, TypeVar

from plainsql import AsyncDatabase, Conn
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.crypto import EncryptionKey, KeyRing
from reference_apps.services.meeting_worker import ClaimedMeeting, MeetingWorkerQueue
from reference_apps.services.video_worker import ClaimedVideo, VideoWorkerQueue
from reference_apps.services.workspaces import Workspace, WorkspaceService

ALICE = "user-alice"
BOB = "user-bob"

# The encryption keys of the services under test (fixed, so that a failure reproduces): the
# tests never depend on the configuration or write a key file into the project.
TEST_KEY = EncryptionKey("test-1", bytes(range(32)))
TEST_KEYS = KeyRing([TEST_KEY], source="the tests' keys")


def add_alice_and_bob(conn: Conn) -> None:
    """Two plain users, ALICE and BOB, committed."""
    conn.execute(
        "INSERT INTO users (id, name, email) VALUES (%s, 'Alice', 'alice@example.com'),"
        " (%s, 'Bob', 'bob@example.com')",
        (ALICE, BOB),
    )
    conn.commit()


async def add_workspace(
    db: AsyncDatabase, q: AsyncTypedQueries, name: str, embed_depth: int = 5
) -> Workspace:
    """A user called ``name`` with a workspace of the same slug."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
            (name, name, f"{name}@example.com"),
        )
    return await WorkspaceService(db, q).create(
        acting_user_id=name, slug=name, name=name, embed_depth=embed_depth
    )


async def write_audit_entries(
    db: AsyncDatabase, q: AsyncTypedQueries, user_id: str, done: asyncio.Event
) -> list[str]:
    """As ``user_id`` (the application role), rename the user, one committed unit per name,
    until ``done`` is set; the names written. Each rename is one audit entry, found by its
    ``new_row ->> 'name'``."""
    names: list[str] = []
    rename = q.auth.update_user_profile
    while not done.is_set() or not names:
        name = f"{user_id} #{len(names)}"
        await db.unit(acting_user=user_id).run(
            rename, user_id=user_id, name=name, set_image=False, image=None,
            set_username=False, username=None,
        )  # fmt: skip
        names.append(name)
    return names


def add_writers(conn: Conn, count: int) -> list[str]:
    """``count`` users ``writer-0``... (committed) who write audit entries; their ids."""
    ids = [f"writer-{n}" for n in range(count)]
    conn.execute(
        "INSERT INTO users (id, name, email)"
        " SELECT id, id, id || '@example.com' FROM unnest(%s::text[]) AS id",
        (ids,),
    )
    conn.commit()
    return ids


# --- the work queues (base.WorkerQueue): the video summaries' and the meetings' ---------------


class QueueItem(NamedTuple):
    """An item of a work queue (a video summary, a meeting) as a test reads it back."""

    status: str
    attempts: int  # the claims made
    error: str | None  # the last failure's reason
    given_up: bool  # never claimed again
    result: object  # what completing it stored; None before
    unclaimed: bool  # no claim holds it: token, lease and worker cleared


_UNCLAIMED = "claim_token IS NULL AND claimed_until IS NULL AND claimed_by IS NULL"


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


def video_items(conn: Conn, ids: Sequence[str]) -> dict[str, QueueItem]:
    """The videos of ``ids`` as queue items: a failed video is given up, its result is the
    AI-generated content."""
    rows = conn.execute(
        "SELECT id, processing_status::text, processing_attempts, processing_error,"
        f" processing_status = 'failed', ai_generated_content, {_UNCLAIMED}"
        " FROM video_summaries WHERE id = any(%s)",
        (list(ids),),
    ).fetchall()
    conn.commit()
    return {row[0]: QueueItem(*row[1:]) for row in rows}


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


def meeting_items(conn: Conn, ids: Sequence[str]) -> dict[str, QueueItem]:
    """The meetings of ``ids`` as queue items: given up when ``processing_failed_at`` is set;
    the result is the transcript url, the recording url and the summary (None when all three
    are)."""
    rows = conn.execute(
        "SELECT id, status::text, processing_attempts, processing_error,"
        " processing_failed_at IS NOT NULL, transcript_url, recording_url, summary,"
        f" {_UNCLAIMED} FROM meetings WHERE id = any(%s)",
        (list(ids),),
    ).fetchall()
    conn.commit()
    items: dict[str, QueueItem] = {}
    for id_, status, attempts, error, given_up, transcript, recording, summary, unclaimed in rows:
        result = (transcript, recording, summary)
        shown = None if result == (None, None, None) else result
        items[id_] = QueueItem(status, attempts, error, given_up, shown, unclaimed)
    return items


Claim = TypeVar("Claim", ClaimedVideo, ClaimedMeeting)


class Claiming(Protocol[Claim]):
    """A work queue's claim (its return type is the queue's own)."""

    async def claim(self, batch_size: int = 10) -> list[Claim]: ...


class QueueUnderTest(ABC, Generic[Claim]):
    """A worker of one of the work queues, as the queues' shared tests drive it
    (tests/app/services/test_worker_queue.py): the queue's own calls, each reporting the same
    way whatever the queue, and how to fill the queue and read its items back."""

    table: ClassVar[str]
    paths: ClassVar[Mapping[str, str]]  # claim, complete, fail: the worker's SQL functions
    retry_status: ClassVar[str]  # an item's status after a failure that leaves attempts
    given_up_status: ClassVar[str]  # and after the last attempt's
    drain: ClassVar[tuple[int, int]]  # the concurrent drain: items, batch size
    queue: Claiming[Claim]  # the queue's own worker

    @abstractmethod
    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries, name: str, **kw: int) -> None:
        """A worker called ``name``, with the queue's settings ``kw`` (lease_seconds, ...)."""

    @staticmethod
    @abstractmethod
    def add(conn: Conn, count: int) -> list[str]:
        """``count`` claimable items, committed; their ids."""

    @staticmethod
    @abstractmethod
    def items(conn: Conn, ids: Sequence[str]) -> dict[str, QueueItem]:
        """The items of ``ids`` as they are now."""

    @classmethod
    def item(cls, conn: Conn, item_id: str) -> QueueItem:
        return cls.items(conn, [item_id])[item_id]

    async def claim(self, batch_size: int = 10) -> list[Claim]:
        return await self.queue.claim(batch_size)

    @abstractmethod
    async def complete(self, claim: Claim, by: str) -> bool:
        """Complete ``claim`` with the result :meth:`result` names; False when the claim is no
        longer the item's newest."""

    @staticmethod
    @abstractmethod
    def result(claim: Claim, by: str) -> object:
        """What :meth:`complete` stores, as :meth:`items` reads it back."""

    @abstractmethod
    async def fail(self, claim: Claim, reason: str) -> tuple[int, bool] | None:
        """Fail ``claim``: the attempts made and whether the item is given up; None when the
        claim is no longer the item's newest."""


class VideoQueue(QueueUnderTest[ClaimedVideo]):
    """A worker of the videos' queue (:class:`VideoWorkerQueue`)."""

    table = "video_summaries"
    paths: ClassVar[Mapping[str, str]] = {
        "claim": "app_claim_videos(text, integer, integer, integer)",
        "complete": "app_complete_video(text, uuid, jsonb)",
        "fail": "app_fail_video(text, uuid, text, integer)",
    }
    retry_status = "pending"
    given_up_status = "failed"
    drain = (1000, 25)
    add = staticmethod(add_pending_videos)
    items = staticmethod(video_items)

    queue: VideoWorkerQueue

    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries, name: str, **kw: int) -> None:
        self.queue = VideoWorkerQueue(db, q, name, **kw)

    async def complete(self, claim: ClaimedVideo, by: str) -> bool:
        return await self.queue.complete(claim, {"summary": f"by {by}"})

    @staticmethod
    def result(claim: ClaimedVideo, by: str) -> object:
        return {"summary": f"by {by}"}

    async def fail(self, claim: ClaimedVideo, reason: str) -> tuple[int, bool] | None:
        status = await self.queue.fail(claim, reason)
        if status is None:
            return None
        return claim.processing_attempts, {"pending": False, "failed": True}[status]


class MeetingQueue(QueueUnderTest[ClaimedMeeting]):
    """A worker of the meetings' queue (:class:`MeetingWorkerQueue`)."""

    table = "meetings"
    paths: ClassVar[Mapping[str, str]] = {
        "claim": "app_claim_meetings(text, integer, integer, integer)",
        "complete": "app_complete_meeting(text, uuid, text, text, text)",
        "fail": "app_fail_meeting(text, uuid, text, integer)",
    }
    retry_status = "processing"  # the meeting_status contract has no failed label
    given_up_status = "processing"
    drain = (200, 7)
    add = staticmethod(add_meetings)
    items = staticmethod(meeting_items)

    queue: MeetingWorkerQueue

    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries, name: str, **kw: int) -> None:
        self.queue = MeetingWorkerQueue(db, q, name, **kw)

    async def complete(self, claim: ClaimedMeeting, by: str) -> bool:
        transcript_url, recording_url, summary = self.result(claim, by)
        return await self.queue.complete(
            claim, transcript_url=transcript_url, recording_url=recording_url, summary=summary
        )

    @staticmethod
    def result(claim: ClaimedMeeting, by: str) -> tuple[str, str, str]:
        return (
            f"https://cdn.example/{claim.id}.vtt",
            f"https://cdn.example/{claim.id}.mp4",
            f"summary of {claim.name} by {by}",
        )

    async def fail(self, claim: ClaimedMeeting, reason: str) -> tuple[int, bool] | None:
        failed = await self.queue.fail(claim, reason)
        if failed is None:
            return None
        return failed.processing_attempts, failed.processing_failed_at is not None
