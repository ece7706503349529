"""The AI meeting app's meetings, with their lifecycle (the agents are in :mod:`.agents`).

A meeting moves upcoming -> active -> processing -> completed, or is cancelled from upcoming
or active. Each move is one conditional UPDATE (``WHERE status = <allowed>``): of two callers
racing to make the same move one wins, the other gets :class:`IllegalMeetingTransition`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from plainsql import AsyncConn, KeysetList, Page
from reference_apps.db.records import GetMeetingByIdRow, ListMeetingsByAgentRow, MeetingRow
from reference_apps.db.records import MeetingStatus as MeetingStatus  # the enum's labels
from reference_apps.services.agents import AgentNotFound
from reference_apps.services.base import BeforeCreated, Service
from reference_apps.services.bounds import search_text
from reference_apps.services.errors import Conflict, NotFound

Meeting = MeetingRow
MeetingWithAgent = GetMeetingByIdRow  # a meeting as listed and shown: with its agent_name
# A meeting as listed: the same fields as MeetingWithAgent.
MeetingListItem = ListMeetingsByAgentRow
MeetingPage = Page[MeetingListItem]


def _meeting_key(row: MeetingListItem) -> tuple[datetime, str]:
    return (row.created_at, row.id)


# Keyset paging on (created_at, id): a page is found from the index whatever its depth, and
# meetings created meanwhile neither repeat nor shift later pages.
MEETINGS = KeysetList("meetings", _meeting_key, BeforeCreated)
MEETINGS_BY_STATUS = KeysetList("meetings-by-status", _meeting_key, BeforeCreated)
MEETINGS_BY_AGENT = KeysetList("meetings-by-agent", _meeting_key, BeforeCreated)
MEETINGS_BY_NAME = KeysetList("meetings-by-name", _meeting_key, BeforeCreated)


class MeetingNotFound(NotFound):
    """No such meeting, or it belongs to another user."""


class IllegalMeetingTransition(Conflict):
    """The meeting's status does not allow the move (or a concurrent caller made it first)."""

    def __init__(self, meeting_id: str, current: MeetingStatus, action: str) -> None:
        super().__init__(f"cannot {action} meeting {meeting_id}: it is {current}")
        self.meeting_id = meeting_id
        self.current = current
        self.action = action


def _missing(meeting_id: str) -> MeetingNotFound:
    return MeetingNotFound(f"no meeting {meeting_id} for this user")


class MeetingsService(Service):
    """A user's meetings and their lifecycle."""

    async def create_meeting(self, agent_id: str, name: str, *, acting_user_id: str) -> Meeting:
        """A new upcoming meeting with one of the user's agents."""
        return await self.writing(acting_user_id).one(
            AgentNotFound(f"no agent {agent_id} for this user"),
            self.q.meetings.create_meeting,
            user_id=acting_user_id,
            agent_id=agent_id,
            name=name,
        )

    async def get_meeting(self, meeting_id: str, *, acting_user_id: str) -> MeetingWithAgent | None:
        get = self.q.meetings.get_meeting_by_id
        return await self.reading(acting_user_id).run(
            get, meeting_id=meeting_id, user_id=acting_user_id
        )

    async def list_meetings(
        self,
        *,
        acting_user_id: str,
        status: MeetingStatus | None = None,
        after: str | None = None,
        page_size: int = 20,
    ) -> MeetingPage:
        """One page of the user's meetings, newest first, optionally of one status; ``after``
        is the previous page's ``next_cursor``."""
        reading, q = self.reading(acting_user_id), self.q.meetings
        if status is None:
            page = MEETINGS.request(after, page_size)
            rows = await reading.run(
                q.list_meetings_by_user, user_id=acting_user_id, **page.arguments
            )
        else:
            page = MEETINGS_BY_STATUS.request(after, page_size)
            rows = await reading.run(
                q.list_meetings_by_status, user_id=acting_user_id, status=status, **page.arguments
            )
        return page.of(rows)

    async def list_meetings_by_agent(
        self, agent_id: str, *, acting_user_id: str, after: str | None = None, page_size: int = 20
    ) -> MeetingPage:
        """One page of the meetings with one of the user's agents, newest first (empty for
        another user's agent)."""
        page = MEETINGS_BY_AGENT.request(after, page_size)
        rows = await self.reading(acting_user_id).run(
            self.q.meetings.list_meetings_by_agent,
            user_id=acting_user_id,
            agent_id=agent_id,
            **page.arguments,
        )
        return page.of(rows)

    async def search_meetings(
        self,
        name_contains: str,
        *,
        acting_user_id: str,
        after: str | None = None,
        page_size: int = 20,
    ) -> MeetingPage:
        """One page of the user's meetings whose name contains ``name_contains`` (any case;
        ``%`` and ``_`` are plain characters), newest first."""
        page = MEETINGS_BY_NAME.request(after, page_size)
        search_text(name_contains, "name_contains")
        rows = await self.reading(acting_user_id).run(
            self.q.meetings.list_meetings_by_name,
            user_id=acting_user_id,
            name_contains=name_contains,
            **page.arguments,
        )
        return page.of(rows)

    async def update_meeting(
        self,
        meeting_id: str,
        *,
        acting_user_id: str,
        name: str | None = None,
        agent_id: str | None = None,
    ) -> Meeting:
        """Rename the meeting and/or move it to another of the user's agents (None keeps the
        current value), whatever its status. MeetingNotFound for another user's meeting,
        AgentNotFound for another user's agent."""

        async def why(conn: AsyncConn) -> NotFound:
            get = self.q.meetings.get_meeting_by_id
            if await get(conn, meeting_id=meeting_id, user_id=acting_user_id) is None:
                return _missing(meeting_id)
            return AgentNotFound(f"no agent {agent_id} for this user")

        return await self.writing(acting_user_id).one(
            why,
            self.q.meetings.update_meeting,
            meeting_id=meeting_id,
            user_id=acting_user_id,
            name=name,
            agent_id=agent_id,
        )

    async def count_meetings(
        self, *, acting_user_id: str, status: MeetingStatus | None = None
    ) -> int:
        count = self.q.meetings.count_meetings_by_user
        return await self.reading(acting_user_id).run(count, user_id=acting_user_id, status=status)

    async def start_meeting(self, meeting_id: str, *, acting_user_id: str) -> Meeting:
        """upcoming -> active; sets started_at."""
        refused = self._refused("start", meeting_id, acting_user_id)
        return await self.writing(acting_user_id).one(
            refused,
            self.q.meetings.update_meeting_start,
            meeting_id=meeting_id,
            user_id=acting_user_id,
        )

    async def end_meeting(self, meeting_id: str, *, acting_user_id: str) -> Meeting:
        """active -> processing; sets ended_at."""
        refused = self._refused("end", meeting_id, acting_user_id)
        return await self.writing(acting_user_id).one(
            refused,
            self.q.meetings.update_meeting_end,
            meeting_id=meeting_id,
            user_id=acting_user_id,
        )

    async def complete_meeting(
        self, meeting_id: str, summary: str, *, acting_user_id: str
    ) -> Meeting:
        """processing -> completed, storing the summary."""
        refused = self._refused("complete", meeting_id, acting_user_id)
        return await self.writing(acting_user_id).one(
            refused,
            self.q.meetings.update_meeting_complete,
            meeting_id=meeting_id,
            user_id=acting_user_id,
            summary=summary,
        )

    async def cancel_meeting(self, meeting_id: str, *, acting_user_id: str) -> Meeting:
        """upcoming or active -> cancelled; sets ended_at if the meeting had started."""
        refused = self._refused("cancel", meeting_id, acting_user_id)
        return await self.writing(acting_user_id).one(
            refused,
            self.q.meetings.update_meeting_cancel,
            meeting_id=meeting_id,
            user_id=acting_user_id,
        )

    async def set_recording(
        self,
        meeting_id: str,
        *,
        acting_user_id: str,
        transcript_url: str | None = None,
        recording_url: str | None = None,
    ) -> Meeting:
        """Store the transcript and/or recording url (None keeps the current value)."""
        return await self.writing(acting_user_id).one(
            _missing(meeting_id),
            self.q.meetings.update_meeting_recording,
            meeting_id=meeting_id,
            user_id=acting_user_id,
            transcript_url=transcript_url,
            recording_url=recording_url,
        )

    async def delete_meeting(self, meeting_id: str, *, acting_user_id: str) -> None:
        delete = self.q.meetings.delete_meeting
        await self.writing(acting_user_id).affected(
            _missing(meeting_id), delete, meeting_id=meeting_id, user_id=acting_user_id
        )

    def _refused(
        self, action: str, meeting_id: str, user_id: str
    ) -> Callable[[AsyncConn], Awaitable[NotFound | Conflict]]:
        """Why a lifecycle move (one conditional UPDATE) changed nothing: not the user's
        meeting, or its status. Read in the same unit, after the UPDATE: under READ COMMITTED
        this sees the status a racing winner committed, which is the status that refused the
        move."""

        async def refused(conn: AsyncConn) -> NotFound | Conflict:
            get = self.q.meetings.get_meeting_by_id
            found = await get(conn, meeting_id=meeting_id, user_id=user_id)
            if found is None:
                return _missing(meeting_id)
            return IllegalMeetingTransition(meeting_id, found.status, action)

        return refused
