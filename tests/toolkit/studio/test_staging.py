"""The studio's staged edits on a small project of its own: a deferred constraint that fails only
at COMMIT, and a staged delete whose row went away before the commit."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from plainsql.config import DatabaseSource, Settings
from plainsql.migrate.runner import Migrator
from plainsql.studio.app import Studio, create_app

from ..fixtures import write_migration

PORT = 4987
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "toolkit-staging-token"
SAME_ORIGIN = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}

SCHEMA = """\
-- 0001_shelves: books on shelves, the shelf checked only at COMMIT (a deferred foreign key).
CREATE TABLE shelves (id integer PRIMARY KEY, label text NOT NULL);
CREATE TABLE books (
    id integer PRIMARY KEY,
    title text NOT NULL,
    shelf_id integer NOT NULL,
    CONSTRAINT books_shelf_id_fkey FOREIGN KEY (shelf_id) REFERENCES shelves (id)
        DEFERRABLE INITIALLY DEFERRED
);
"""
ROLLBACK = "-- 0001_shelves rollback\nDROP TABLE books;\nDROP TABLE shelves;\n"


@pytest.fixture
def project(
    tmp_path: Path, plainsql_settings: Settings, plainsql_empty_database_url: str
) -> tuple[Settings, str]:
    write_migration(tmp_path, "0001_shelves", SCHEMA, ROLLBACK)
    (tmp_path / "sql").mkdir()
    settings = replace(
        plainsql_settings,
        project_dir=tmp_path,
        database_url=plainsql_empty_database_url,
        source=DatabaseSource.ENVIRONMENT,
        transaction_role=None,
    )
    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.migrate()
    with psycopg.connect(plainsql_empty_database_url) as conn:
        conn.execute("INSERT INTO shelves VALUES (1, 'A'), (2, 'B')")
        conn.execute("INSERT INTO books VALUES (1, 'Dune', 1)")
    return settings, plainsql_empty_database_url


def _commit(client: TestClient) -> str:
    version = re.search(r'name="version" value="(\d+)"', client.get("/staged").text)
    assert version is not None
    return version.group(1)


def test_a_deferred_constraint_fails_at_commit_and_the_edits_stay(
    project: tuple[Settings, str],
) -> None:
    settings, url = project
    app = create_app(Studio(settings, url, write=True), token=TOKEN, port=PORT)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        form = {"kind": "insert", "table": "public.books", "v.id": "2", "v.title": "Emma"}
        for shelf in ("2", "9"):  # a good one, then a shelf that does not exist
            staged = client.post("/staged", data={**form, "v.id": shelf, "v.shelf_id": shelf},
                                 headers=SAME_ORIGIN)  # fmt: skip
            assert staged.status_code == 303
        refused = client.post("/staged/commit", data={"version": _commit(client)},
                              headers=SAME_ORIGIN)  # fmt: skip
        assert refused.status_code == 409
        assert "the commit failed: constraint books_shelf_id_fkey" in refused.text
        assert refused.text.count('<pre class="sql">INSERT') == 2
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT id FROM books").fetchall() == [(1,)]

        # A delete staged, its row gone before the commit: refused, nothing written.
        client.post("/staged/discard", data={"edit": "all"}, headers=SAME_ORIGIN)
        client.post("/staged", data={"kind": "delete", "table": "public.shelves", "k.id": "2"},
                    headers=SAME_ORIGIN)  # fmt: skip
        client.post("/staged", data={"kind": "delete", "table": "public.books", "k.id": "1"},
                    headers=SAME_ORIGIN)  # fmt: skip
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM books WHERE id = 1")
        refused = client.post("/staged/commit", data={"version": _commit(client)},
                              headers=SAME_ORIGIN)  # fmt: skip
        assert refused.status_code == 409
        assert "changed 0 rows, not 1" in refused.text
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT id FROM shelves ORDER BY id").fetchall() == [(1,), (2,)]
