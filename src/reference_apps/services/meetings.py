"""The AI meeting app: a user's agents and their meetings, with the meeting lifecycle.

A meeting moves upcoming -> active -> processing -> completed, or is cancelled from upcoming
or active. Each move is one conditional UPDATE (``WHERE status = <allowed>``): of two callers
racing to make the same move one wins, the other gets :class:`IllegalMeetingTransition`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn

from plainsql import AsyncConn, AsyncDatabase, Queries
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    AgentRow,
    GetMeetingByIdRow,
    ListAgentsByUserRow,
    ListMeetingsByAgentRow,
    MeetingRow,
)
from reference_apps.db.records import MeetingStatus as MeetingStatus  # the enum's labels
from reference_apps.services.bounds import page_size as bounded_page_size
from reference_apps.services.bounds import search_text
from reference_apps.services.errors import Conflict, NotFound
from reference_apps.services.paging import Page, decode_cursor, page_of

Agent = AgentRow
AgentWithMeetingCount = ListAgentsByUserRow  # an agent's columns and its meeting_count
Meeting = MeetingRow
MeetingWithAgent = GetMeetingByIdRow  # a meeting as listed and shown: with its agent_name


class AgentNotFound(NotFound):
    """No such agent, or it belongs to another user."""


class MeetingNotFound(NotFound):
    """No such meeting, or it belongs to another user."""


class IllegalMeetingTransition(Conflict):
    """The meeting's status does not allow the move (or a concurrent caller made it first)."""

    def __init__(self, meeting_id: str, current: MeetingStatus, action: str) -> None:
        super().__init__(f"cannot {action} meeting {meeting_id}: it is {current}")
        self.meeting_id = meeting_id
        self.current = current
        self.action = action


# A meeting as listed: the same fields as MeetingWithAgent.
MeetingListItem = ListMeetingsByAgentRow
MeetingPage = Page[MeetingListItem]
AgentPage = Page[AgentWithMeetingCount]


class AgentsService:
    """A user's agents. Reads return None for another user's agent; writes raise AgentNotFound."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

    async def create_agent(self, user_id: str, name: str, instructions: str) -> Agent:
        """A new agent; the database generates its 21-character id."""
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.meetings.create_agent(
                conn, user_id=user_id, name=name, instructions=instructions
            )

    async def get_agent(self, agent_id: str, user_id: str) -> Agent | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.meetings.get_agent_by_id(conn, agent_id=agent_id, user_id=user_id)

    async def list_agents(
        self, user_id: str, *, after: str | None = None, page_size: int = 20
    ) -> AgentPage:
        """One page of the user's agents, newest first, with how many meetings each has;
        ``after`` is the previous page's ``next_cursor`` (keyset paging, see paging.py)."""
        bounded_page_size(page_size, "page_size")
        start = decode_cursor("agents", after)
        async with self.db.transaction(acting_user=user_id) as conn:
            rows = await self.q.meetings.list_agents_by_user(
                conn,
                user_id=user_id,
                before_created_at=start.created_at,
                before_id=start.id,
                page_size=page_size + 1,
            )
        return page_of("agents", rows, page_size, lambda r: (r.created_at, r.id))

    async def update_agent(
        self,
        agent_id: str,
        user_id: str,
        *,
        name: str | None = None,
        instructions: str | None = None,
    ) -> Agent:
        """Rename and/or change the instructions (None keeps the current value)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.meetings.update_agent(
                conn, agent_id=agent_id, user_id=user_id, name=name, instructions=instructions
            )
        if row is None:
            raise AgentNotFound(f"no agent {agent_id} for this user")
        return row

    async def delete_agent(self, agent_id: str, user_id: str) -> None:
        """Delete the agent and all its meetings."""
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.meetings.delete_agent(conn, agent_id=agent_id, user_id=user_id)
        if deleted == 0:
            raise AgentNotFound(f"no agent {agent_id} for this user")


class MeetingsService:
    """A user's meetings and their lifecycle."""

    def __init__(self, db: AsyncDatabase, queries: Queries) -> None:
        self.db = db
        self.q = AsyncTypedQueries(queries)

    async def create_meeting(self, user_id: str, agent_id: str, name: str) -> Meeting:
        """A new upcoming meeting with one of the user's agents."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.meetings.create_meeting(
                conn, user_id=user_id, agent_id=agent_id, name=name
            )
        if row is None:
            raise AgentNotFound(f"no agent {agent_id} for this user")
        return row

    async def get_meeting(self, meeting_id: str, user_id: str) -> MeetingWithAgent | None:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.meetings.get_meeting_by_id(
                conn, meeting_id=meeting_id, user_id=user_id
            )

    async def list_meetings(
        self,
        user_id: str,
        *,
        status: MeetingStatus | None = None,
        after: str | None = None,
        page_size: int = 20,
    ) -> MeetingPage:
        """One page of the user's meetings, newest first, optionally of one status; ``after``
        is the previous page's ``next_cursor``.

        Keyset pagination on (created_at, id): a page is found from the index whatever its
        depth, and meetings created meanwhile neither repeat nor shift later pages."""
        bounded_page_size(page_size, "page_size")
        kind = "meetings" if status is None else "meetings-by-status"
        start = decode_cursor(kind, after)
        async with self.db.transaction(acting_user=user_id) as conn:
            if status is None:
                rows = await self.q.meetings.list_meetings_by_user(
                    conn,
                    user_id=user_id,
                    before_created_at=start.created_at,
                    before_id=start.id,
                    page_size=page_size + 1,  # one more tells whether a next page exists
                )
            else:
                rows = await self.q.meetings.list_meetings_by_status(
                    conn,
                    user_id=user_id,
                    status=status,
                    before_created_at=start.created_at,
                    before_id=start.id,
                    page_size=page_size + 1,
                )
        return page_of(kind, rows, page_size, _meeting_key)

    async def list_meetings_by_agent(
        self, user_id: str, agent_id: str, *, after: str | None = None, page_size: int = 20
    ) -> MeetingPage:
        """One page of the meetings with one of the user's agents, newest first (empty for
        another user's agent)."""
        bounded_page_size(page_size, "page_size")
        start = decode_cursor("meetings-by-agent", after)
        async with self.db.transaction(acting_user=user_id) as conn:
            rows = await self.q.meetings.list_meetings_by_agent(
                conn,
                user_id=user_id,
                agent_id=agent_id,
                before_created_at=start.created_at,
                before_id=start.id,
                page_size=page_size + 1,
            )
        return page_of("meetings-by-agent", rows, page_size, _meeting_key)

    async def search_meetings(
        self, user_id: str, name_contains: str, *, after: str | None = None, page_size: int = 20
    ) -> MeetingPage:
        """One page of the user's meetings whose name contains ``name_contains`` (any case;
        ``%`` and ``_`` are plain characters), newest first."""
        bounded_page_size(page_size, "page_size")
        search_text(name_contains, "name_contains")
        start = decode_cursor("meetings-by-name", after)
        async with self.db.transaction(acting_user=user_id) as conn:
            rows = await self.q.meetings.list_meetings_by_name(
                conn,
                user_id=user_id,
                name_contains=name_contains,
                before_created_at=start.created_at,
                before_id=start.id,
                page_size=page_size + 1,
            )
        return page_of("meetings-by-name", rows, page_size, _meeting_key)

    async def update_meeting(
        self,
        meeting_id: str,
        user_id: str,
        *,
        name: str | None = None,
        agent_id: str | None = None,
    ) -> Meeting:
        """Rename the meeting and/or move it to another of the user's agents (None keeps the
        current value), whatever its status. MeetingNotFound for another user's meeting,
        AgentNotFound for another user's agent."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.meetings.update_meeting(
                conn, meeting_id=meeting_id, user_id=user_id, name=name, agent_id=agent_id
            )
            if row is None:
                if (
                    await self.q.meetings.get_meeting_by_id(
                        conn, meeting_id=meeting_id, user_id=user_id
                    )
                    is None
                ):
                    raise MeetingNotFound(f"no meeting {meeting_id} for this user")
                raise AgentNotFound(f"no agent {agent_id} for this user")
        return row

    async def count_meetings(self, user_id: str, *, status: MeetingStatus | None = None) -> int:
        async with self.db.transaction(acting_user=user_id) as conn:
            return await self.q.meetings.count_meetings_by_user(
                conn, user_id=user_id, status=status
            )

    async def start_meeting(self, meeting_id: str, user_id: str) -> Meeting:
        """upcoming -> active; sets started_at."""
        return await self._transition(
            "start",
            meeting_id,
            user_id,
            lambda conn: self.q.meetings.update_meeting_start(
                conn, meeting_id=meeting_id, user_id=user_id
            ),
        )

    async def end_meeting(self, meeting_id: str, user_id: str) -> Meeting:
        """active -> processing; sets ended_at."""
        return await self._transition(
            "end",
            meeting_id,
            user_id,
            lambda conn: self.q.meetings.update_meeting_end(
                conn, meeting_id=meeting_id, user_id=user_id
            ),
        )

    async def complete_meeting(self, meeting_id: str, user_id: str, summary: str) -> Meeting:
        """processing -> completed, storing the summary."""
        return await self._transition(
            "complete",
            meeting_id,
            user_id,
            lambda conn: self.q.meetings.update_meeting_complete(
                conn, meeting_id=meeting_id, user_id=user_id, summary=summary
            ),
        )

    async def cancel_meeting(self, meeting_id: str, user_id: str) -> Meeting:
        """upcoming or active -> cancelled; sets ended_at if the meeting had started."""
        return await self._transition(
            "cancel",
            meeting_id,
            user_id,
            lambda conn: self.q.meetings.update_meeting_cancel(
                conn, meeting_id=meeting_id, user_id=user_id
            ),
        )

    async def set_recording(
        self,
        meeting_id: str,
        user_id: str,
        *,
        transcript_url: str | None = None,
        recording_url: str | None = None,
    ) -> Meeting:
        """Store the transcript and/or recording url (None keeps the current value)."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await self.q.meetings.update_meeting_recording(
                conn,
                meeting_id=meeting_id,
                user_id=user_id,
                transcript_url=transcript_url,
                recording_url=recording_url,
            )
        if row is None:
            raise MeetingNotFound(f"no meeting {meeting_id} for this user")
        return row

    async def delete_meeting(self, meeting_id: str, user_id: str) -> None:
        async with self.db.transaction(acting_user=user_id) as conn:
            deleted = await self.q.meetings.delete_meeting(
                conn, meeting_id=meeting_id, user_id=user_id
            )
        if deleted == 0:
            raise MeetingNotFound(f"no meeting {meeting_id} for this user")

    async def _transition(
        self,
        action: str,
        meeting_id: str,
        user_id: str,
        update: Callable[[AsyncConn], Awaitable[Meeting | None]],
    ) -> Meeting:
        """Run ``update`` (one conditional UPDATE); no row back is refused, and says why."""
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await update(conn)
            if row is None:
                await self._raise_refused(conn, action, meeting_id, user_id)
        return row

    async def _raise_refused(
        self, conn: AsyncConn, action: str, meeting_id: str, user_id: str
    ) -> NoReturn:
        """The conditional UPDATE matched nothing: not the user's meeting, or a wrong status.

        Read in the same transaction, after the UPDATE: under READ COMMITTED this sees the
        status a racing winner committed, which is the status that refused the move."""
        row = await self.q.meetings.get_meeting_by_id(conn, meeting_id=meeting_id, user_id=user_id)
        if row is None:
            raise MeetingNotFound(f"no meeting {meeting_id} for this user")
        raise IllegalMeetingTransition(meeting_id, row.status, action)


def _meeting_key(row: MeetingListItem) -> tuple[datetime, str]:
    return (row.created_at, row.id)
