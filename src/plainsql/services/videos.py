"""The video-summary library: a user's YouTube video summaries, tags, categories, keyframes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from plainsql.errors import ForeignKeyViolation, UniqueViolation, translate_constraint
from plainsql.queries import Queries
from plainsql.services.errors import AlreadyExists, NotFound


class ProcessingStatus(StrEnum):
    """The ``processing_status`` enum, same labels and order."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class DuplicateVideo(AlreadyExists):
    """The user already has a summary of this YouTube video."""


class CategoryNameTaken(AlreadyExists):
    """A category with this name exists."""


class VideoNotFound(NotFound):
    """No such video summary, or it belongs to another user."""


class CategoryNotFound(NotFound):
    """No category with that id."""


class TagNotLinked(NotFound):
    """The video has no such tag."""


class CategoryNotLinked(NotFound):
    """The video is not in that category."""


@dataclass(frozen=True, slots=True)
class VideoSummary:
    id: str
    user_id: str
    youtube_url: str
    youtube_id: str
    title: str
    description: str | None
    channel_name: str | None
    duration: int | None
    thumbnail_url: str | None
    processing_status: ProcessingStatus
    processing_error: str | None
    ai_generated_content: Any  # any JSON value, None when not generated yet
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VideoSummaryListItem:
    """A video as listed: with its tag count and its category names (sorted)."""

    video: VideoSummary
    tag_count: int
    category_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tag:
    id: str
    name: str
    description: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    description: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Keyframe:
    id: str
    video_summary_id: str
    timestamp_seconds: int
    image_url: str
    description: str | None
    created_at: datetime


def _video(row: Mapping[str, Any]) -> VideoSummary:
    return VideoSummary(
        id=row["id"],
        user_id=row["user_id"],
        youtube_url=row["youtube_url"],
        youtube_id=row["youtube_id"],
        title=row["title"],
        description=row["description"],
        channel_name=row["channel_name"],
        duration=row["duration"],
        thumbnail_url=row["thumbnail_url"],
        processing_status=ProcessingStatus(row["processing_status"]),
        processing_error=row["processing_error"],
        ai_generated_content=row["ai_generated_content"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _tag(row: Mapping[str, Any]) -> Tag:
    return Tag(
        id=row["id"], name=row["name"], description=row["description"], created_at=row["created_at"]
    )


def _category(row: Mapping[str, Any]) -> Category:
    return Category(
        id=row["id"], name=row["name"], description=row["description"], created_at=row["created_at"]
    )


def _keyframe(row: Mapping[str, Any]) -> Keyframe:
    return Keyframe(
        id=row["id"],
        video_summary_id=row["video_summary_id"],
        timestamp_seconds=row["timestamp_seconds"],
        image_url=row["image_url"],
        description=row["description"],
        created_at=row["created_at"],
    )


class VideosService:
    """A user's video library. Reads return None (or nothing) for another user's video;
    writes to it raise :class:`VideoNotFound`."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]], queries: Queries) -> None:
        self.pool = pool
        self.queries = queries

    # -- video summaries ------------------------------------------------------------------

    async def create_video(
        self,
        user_id: str,
        *,
        youtube_url: str,
        youtube_id: str,
        title: str,
        description: str | None = None,
        channel_name: str | None = None,
        duration: int | None = None,
        thumbnail_url: str | None = None,
    ) -> VideoSummary:
        """A new pending summary; the same YouTube video twice for one user is DuplicateVideo."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                row = await self.queries.videos.create_video_summary(
                    conn,
                    user_id=user_id,
                    youtube_url=youtube_url,
                    youtube_id=youtube_id,
                    title=title,
                    description=description,
                    channel_name=channel_name,
                    duration=duration,
                    thumbnail_url=thumbnail_url,
                )
        except UniqueViolation as e:
            raise translate_constraint(
                e, {"video_summaries_user_id_youtube_id_key": DuplicateVideo}
            ) from e
        return _video(row)

    async def get_video(self, video_id: str, user_id: str) -> VideoSummary | None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await self.queries.videos.get_video_summary_by_id(
                conn, video_summary_id=video_id, user_id=user_id
            )
        return None if row is None else _video(row)

    async def get_video_by_youtube_id(self, user_id: str, youtube_id: str) -> VideoSummary | None:
        async with self.pool.connection() as conn, conn.transaction():
            row = await self.queries.videos.get_video_summary_by_youtube_id(
                conn, user_id=user_id, youtube_id=youtube_id
            )
        return None if row is None else _video(row)

    async def list_videos(self, user_id: str) -> list[VideoSummaryListItem]:
        """The user's videos, newest first, with tag counts and category names (one query)."""
        async with self.pool.connection() as conn, conn.transaction():
            rows = await self.queries.videos.list_video_summaries_by_user(conn, user_id=user_id)
        return [
            VideoSummaryListItem(_video(row), row["tag_count"], tuple(row["category_names"]))
            for row in rows
        ]

    async def set_processing_status(
        self,
        video_id: str,
        user_id: str,
        status: ProcessingStatus,
        error: str | None = None,
    ) -> VideoSummary:
        """Set the processing status and its error (None clears a previous error)."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await self.queries.videos.update_video_summary_status(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                processing_status=status.value,
                processing_error=error,
            )
        return self._found(row, video_id)

    async def store_ai_content(self, video_id: str, user_id: str, content: Any) -> VideoSummary:
        """Store the AI-generated content (any JSON value)."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await self.queries.videos.update_video_summary_content(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                ai_generated_content=None if content is None else Jsonb(content),
            )
        return self._found(row, video_id)

    async def delete_video(self, video_id: str, user_id: str) -> None:
        """Delete the video with its tag and category links and keyframes."""
        async with self.pool.connection() as conn, conn.transaction():
            deleted = await self.queries.videos.delete_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )
        if deleted == 0:
            raise VideoNotFound(f"no video summary {video_id} for this user")

    # -- tags and categories --------------------------------------------------------------

    async def attach_tag(self, video_id: str, user_id: str, name: str) -> Tag:
        """Tag the video with ``name``, creating the tag when missing; returns the tag."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await self.queries.videos.create_video_summary_tag_by_name(
                conn, video_summary_id=video_id, user_id=user_id, name=name
            )
            if not row["video_found"]:
                # Raising rolls the transaction back: no tag is left behind for a missing video.
                raise VideoNotFound(f"no video summary {video_id} for this user")
        return _tag(row)

    async def detach_tag(self, video_id: str, user_id: str, tag_id: str) -> None:
        """Remove the tag from the video (the tag itself stays)."""
        async with self.pool.connection() as conn, conn.transaction():
            deleted = await self.queries.videos.delete_video_summary_tag(
                conn, video_summary_id=video_id, user_id=user_id, tag_id=tag_id
            )
            if deleted == 0:
                await self._require_video(conn, video_id, user_id)
                raise TagNotLinked(f"video summary {video_id} has no tag {tag_id}")

    async def list_tags(self, video_id: str, user_id: str) -> list[Tag]:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await self.queries.videos.list_tags_by_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )
        return [_tag(row) for row in rows]

    async def create_category(self, name: str, description: str | None = None) -> Category:
        try:
            async with self.pool.connection() as conn, conn.transaction():
                row = await self.queries.videos.create_category(
                    conn, name=name, description=description
                )
        except UniqueViolation as e:
            raise translate_constraint(e, {"categories_name_key": CategoryNameTaken}) from e
        return _category(row)

    async def list_categories(self) -> list[Category]:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await self.queries.videos.list_categories(conn)
        return [_category(row) for row in rows]

    async def attach_category(self, video_id: str, user_id: str, category_id: str) -> bool:
        """Put the video in the category; returns False if it was in it already."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                row = await self.queries.videos.create_video_summary_category(
                    conn, video_summary_id=video_id, user_id=user_id, category_id=category_id
                )
                if not row["video_found"]:
                    raise VideoNotFound(f"no video summary {video_id} for this user")
        except ForeignKeyViolation as e:
            raise translate_constraint(
                e, {"video_summary_categories_category_id_fkey": CategoryNotFound}
            ) from e
        linked: bool = row["linked"]
        return linked

    async def detach_category(self, video_id: str, user_id: str, category_id: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            deleted = await self.queries.videos.delete_video_summary_category(
                conn, video_summary_id=video_id, user_id=user_id, category_id=category_id
            )
            if deleted == 0:
                await self._require_video(conn, video_id, user_id)
                raise CategoryNotLinked(f"video summary {video_id} is not in {category_id}")

    async def list_video_categories(self, video_id: str, user_id: str) -> list[Category]:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await self.queries.videos.list_categories_by_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )
        return [_category(row) for row in rows]

    # -- keyframes ------------------------------------------------------------------------

    async def add_keyframe(
        self,
        video_id: str,
        user_id: str,
        *,
        timestamp_seconds: int,
        image_url: str,
        description: str | None = None,
    ) -> Keyframe:
        async with self.pool.connection() as conn, conn.transaction():
            row = await self.queries.videos.create_keyframe(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                timestamp_seconds=timestamp_seconds,
                image_url=image_url,
                description=description,
            )
        if row is None:
            raise VideoNotFound(f"no video summary {video_id} for this user")
        return _keyframe(row)

    async def list_keyframes(self, video_id: str, user_id: str) -> list[Keyframe]:
        """The video's keyframes in time order."""
        async with self.pool.connection() as conn, conn.transaction():
            rows = await self.queries.videos.list_keyframes_by_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )
        return [_keyframe(row) for row in rows]

    # -- helpers --------------------------------------------------------------------------

    async def _require_video(self, conn: AsyncConnection[Any], video_id: str, user_id: str) -> None:
        row = await self.queries.videos.get_video_summary_by_id(
            conn, video_summary_id=video_id, user_id=user_id
        )
        if row is None:
            raise VideoNotFound(f"no video summary {video_id} for this user")

    @staticmethod
    def _found(row: Mapping[str, Any] | None, video_id: str) -> VideoSummary:
        if row is None:
            raise VideoNotFound(f"no video summary {video_id} for this user")
        return _video(row)
