"""The generated typed queries serve the loaded queries' settings: the slow-query threshold."""

from __future__ import annotations

import logging
from dataclasses import replace

import psycopg
import pytest

from plainsql import Settings, load_async_queries
from reference_apps.db.queries import AsyncTypedQueries


@pytest.mark.parametrize(("slow_query_ms", "logged"), [(0, True), (None, False)])
async def test_a_typed_call_follows_the_slow_query_setting_of_the_loaded_queries(
    plainsql_settings: Settings,
    plainsql_database_url: str,
    caplog: pytest.LogCaptureFixture,
    slow_query_ms: int | None,
    logged: bool,
) -> None:
    settings = replace(plainsql_settings, slow_query_ms=slow_query_ms)
    q = AsyncTypedQueries(load_async_queries(settings.sql_dir, settings=settings))
    caplog.set_level(logging.WARNING, logger="plainsql.slow_query")
    async with await psycopg.AsyncConnection.connect(plainsql_database_url) as conn:
        assert await q.auth.get_user_by_email(conn, email="nobody@example.com") is None
    names = [
        getattr(r, "query_name", None) for r in caplog.records if r.name == "plainsql.slow_query"
    ]
    assert names == (["auth.get_user_by_email"] if logged else [])
