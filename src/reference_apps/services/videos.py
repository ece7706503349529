"""The video-summary library: a user's YouTube video summaries, tags, categories, keyframes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict

from plainsql import AsyncConn, KeysetList, Page, exactly_one
from plainsql.errors import InvalidInput
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
from reference_apps.services.base import BeforeCreated, Service
from reference_apps.services.bounds import page_size as bounded_page_size
from reference_apps.services.bounds import search_text
from reference_apps.services.errors import AlreadyExists, NotFound

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


def _missing(video_id: str) -> VideoNotFound:
    return VideoNotFound(f"no video summary {video_id} for this user")


def _by_date(row: VideoSummaryListItem) -> tuple[datetime, str]:
    return (row.created_at, row.id)


def _by_id(row: VideoSummaryListItem) -> tuple[None, str]:
    return (None, row.id)


class _AfterId(TypedDict):
    """The cursor arguments of the lists in video id order."""

    after_id: str | None
    page_size: int


class _AfterTime(TypedDict):
    """The cursor arguments of a video's keyframes, in time order."""

    after_timestamp_seconds: int | None
    after_id: str | None
    page_size: int


class _AfterName(TypedDict):
    """The cursor arguments of the categories by name (unique: the whole key)."""

    after_name: str | None
    page_size: int


DEFAULT_PAGE_SIZE = 100

# The videos of a tag or a category come in the order of the link table's key, the video id
# (stable, not by date): the order its index serves.
VIDEOS = KeysetList("videos", _by_date, BeforeCreated)
VIDEOS_BY_STATUS = KeysetList("videos-by-status", _by_date, BeforeCreated)
VIDEOS_BY_TAG = KeysetList("videos-by-tag_id", _by_id, _AfterId)
VIDEOS_BY_CATEGORY = KeysetList("videos-by-category_id", _by_id, _AfterId)
KEYFRAMES = KeysetList[Keyframe, int, str, _AfterTime](
    "keyframes", lambda k: (k.timestamp_seconds, k.id), _AfterTime
)
CATEGORIES = KeysetList[Category, None, str, _AfterName](
    "categories", lambda c: (None, c.name), _AfterName
)


class VideosService(
    Service,
    constraint_errors={
        "video_summaries_user_id_youtube_id_key": DuplicateVideo,
        "categories_name_key": CategoryNameTaken,
        "video_summary_categories_category_id_fkey": CategoryNotFound,
    },
):
    """A user's video library. Reads return None (or nothing) for another user's video;
    writes to it raise :class:`VideoNotFound`."""

    # -- video summaries ------------------------------------------------------------------

    async def create_video(
        self,
        *,
        acting_user_id: str,
        youtube_url: str,
        youtube_id: str,
        title: str,
        description: str | None = None,
        channel_name: str | None = None,
        duration: int | None = None,
        thumbnail_url: str | None = None,
    ) -> VideoSummary:
        """A new pending summary; the same YouTube video twice for one user is DuplicateVideo."""
        return await self.writing(acting_user_id).run(
            self.q.videos.create_video_summary,
            user_id=acting_user_id,
            youtube_url=youtube_url,
            youtube_id=youtube_id,
            title=title,
            description=description,
            channel_name=channel_name,
            duration=duration,
            thumbnail_url=thumbnail_url,
        )

    async def get_video(self, video_id: str, *, acting_user_id: str) -> VideoSummary | None:
        get = self.q.videos.get_video_summary_by_id
        return await self.reading(acting_user_id).run(
            get, video_summary_id=video_id, user_id=acting_user_id
        )

    async def get_video_by_youtube_id(
        self, youtube_id: str, *, acting_user_id: str
    ) -> VideoSummary | None:
        get = self.q.videos.get_video_summary_by_youtube_id
        return await self.reading(acting_user_id).run(
            get, user_id=acting_user_id, youtube_id=youtube_id
        )

    async def list_videos(
        self,
        *,
        acting_user_id: str,
        status: ProcessingStatus | None = None,
        tag_id: str | None = None,
        category_id: str | None = None,
        after: str | None = None,
        page_size: int = 20,
    ) -> VideoPage:
        """One page of the user's videos, newest first, with tag counts and category names
        (sorted); optionally only those in one processing status, with one tag, or in one
        category (at most one filter: InvalidInput otherwise), in the order of the link
        table's key (the video id) for a tag or a category. ``after`` is the previous page's
        ``next_cursor``, valid only for the same filter."""
        given = [
            n
            for n, v in (("status", status), ("tag_id", tag_id), ("category_id", category_id))
            if v is not None
        ]
        if len(given) > 1:
            raise InvalidInput(f"list_videos filters by one of {', '.join(given)}", query_name="")
        q = self.q.videos
        if tag_id is not None:
            by_tag = VIDEOS_BY_TAG.request(after, page_size)
            rows = await self.reading(acting_user_id).run(
                q.list_video_summaries_by_tag,
                user_id=acting_user_id,
                tag_id=tag_id,
                **by_tag.arguments,
            )
            return by_tag.of(_sorted(rows))
        if category_id is not None:
            in_category = VIDEOS_BY_CATEGORY.request(after, page_size)
            rows = await self.reading(acting_user_id).run(
                q.list_video_summaries_by_category,
                user_id=acting_user_id,
                category_id=category_id,
                **in_category.arguments,
            )
            return in_category.of(_sorted(rows))
        if status is not None:
            page = VIDEOS_BY_STATUS.request(after, page_size)
            rows = await self.reading(acting_user_id).run(
                q.list_video_summaries_by_status,
                user_id=acting_user_id,
                processing_status=status,
                **page.arguments,
            )
        else:
            page = VIDEOS.request(after, page_size)
            rows = await self.reading(acting_user_id).run(
                q.list_video_summaries_by_user, user_id=acting_user_id, **page.arguments
            )
        return page.of(_sorted(rows))

    async def search_videos(
        self, query: str, *, acting_user_id: str, limit: int = 20
    ) -> list[VideoSearchResult]:
        """The user's videos whose title or AI summary (``ai_generated_content['summary']``)
        match ``query`` (web-search syntax: words, "phrases", -not, or), best first: a
        title match ranks above a summary match. Each has an html ``snippet`` of title and
        summary with the matches in ``<mark>``: the user's own text, not escaped. A ranked
        top-``limit``, not a paged list."""
        bounded_page_size(limit, "limit")
        search_text(query, "query")
        search = self.q.videos.list_video_summaries_search
        return await self.reading(acting_user_id).run(
            search, user_id=acting_user_id, query=query, limit=limit
        )

    async def set_processing_status(
        self,
        video_id: str,
        status: ProcessingStatus,
        error: str | None = None,
        *,
        acting_user_id: str,
    ) -> VideoSummary:
        """Set the processing status and its error (None clears a previous error). A worker's
        lease on the video is dropped (its late report changes nothing); ``pending`` (a retry
        the user asks for) gives the worker queue its attempts back."""
        return await self.writing(acting_user_id).one(
            _missing(video_id),
            self.q.videos.update_video_summary_status,
            video_summary_id=video_id,
            user_id=acting_user_id,
            processing_status=status,
            processing_error=error,
        )

    async def store_ai_content(
        self, video_id: str, content: JSONParam, *, acting_user_id: str
    ) -> VideoSummary:
        """Store the AI-generated content (any JSON value; None stores SQL NULL)."""
        return await self.writing(acting_user_id).one(
            _missing(video_id),
            self.q.videos.update_video_summary_content,
            video_summary_id=video_id,
            user_id=acting_user_id,
            ai_generated_content=content,
        )

    async def delete_video(self, video_id: str, *, acting_user_id: str) -> None:
        """Delete the video with its tag and category links and keyframes."""
        delete = self.q.videos.delete_video_summary
        await self.writing(acting_user_id).affected(
            _missing(video_id), delete, video_summary_id=video_id, user_id=acting_user_id
        )

    # -- tags and categories --------------------------------------------------------------

    async def attach_tag(
        self, video_id: str, name: str, *, acting_user_id: str, description: str | None = None
    ) -> Tag:
        """Tag the video with ``name``, creating the tag (with ``description``) when missing;
        returns the tag. An existing tag keeps its description (see :meth:`describe_tag`)."""
        q = self.q.videos
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            # Two statements: the second's snapshot sees a tag a concurrent call just added.
            await q.create_tag_if_missing(conn, name=name, description=description)
            row = await q.create_video_summary_tag_by_name(
                conn, video_summary_id=video_id, user_id=acting_user_id, name=name
            )
            # Raising rolls the transaction back: no tag is left behind for a missing video.
            return exactly_one(row, _missing(video_id))

    async def detach_tag(self, video_id: str, tag_id: str, *, acting_user_id: str) -> None:
        """Remove the tag from the video (the tag itself stays)."""
        missing = TagNotLinked(f"video summary {video_id} has no tag {tag_id}")
        await self.writing(acting_user_id).affected(
            self._video_or(video_id, acting_user_id, missing),
            self.q.videos.delete_video_summary_tag,
            video_summary_id=video_id,
            user_id=acting_user_id,
            tag_id=tag_id,
        )

    async def list_tags(self, video_id: str, *, acting_user_id: str) -> list[Tag]:
        list_tags = self.q.videos.list_tags_by_video_summary
        return await self.reading(acting_user_id).run(
            list_tags, video_summary_id=video_id, user_id=acting_user_id
        )

    async def list_tag_counts(self, *, acting_user_id: str, limit: int = 100) -> list[TagCount]:
        """The tags on the user's videos with how many of their videos carry each, most used
        first, then by name; at most ``limit``."""
        bounded_page_size(limit, "limit")
        counts = self.q.videos.list_tag_counts_by_user
        return await self.reading(acting_user_id).run(counts, user_id=acting_user_id, limit=limit)

    async def rename_tag(self, tag_id: str, new_name: str, *, acting_user_id: str) -> TagRelinked:
        """ "Rename" a tag for this user only. Tags are a shared catalogue (``tags.name`` is
        unique across users), so the row is never renamed: every video of the user's tagged
        ``tag_id`` is relinked to the tag named ``new_name`` (created when missing), in one
        unit. Other users' videos keep the old tag; the old tag stays in the catalogue.
        Returns the new tag's id and name and how many videos were relinked (0 when the user
        has no video with the tag)."""
        q = self.q.videos
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            # Two statements: the second's snapshot sees a tag a concurrent call just added.
            await q.create_tag_if_missing(conn, name=new_name, description=None)
            row = await q.update_video_summary_tags_relink(
                conn, user_id=acting_user_id, tag_id=tag_id, new_name=new_name
            )
        # The tag was created above: only a concurrent purge could make it missing.
        return exactly_one(row, TagNotFound(f"no tag named {new_name!r}"))

    async def drop_tag(self, tag_id: str, *, acting_user_id: str) -> int:
        """Take the tag off every video of the user's; how many lost it. The shared tag and
        other users' links stay."""
        drop = self.q.videos.delete_video_summary_tags_by_tag
        return await self.writing(acting_user_id).run(drop, user_id=acting_user_id, tag_id=tag_id)

    async def create_category(self, name: str, description: str | None = None) -> Category:
        """A new category with its description. Categories (like tags) are a shared catalogue:
        no policy, no acting user; the application role may read and add them, never rename or
        delete one (an administrator may change a description: :meth:`describe_category`)."""
        create = self.q.videos.create_category
        return await self.writing(None).run(create, name=name, description=description)

    async def describe_tag(self, tag_id: str, description: str, *, acting_user_id: str) -> None:
        """Change a shared tag's description: every user sees it, so only an administrator
        may. NotAnAdministrator for anyone else; TagNotFound for an unknown tag."""
        update = self.q.videos.update_tag_description
        found = await self.administering(
            acting_user_id, "edit a shared tag", update, tag_id=tag_id, description=description
        )
        if not found:
            raise TagNotFound(f"no tag {tag_id!r}")

    async def describe_category(
        self, category_id: str, description: str, *, acting_user_id: str
    ) -> None:
        """Change a shared category's description (its initial one is set by
        :meth:`create_category`): only an administrator may. NotAnAdministrator for anyone
        else; CategoryNotFound for an unknown category."""
        update, what = self.q.videos.update_category_description, "edit a shared category"
        found = await self.administering(
            acting_user_id, what, update, category_id=category_id, description=description
        )
        if not found:
            raise CategoryNotFound(f"no category {category_id!r}")

    async def list_categories(
        self, *, after: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Page[Category]:
        """One page of the shared catalogue of categories, by name; ``after`` is the previous
        page's ``next_cursor``."""
        page = CATEGORIES.request(after, page_size)
        rows = await self.reading(None).run(self.q.videos.list_categories, **page.arguments)
        return page.of(rows)

    async def attach_category(
        self, video_id: str, category_id: str, *, acting_user_id: str
    ) -> bool:
        """Put the video in the category; returns False if it was in it already."""
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            row = await self.q.videos.create_video_summary_category(
                conn, video_summary_id=video_id, user_id=acting_user_id, category_id=category_id
            )
            if not row.video_found:
                raise _missing(video_id)
        return row.linked

    async def detach_category(
        self, video_id: str, category_id: str, *, acting_user_id: str
    ) -> None:
        missing = CategoryNotLinked(f"video summary {video_id} is not in {category_id}")
        await self.writing(acting_user_id).affected(
            self._video_or(video_id, acting_user_id, missing),
            self.q.videos.delete_video_summary_category,
            video_summary_id=video_id,
            user_id=acting_user_id,
            category_id=category_id,
        )

    async def list_video_categories(self, video_id: str, *, acting_user_id: str) -> list[Category]:
        list_categories = self.q.videos.list_categories_by_video_summary
        return await self.reading(acting_user_id).run(
            list_categories, video_summary_id=video_id, user_id=acting_user_id
        )

    # -- keyframes ------------------------------------------------------------------------

    async def add_keyframe(
        self,
        video_id: str,
        *,
        acting_user_id: str,
        timestamp_seconds: int,
        image_url: str,
        description: str | None = None,
    ) -> Keyframe:
        return await self.writing(acting_user_id).one(
            _missing(video_id),
            self.q.videos.create_keyframe,
            video_summary_id=video_id,
            user_id=acting_user_id,
            timestamp_seconds=timestamp_seconds,
            image_url=image_url,
            description=description,
        )

    async def list_keyframes(
        self,
        video_id: str,
        *,
        acting_user_id: str,
        after: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[Keyframe]:
        """One page of the video's keyframes in time order (none if the video is another
        user's); ``after`` is the previous page's ``next_cursor``."""
        page = KEYFRAMES.request(after, page_size)
        list_keyframes = self.q.videos.list_keyframes_by_video_summary
        rows = await self.reading(acting_user_id).run(
            list_keyframes, video_summary_id=video_id, user_id=acting_user_id, **page.arguments
        )
        return page.of(rows)

    async def add_keyframes(
        self, video_id: str, keyframes: Sequence[KeyframeInput], *, acting_user_id: str
    ) -> list[Keyframe]:
        """Add many keyframes in one INSERT (not COPY: PostgreSQL refuses COPY FROM into a
        table with row-level security for a role its policies bind); all or none. Returned in
        time order. VideoNotFound for another user's video; an empty list adds nothing."""
        if not keyframes:
            return []
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            rows = await self.q.videos.create_keyframes(
                conn,
                video_summary_id=video_id,
                user_id=acting_user_id,
                timestamps_seconds=[k.timestamp_seconds for k in keyframes],
                image_urls=[k.image_url for k in keyframes],
                descriptions=[k.description or "" for k in keyframes],  # "" stores NULL
            )
            if not rows:
                raise _missing(video_id)
        return rows

    async def delete_keyframe(
        self, video_id: str, keyframe_id: str, *, acting_user_id: str
    ) -> None:
        """Delete one keyframe of the user's video; KeyframeNotFound when there is none."""
        await self.writing(acting_user_id).affected(
            KeyframeNotFound(f"no keyframe {keyframe_id} of video {video_id} for this user"),
            self.q.videos.delete_keyframe,
            keyframe_id=keyframe_id,
            video_summary_id=video_id,
            user_id=acting_user_id,
        )

    # -- helpers --------------------------------------------------------------------------

    def _video_or(
        self, video_id: str, user_id: str, otherwise: NotFound
    ) -> Callable[[AsyncConn], Awaitable[NotFound]]:
        """Why a write to the user's video changed nothing, read in its unit: VideoNotFound
        (not the user's video), else ``otherwise``."""

        async def why(conn: AsyncConn) -> NotFound:
            get = self.q.videos.get_video_summary_by_id
            found = await get(conn, video_summary_id=video_id, user_id=user_id)
            return _missing(video_id) if found is None else otherwise

        return why


def _sorted(rows: list[VideoSummaryListItem]) -> list[VideoSummaryListItem]:
    """The rows with their category names sorted (the SQL leaves them unordered: no sort in the
    page plan)."""
    return [replace(r, category_names=sorted(r.category_names)) for r in rows]
