"""The AI meeting app's agents: a user's agents, each with the instructions it runs on."""

from __future__ import annotations

from datetime import datetime

from plainsql import KeysetList, Page
from reference_apps.db.records import AgentRow, ListAgentsByUserRow
from reference_apps.services.base import BeforeCreated, Service
from reference_apps.services.errors import NotFound

Agent = AgentRow
AgentWithMeetingCount = ListAgentsByUserRow  # an agent's columns and its meeting_count
AgentPage = Page[AgentWithMeetingCount]

AGENTS = KeysetList[AgentWithMeetingCount, datetime, str, BeforeCreated](
    "agents", lambda r: (r.created_at, r.id), BeforeCreated
)


class AgentNotFound(NotFound):
    """No such agent, or it belongs to another user."""


def _missing(agent_id: str | None) -> AgentNotFound:
    return AgentNotFound(f"no agent {agent_id} for this user")


class AgentsService(Service):
    """A user's agents. Reads return None for another user's agent; writes raise AgentNotFound."""

    async def create_agent(self, name: str, instructions: str, *, acting_user_id: str) -> Agent:
        """A new agent; the database generates its 21-character id."""
        create = self.q.meetings.create_agent
        return await self.writing(acting_user_id).run(
            create, user_id=acting_user_id, name=name, instructions=instructions
        )

    async def get_agent(self, agent_id: str, *, acting_user_id: str) -> Agent | None:
        get = self.q.meetings.get_agent_by_id
        return await self.reading(acting_user_id).run(
            get, agent_id=agent_id, user_id=acting_user_id
        )

    async def list_agents(
        self, *, acting_user_id: str, after: str | None = None, page_size: int = 20
    ) -> AgentPage:
        """One page of the user's agents, newest first, with how many meetings each has;
        ``after`` is the previous page's ``next_cursor`` (keyset paging)."""
        page = AGENTS.request(after, page_size)
        rows = await self.reading(acting_user_id).run(
            self.q.meetings.list_agents_by_user, user_id=acting_user_id, **page.arguments
        )
        return page.of(rows)

    async def update_agent(
        self,
        agent_id: str,
        *,
        acting_user_id: str,
        name: str | None = None,
        instructions: str | None = None,
    ) -> Agent:
        """Rename and/or change the instructions (None keeps the current value)."""
        return await self.writing(acting_user_id).one(
            _missing(agent_id),
            self.q.meetings.update_agent,
            agent_id=agent_id,
            user_id=acting_user_id,
            name=name,
            instructions=instructions,
        )

    async def delete_agent(self, agent_id: str, *, acting_user_id: str) -> None:
        """Delete the agent and all its meetings."""
        delete = self.q.meetings.delete_agent
        await self.writing(acting_user_id).affected(
            _missing(agent_id), delete, agent_id=agent_id, user_id=acting_user_id
        )
