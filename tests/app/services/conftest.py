"""Fixtures of the service tests: the services on this test's own database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg_pool import AsyncConnectionPool

from plainsql import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.audit import AuditService
from reference_apps.services.auth import AuthService
from reference_apps.services.teams import TeamService
from reference_apps.services.workspaces import Workspace

from ..fixtures import TEST_KEYS, add_alice_and_bob, add_workspace

AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]

# argon2id with the smallest cost: the tests check behaviour, not hashing strength (one
# test signs up with the service's default parameters). The 2-core test machine is shared.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def users(plainsql_conn: psycopg.Connection[Any]) -> None:
    """ALICE and BOB exist (tests/app/fixtures.py)."""
    add_alice_and_bob(plainsql_conn)


@pytest.fixture
async def workspace(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> Workspace:
    """Ada's workspace."""
    return await add_workspace(plainsql_async_db, typed_queries, "ada")


@pytest.fixture
def fast_hasher() -> PasswordHasher:
    return FAST_HASHER


@pytest.fixture
def auth(plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> AuthService:
    return AuthService(
        plainsql_async_db, typed_queries, password_hasher=FAST_HASHER, keys=TEST_KEYS
    )


@pytest.fixture
def teams(plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> TeamService:
    return TeamService(plainsql_async_db, typed_queries)


@pytest.fixture
def audit(plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> AuditService:
    """The audit reader, on the login role (an operator's): the application role cannot read
    audit_log."""
    operator = AsyncDatabase(
        plainsql_async_db.pool, replace(plainsql_async_db.settings, transaction_role=None)
    )
    return AuditService(operator, typed_queries)


WaitUntilBlocked = Callable[[str], Awaitable[None]]


@pytest.fixture
def wait_until_blocked(plainsql_database_url: str) -> WaitUntilBlocked:
    """``await wait_until_blocked("UPDATE team_members")``: returns once another backend of
    this test's database waits on a lock while running a statement starting so (the name
    comment a named query carries after its first word, ``/*query='...'*/``, left out).

    It polls from its own autocommit connection: pg_stat_activity is a snapshot per
    transaction, so a poller inside one transaction would never see the change.
    """

    async def wait(query_start: str) -> None:
        async with await psycopg.AsyncConnection.connect(
            plainsql_database_url, autocommit=True
        ) as obs:
            for _ in range(2000):
                cursor = await obs.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND wait_event_type = 'Lock'"
                    " AND regexp_replace(query, ' /\\*query=''[^'']*''\\*/', '') LIKE %s",
                    (query_start.replace("%", r"\%") + "%",),
                )
                found = await cursor.fetchone()
                if found is not None and found[0] > 0:
                    return
                await asyncio.sleep(0.01)
        raise AssertionError(f"no backend ever waited on a lock in {query_start!r}")

    return wait
