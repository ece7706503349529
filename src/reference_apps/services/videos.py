"""The video-summary library: a user's YouTube video summaries, tags, categories, keyframes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from plainsql import AsyncConn, AsyncDatabase, Queries
from plainsql.errors import (
    ForeignKeyViolation,
    InvalidInput,
    UniqueViolation,
    translate_constraint,
)
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    CategoryRow,
    JSONParam,
    KeyframeRow,
    ListTagCountsByUserRow,
    ListVideoSummariesByCategoryRow,
    ListVideoSummariesSearchRow,
    TagRow,
    UpdateVideoSummaryTagsRelinkRow,
    VideoSummaryRow,
)
from reference_apps.db.records import (
    ProcessingStatus as ProcessingStatus,  # the enum's labels
)
from reference_apps.services.bounds import page_size as bounded_page_size
from reference_apps.services.bounds import search_text
from reference_apps.services.errors import AlreadyExists, NotFound
from reference_apps.services.paging import Page, decode_cursor, page_of

Category = CategoryRow
Keyframe = KeyframeRow
Tag = TagRow
VideoSummary = VideoSummaryRow
# A video as listed: its columns with its tag_count and its category_names (sorted).
VideoSummaryListItem = ListVideoSummariesByCategoryRow
VideoPage = Page[VideoSummaryListItem]
# A search hit: id, title, processing_status, created_at, rank and an html snippet.
VideoSearchResult = ListVideoSummariesSearchRow
# A tag (id, name) with video_count: how many of the user's videos carry it.
TagCount = ListTagCountsByUserRow
# A per-user tag "rename": the new tag's id and name, and relinked_count.
TagRelinked = UpdateVideoSummaryTagsRelinkRow


@dataclass(frozen=True, slots=True)
class KeyframeInput:
    """One keyframe to add with :meth:`VideosService.add_keyframes`."""

    timestamp_seconds: int
    image_url: str
    description: str | None = None  # None or "" stores NULL


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


class TagNotFound(NotFound):
    """No tag with that name."""


class KeyframeNotFound(NotFound):
    """No such keyframe of the video, or the video is another user's."""


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

    async def list_videos(
        self,
        user_id: str,
        *,
        status: ProcessingStatus | None = None,
        tag_id: str | None = None,
        category_id: str | None = None,
        after: str | None = None,
        page_size: int = 20,
    ) -> VideoPage:
        """One page of the user's videos, newest first, with tag counts and category names
        (sorted); optionally only those in one processing status, with one tag, or in one
        category (at most one filter: InvalidInput otherwise). The videos of a tag or a
        category come in the order of the link table's key, the video id (stable, not by
        date): the order its index serves. ``after`` is the previous page's
        ``next_cursor``, valid only for the same filter. Keyset paging (paging.py)."""
        bounded_page_size(page_size, "page_size")
        given = [
            n
            for n, v in (("status", status), ("tag_id", tag_id), ("category_id", category_id))
            if v is not None
        ]
        if len(given) > 1:
            raise InvalidInput(f"list_videos filters by one of {', '.join(given)}", query_name="")
        kind = "videos" + "".join(f"-by-{n}" for n in given)
        start = decode_cursor(kind, after)
        async with self.db.transaction(acting_user=user_id) as conn:
            if status is not None:
                rows = await self.q.videos.list_video_summaries_by_status(
                    conn,
                    user_id=user_id,
                    processing_status=status,
                    before_created_at=start.created_at,
                    before_id=start.id,
                    page_size=page_size + 1,
                )
            elif tag_id is not None:
                rows = await self.q.videos.list_video_summaries_by_tag(
                    conn, user_id=user_id, tag_id=tag_id, after_id=start.id, page_size=page_size + 1
                )
            elif category_id is not None:
                rows = await self.q.videos.list_video_summaries_by_category(
                    conn,
                    user_id=user_id,
                    category_id=category_id,
                    after_id=start.id,
                    page_size=page_size + 1,
                )
            else:
                rows = await self.q.videos.list_video_summaries_by_user(
                    conn,
                    user_id=user_id,
                    before_created_at=start.created_at,
                    before_id=start.id,
                    page_size=page_size + 1,
                )
        # the SQL leaves category names unordered (no sort in the page plan); sort them here
        rows = [replace(r, category_names=sorted(r.category_names)) for r in rows]
        if tag_id is not None or category_id is not None:  # link-table order: by video id
            return page_of(kind, rows, page_size, lambda r: (None, r.id))
        return page_of(kind, rows, page_size, lambda r: (r.created_at, r.id))

    async def search_videos(
        self, user_id: str, query: str, *, limit: int = 20
    ) -> list[VideoSearchResult]:
        """The user's videos whose title or AI summary (``ai_generated_content['summary']``)
        match ``query`` (web-search syntax: words, "phrases", -not, or), best first: a
        title match ranks above a summary match. Each has an html ``snippet`` of title and
        summary with the matches in ``<mark>``: the user's own text, not escaped. A ranked
        top-``limit``, not a paged list."""
        bounded_page_size(limit, "limit")
        search_text(query, "query")
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.list_video_summaries_search(
                conn, user_id=user_id, query=query, limit=limit
            )

    async def set_processing_status(
        self,
        video_id: str,
        user_id: str,
        status: ProcessingStatus,
        error: str | None = None,
    ) -> VideoSummary:
        """Set the processing status and its error (None clears a previous error). A worker's
        lease on the video is dropped (its late report changes nothing); ``pending`` (a retry
        the user asks for) gives the worker queue its attempts back."""
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

    async def list_tag_counts(self, user_id: str, *, limit: int = 100) -> list[TagCount]:
        """The tags on the user's videos with how many of their videos carry each, most used
        first, then by name; at most ``limit``."""
        bounded_page_size(limit, "limit")
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.list_tag_counts_by_user(conn, user_id=user_id, limit=limit)

    async def rename_tag(self, user_id: str, tag_id: str, new_name: str) -> TagRelinked:
        """ "Rename" a tag for this user only. Tags are a shared catalogue (``tags.name`` is
        unique across users), so the row is never renamed: every video of the user's tagged
        ``tag_id`` is relinked to the tag named ``new_name`` (created when missing), in one
        unit. Other users' videos keep the old tag; the old tag stays in the catalogue.
        Returns the new tag's id and name and how many videos were relinked (0 when the user
        has no video with the tag)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            # Two statements: the second's snapshot sees a tag a concurrent call just added.
            await self.q.videos.create_tag_if_missing(conn, name=new_name)
            row = await self.q.videos.update_video_summary_tags_relink(
                conn, user_id=user_id, tag_id=tag_id, new_name=new_name
            )
        if row is None:  # the tag was created above: only a concurrent purge could do this
            raise TagNotFound(f"no tag named {new_name!r}")
        return row

    async def drop_tag(self, user_id: str, tag_id: str) -> int:
        """Take the tag off every video of the user's; how many lost it. The shared tag and
        other users' links stay."""
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.videos.delete_video_summary_tags_by_tag(
                conn, user_id=user_id, tag_id=tag_id
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

    async def add_keyframes(
        self, video_id: str, user_id: str, keyframes: Sequence[KeyframeInput]
    ) -> list[Keyframe]:
        """Add many keyframes in one INSERT (not COPY: PostgreSQL refuses COPY FROM into a
        table with row-level security for a role its policies bind); all or none. Returned in
        time order. VideoNotFound for another user's video; an empty list adds nothing."""
        if not keyframes:
            return []
        async with self.db.transaction(acting_user=user_id) as conn:
            rows = await self.q.videos.create_keyframes(
                conn,
                video_summary_id=video_id,
                user_id=user_id,
                timestamps_seconds=[k.timestamp_seconds for k in keyframes],
                image_urls=[k.image_url for k in keyframes],
                descriptions=[k.description or "" for k in keyframes],  # "" stores NULL
            )
            if not rows:
                raise VideoNotFound(f"no video summary {video_id} for this user")
        return rows

    async def delete_keyframe(self, keyframe_id: str, video_id: str, user_id: str) -> None:
        """Delete one keyframe of the user's video; KeyframeNotFound when there is none."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.videos.delete_keyframe(
                conn, keyframe_id=keyframe_id, video_summary_id=video_id, user_id=user_id
            )
        if deleted == 0:
            raise KeyframeNotFound(f"no keyframe {keyframe_id} of video {video_id} for this user")

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
