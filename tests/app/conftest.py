"""Fixtures of the application's tests."""

from __future__ import annotations

import pytest

from plainsql import Queries
from reference_apps.db.queries import AsyncTypedQueries


@pytest.fixture(scope="session")
def typed_queries(plainsql_async_queries: Queries) -> AsyncTypedQueries:
    """The application's typed queries, built once for the session (as an application builds
    them once and gives them to every service)."""
    return AsyncTypedQueries(plainsql_async_queries)
