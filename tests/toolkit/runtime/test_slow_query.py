"""The slow-query log (runtime/_slow.py): name, duration, rows, parameter names; values never."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from plainsql.config import load_settings
from plainsql.queries import load_async_queries, load_queries

SQL = """\
-- name: list_tokens_after_sleep(seconds, token)
-- The token, once per row of three, after sleeping that long.
SELECT :token::text AS token FROM pg_sleep(:seconds), generate_series(1, 3);

-- name: get_token(token)$
-- The token, at once.
SELECT :token::text AS token;
"""
SECRET = "s3cret-token-value-4417"


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    (tmp_path / "sql" / "auth").mkdir(parents=True)
    (tmp_path / "sql" / "auth" / "tokens.sql").write_text(SQL)
    return tmp_path / "sql"


def slow_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "plainsql.slow_query"]


def assert_no_value_anywhere(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(vars(record))


def test_a_slow_call_is_logged_with_name_duration_rows_and_parameter_names(
    sql_dir: Path, plainsql_empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(load_settings(), slow_query_ms=100)
    q: Any = load_queries(sql_dir, settings=settings)
    caplog.set_level(logging.DEBUG)
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        rows = q.auth.list_tokens_after_sleep(conn, seconds=0.3, token=SECRET)
    assert [r["token"] for r in rows] == [SECRET] * 3
    [record] = slow_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("slow query auth.list_tokens_after_sleep: ")
    fields: Any = record
    assert fields.query_name == "auth.list_tokens_after_sleep"
    assert fields.duration_ms >= 100  # it was logged as over the threshold: its own figure
    assert fields.rows == 3
    assert fields.parameters == ["seconds", "token"]
    assert "parameters: seconds, token" in record.getMessage()
    assert_no_value_anywhere(caplog)


async def test_the_async_runtime_logs_the_same(
    sql_dir: Path, plainsql_empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(load_settings(), slow_query_ms=100)
    q: Any = load_async_queries(sql_dir, settings=settings)
    caplog.set_level(logging.DEBUG)
    async with await psycopg.AsyncConnection.connect(
        plainsql_empty_database_url, autocommit=True
    ) as conn:
        await q.auth.list_tokens_after_sleep(conn, seconds=0.3, token=SECRET)
    [record] = slow_records(caplog)
    fields: Any = record
    assert (fields.query_name, fields.rows) == ("auth.list_tokens_after_sleep", 3)
    assert_no_value_anywhere(caplog)


def test_the_log_is_off_when_the_setting_is_empty(
    sql_dir: Path, plainsql_empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({"PLAINSQL_SLOW_QUERY_MS": ""})
    assert settings.slow_query_ms is None
    q: Any = load_queries(sql_dir, settings=settings)
    caplog.set_level(logging.DEBUG)
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        q.auth.list_tokens_after_sleep(conn, seconds=0.2, token=SECRET)
    assert slow_records(caplog) == []
