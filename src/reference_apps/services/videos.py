"""The video-summary library: a user's YouTube video summaries, tags, categories, keyframes."""

from __future__ import annotations

from plainsql.errors import ForeignKeyViolation, UniqueViolation, translate_constraint
from plainsql.pool import AsyncConn
from plainsql.queries import Queries
from plainsql.runtime_async import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    CategoryRow,
    JSONParam,
    KeyframeRow,
    ListVideoSummariesByUserRow,
    TagRow,
    VideoSummaryRow,
)
from reference_apps.db.records import (
    ProcessingStatus as ProcessingStatus,  # the enum's labels
)
from reference_apps.services.errors import AlreadyExists, NotFound

Category = CategoryRow
Keyframe = KeyframeRow
Tag = TagRow
VideoSummary = VideoSummaryRow
# A video as listed: its columns with its tag_count and its category_names (sorted).
VideoSummaryListItem = ListVideoSummariesByUserRow


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


class VideosService:
    """A user's video library. Reads return None (or nothing) for another user's video;
    writes to it raise :class:`VideoNotFound`."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

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
            async with self.db.transaction(acting_user=user_id) as conn:
                row = await self.q.videos.create_video_summary(
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
        return row

    async def get_video(self, video_id: str, user_id: str) -> VideoSummary | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.get_video_summary_by_id(
                conn, video_summary_id=video_id, user_id=user_id
            )

    async def get_video_by_youtube_id(self, user_id: str, youtube_id: str) -> VideoSummary | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.get_video_summary_by_youtube_id(
                conn, user_id=user_id, youtube_id=youtube_id
            )

    async def list_videos(self, user_id: str) -> list[VideoSummaryListItem]:
        """The user's videos, newest first, with tag counts and category names (one query)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.list_video_summaries_by_user(conn, user_id=user_id)

    async def set_processing_status(
        self,
        video_id: str,
        user_id: str,
        status: ProcessingStatus,
        error: str | None = None,
    ) -> VideoSummary:
        """Set the processing status and its error (None clears a previous error)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.videos.update_video_summary_status(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                processing_status=status,
                processing_error=error,
            )
        return self._found(row, video_id)

    async def store_ai_content(
        self, video_id: str, user_id: str, content: JSONParam
    ) -> VideoSummary:
        """Store the AI-generated content (any JSON value; None stores SQL NULL)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.videos.update_video_summary_content(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                ai_generated_content=content,
            )
        return self._found(row, video_id)

    async def delete_video(self, video_id: str, user_id: str) -> None:
        """Delete the video with its tag and category links and keyframes."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.videos.delete_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )
        if deleted == 0:
            raise VideoNotFound(f"no video summary {video_id} for this user")

    # -- tags and categories --------------------------------------------------------------

    async def attach_tag(self, video_id: str, user_id: str, name: str) -> Tag:
        """Tag the video with ``name``, creating the tag when missing; returns the tag."""
        async with self.db.transaction(acting_user=user_id) as conn:
            # Two statements: the second's snapshot sees a tag a concurrent call just added.
            await self.q.videos.create_tag_if_missing(conn, name=name)
            row = await self.q.videos.create_video_summary_tag_by_name(
                conn, video_summary_id=video_id, user_id=user_id, name=name
            )
            if row is None:
                # Raising rolls the transaction back: no tag is left behind for a missing video.
                raise VideoNotFound(f"no video summary {video_id} for this user")
        return row

    async def detach_tag(self, video_id: str, user_id: str, tag_id: str) -> None:
        """Remove the tag from the video (the tag itself stays)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.videos.delete_video_summary_tag(
                conn, video_summary_id=video_id, user_id=user_id, tag_id=tag_id
            )
            if deleted == 0:
                await self._require_video(conn, video_id, user_id)
                raise TagNotLinked(f"video summary {video_id} has no tag {tag_id}")

    async def list_tags(self, video_id: str, user_id: str) -> list[Tag]:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.list_tags_by_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )

    async def create_category(self, name: str, description: str | None = None) -> Category:
        # Categories (like tags) are a shared catalogue: no policy, no acting user needed; the
        # application role may read and add them, never rename or delete one.
        try:
            async with self.db.transaction() as conn:
                row = await self.q.videos.create_category(conn, name=name, description=description)
        except UniqueViolation as e:
            raise translate_constraint(e, {"categories_name_key": CategoryNameTaken}) from e
        return row

    async def list_categories(self) -> list[Category]:
        async with self.db.transaction() as conn:
            return await self.q.videos.list_categories(conn)

    async def attach_category(self, video_id: str, user_id: str, category_id: str) -> bool:
        """Put the video in the category; returns False if it was in it already."""
        try:
            async with self.db.transaction(acting_user=user_id) as conn:
                row = await self.q.videos.create_video_summary_category(
                    conn, video_summary_id=video_id, user_id=user_id, category_id=category_id
                )
                if not row.video_found:
                    raise VideoNotFound(f"no video summary {video_id} for this user")
        except ForeignKeyViolation as e:
            raise translate_constraint(
                e, {"video_summary_categories_category_id_fkey": CategoryNotFound}
            ) from e
        return row.linked

    async def detach_category(self, video_id: str, user_id: str, category_id: str) -> None:
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.videos.delete_video_summary_category(
                conn, video_summary_id=video_id, user_id=user_id, category_id=category_id
            )
            if deleted == 0:
                await self._require_video(conn, video_id, user_id)
                raise CategoryNotLinked(f"video summary {video_id} is not in {category_id}")

    async def list_video_categories(self, video_id: str, user_id: str) -> list[Category]:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.list_categories_by_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )

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
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.videos.create_keyframe(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                timestamp_seconds=timestamp_seconds,
                image_url=image_url,
                description=description,
            )
        if row is None:
            raise VideoNotFound(f"no video summary {video_id} for this user")
        return row

    async def list_keyframes(self, video_id: str, user_id: str) -> list[Keyframe]:
        """The video's keyframes in time order."""
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.list_keyframes_by_video_summary(
                conn, video_summary_id=video_id, user_id=user_id
            )

    # -- helpers --------------------------------------------------------------------------

    async def _require_video(self, conn: AsyncConn, video_id: str, user_id: str) -> None:
        row = await self.q.videos.get_video_summary_by_id(
            conn, video_summary_id=video_id, user_id=user_id
        )
        if row is None:
            raise VideoNotFound(f"no video summary {video_id} for this user")

    @staticmethod
    def _found(row: VideoSummary | None, video_id: str) -> VideoSummary:
        if row is None:
            raise VideoNotFound(f"no video summary {video_id} for this user")
        return row
