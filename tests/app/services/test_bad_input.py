"""What a hostile caller gives the services: NUL bytes and lone surrogates in ids and text,
JSON of the wrong shape, a batch of zero. Every case is a plainsql error (InvalidInput where
the input is what is wrong), and each call returns within the statement deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from plainsql import AsyncDatabase, Settings, open_async_pool
from plainsql.errors import InvalidInput, PlainSQLError
from plainsql.runtime._deadline import deadline_seconds
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.agent_states import AgentStatesService
from reference_apps.services.auth import AuthService
from reference_apps.services.projects import Project, ProjectsService
from reference_apps.services.sessions import SessionService

from ..fixtures import ALICE, TEST_KEYS
from .conftest import FAST_HASHER

SECRET = "Hostile-Value-93"
NUL = f"{SECRET}\x00"
SURROGATE = f"{SECRET}\udc80"


@dataclass
class Services:
    settings: Settings
    auth: AuthService
    sessions: SessionService
    projects: ProjectsService
    states: AgentStatesService
    project: Project


@pytest.fixture
async def services(
    users: None, plainsql_settings: Settings, typed_queries: AsyncTypedQueries
) -> AsyncIterator[Services]:
    # A short statement timeout: the deadline each call must beat is 1 s plus the grace.
    settings = replace(plainsql_settings, statement_timeout_ms=1000)
    async with open_async_pool(settings) as pool:
        db = AsyncDatabase(pool, settings)
        q = typed_queries
        projects = ProjectsService(db, q)
        yield Services(
            settings,
            AuthService(db, q, password_hasher=FAST_HASHER, keys=TEST_KEYS),
            SessionService(db, q),
            projects,
            AgentStatesService(db, q),
            await projects.create_project("builder", "an app", acting_user_id=ALICE),
        )


Call = Callable[[Services], Awaitable[object]]
# (case, the call, the error it must raise)
CASES: list[tuple[str, Call, type[PlainSQLError]]] = [
    ("NUL in an acting user id", lambda s: s.auth.get_user_by_id(NUL), InvalidInput),
    ("surrogate in an acting user id", lambda s: s.auth.get_user_by_id(SURROGATE), InvalidInput),
    (
        "NUL in a text parameter",
        lambda s: s.projects.create_project(NUL, "an app", acting_user_id=ALICE),
        InvalidInput,
    ),
    (
        "surrogate in a text parameter",
        lambda s: s.projects.create_project("builder", SURROGATE, acting_user_id=ALICE),
        InvalidInput,
    ),
    (
        "surrogate in a secret parameter",
        lambda s: s.auth.sign_up(
            email="x@example.com", password="long enough pw 1", name=SURROGATE
        ),
        InvalidInput,
    ),
    (
        "a phase that is a list",
        lambda s: s.states.append_phase(s.project.id, [SECRET], acting_user_id=ALICE),  # type: ignore[arg-type]
        InvalidInput,
    ),
    (
        "a phase that is a number",
        lambda s: s.states.append_phase(s.project.id, 5, acting_user_id=ALICE),  # type: ignore[arg-type]
        InvalidInput,
    ),
    (
        "a message that is a string",
        lambda s: s.states.append_message(s.project.id, SECRET, acting_user_id=ALICE),  # type: ignore[arg-type]
        InvalidInput,
    ),
    (
        "phases that are numbers",
        lambda s: s.states.upsert(s.project.id, phases=[1, 2], acting_user_id=ALICE),  # type: ignore[list-item]
        InvalidInput,
    ),
    (
        "a phase keyed by numbers",
        lambda s: s.states.append_phase(s.project.id, {1: SECRET}, acting_user_id=ALICE),  # type: ignore[dict-item]
        InvalidInput,
    ),
    (
        "a set inside a phase",
        lambda s: s.states.append_phase(s.project.id, {"k": {SECRET}}, acting_user_id=ALICE),  # type: ignore[dict-item]
        InvalidInput,
    ),
    (
        "a surrogate inside a message",
        lambda s: s.states.append_message(s.project.id, {"text": SURROGATE}, acting_user_id=ALICE),
        InvalidInput,
    ),
    (
        "paths given as one string",
        lambda s: s.states.add_generated_files(s.project.id, SECRET, acting_user_id=ALICE),
        InvalidInput,
    ),
    (
        "paths that are numbers",
        lambda s: s.states.add_generated_files(s.project.id, [1, 2], acting_user_id=ALICE),  # type: ignore[list-item]
        InvalidInput,
    ),
    (
        "conversation history of strings",
        lambda s: s.states.replace(
            s.project.id,
            conversation_history=[SECRET],  # type: ignore[list-item]
            acting_user_id=ALICE,
        ),
        InvalidInput,
    ),
    (
        "a batch of zero",
        lambda s: s.sessions.delete_expired_sessions(batch_size=0),
        InvalidInput,
    ),
    (
        "a negative batch",
        lambda s: s.sessions.delete_expired_sessions(batch_size=-5),
        InvalidInput,
    ),
]


@pytest.mark.parametrize(("case", "call", "expected"), CASES, ids=[c for c, _, _ in CASES])
async def test_bad_input_is_a_plainsql_error_within_the_deadline(
    services: Services, case: str, call: Call, expected: type[PlainSQLError]
) -> None:
    deadline = deadline_seconds(services.settings)
    with pytest.raises(PlainSQLError) as caught:
        # The promise is the statement deadline: a call that hangs fails here, not in CI's
        # global timeout (the bound is the deadline itself, not a measured time).
        await asyncio.wait_for(call(services), timeout=deadline)
    assert isinstance(caught.value, expected), repr(caught.value)
    assert SECRET not in str(caught.value)
    # The services still work for the same user afterwards.
    state: Any = await services.states.get(services.project.id, acting_user_id=ALICE)
    assert state is not None
