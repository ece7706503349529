"""plainsql studio on a small project of its own: a table without a primary key is paged by
ctid, only NOT NULL indexed columns sort, a comment marks a secret column, an sql/ folder of
its own is listed and run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from plainsql.config import DatabaseSource, Settings
from plainsql.migrate.runner import Migrator
from plainsql.studio.app import MASK, Studio, create_app

from ..fixtures import write_migration

PORT = 4984
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "toolkit-studio-token"

SCHEMA = """\
-- 0001_readings: a log without a primary key, and notes with a secret column.
CREATE TABLE readings (
    sensor text NOT NULL,
    taken_at timestamptz NOT NULL,
    value float8
);
CREATE INDEX readings_taken_at_idx ON readings (taken_at);
CREATE INDEX readings_value_idx ON readings (value);
CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL, api_key text);
COMMENT ON COLUMN notes.api_key IS 'plainsql:secret the key the note was posted with';
"""
ROLLBACK = "-- 0001_readings rollback\nDROP TABLE notes;\nDROP TABLE readings;\n"
QUERIES = """\
-- name: list_notes_with_keys(min_id)
-- The notes from min_id on, with their keys.
SELECT id, body, api_key FROM notes WHERE id >= :min_id::integer ORDER BY id;
"""


@pytest.fixture
def client(
    tmp_path: Path, plainsql_settings: Settings, plainsql_empty_database_url: str
) -> Iterator[TestClient]:
    write_migration(tmp_path, "0001_readings", SCHEMA, ROLLBACK)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "notes.sql").write_text(QUERIES)
    settings = replace(
        plainsql_settings,
        project_dir=tmp_path,
        database_url=plainsql_empty_database_url,
        source=DatabaseSource.ENVIRONMENT,
    )
    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.migrate()
    with psycopg.connect(plainsql_empty_database_url) as conn:
        conn.execute(
            "INSERT INTO readings SELECT 's' || g,"
            " '2026-01-01'::timestamptz + g * interval '1 min',"
            " CASE WHEN g % 3 = 0 THEN NULL ELSE g END FROM generate_series(1, 130) g"
        )
        conn.execute("INSERT INTO notes VALUES (1, 'hello', 'KEY-IN-CLEAR-1'), (2, 'bye', NULL)")
    app = create_app(Studio(settings, plainsql_empty_database_url), token=TOKEN, port=PORT)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        test_client.get(f"/?token={TOKEN}")
        yield test_client


def sensors(html: str) -> list[str]:
    return re.findall(r"<td>(s\d+)</td>", html)


def test_a_table_without_a_primary_key_is_paged_by_ctid(client: TestClient) -> None:
    seen: list[str] = []
    path = "/tables/public.readings"
    pages = 0
    while path:
        page = client.get(path)
        assert page.status_code == 200
        seen += sensors(page.text)
        pages += 1
        found = re.search(r'href="([^"]+)" id="next"', page.text)
        path = found.group(1).replace("&amp;", "&") if found else ""
    assert pages == 3
    assert sorted(seen) == sorted(f"s{n}" for n in range(1, 131))


def test_only_not_null_indexed_columns_sort(client: TestClient) -> None:
    newest = client.get("/tables/public.readings", params={"sort": "taken_at", "desc": "1"})
    assert sensors(newest.text)[:3] == ["s130", "s129", "s128"]
    refused = client.get("/tables/public.readings", params={"sort": "value"})  # nullable
    assert refused.status_code == 400
    assert "NOT NULL indexed columns" in refused.text


def test_a_column_commented_secret_is_masked(client: TestClient) -> None:
    grid = client.get("/tables/public.notes")
    row = client.get("/tables/public.notes/row", params={"k.id": "1"})
    ran = client.post(
        "/queries/list_notes_with_keys",
        data={"min_id": "1"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    for page in (grid, row, ran):
        assert page.status_code == 200
        assert "KEY-IN-CLEAR-1" not in page.text
        assert MASK in page.text
    assert "hello" in ran.text
    assert "notes.sql:1" in client.get("/queries").text
