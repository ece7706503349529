"""Fixtures of the service tests: the services on this test's own database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg_pool import AsyncConnectionPool

from plainsql.queries import Queries
from plainsql.services.audit import AuditService
from plainsql.services.auth import AuthService
from plainsql.services.teams import TeamService

AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]

# argon2id with the smallest cost: the tests check behaviour, not hashing strength (one
# test signs up with the service's default parameters). The 2-core test machine is shared.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def fast_hasher() -> PasswordHasher:
    return FAST_HASHER


@pytest.fixture
def auth(async_pool: AsyncPool, async_queries: Queries) -> AuthService:
    return AuthService(async_pool, async_queries, password_hasher=FAST_HASHER)


@pytest.fixture
def teams(async_pool: AsyncPool, async_queries: Queries) -> TeamService:
    return TeamService(async_pool, async_queries)


@pytest.fixture
def audit(async_pool: AsyncPool, async_queries: Queries) -> AuditService:
    return AuditService(async_pool, async_queries)
