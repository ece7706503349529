"""The studio's plans on a small project of its own: a skewed column whose custom plan (for a rare
value) differs from its generic plan, both ways of getting the generic plan, the tree's figures
and marks, and a writing query's EXPLAIN ANALYZE with --write rolled back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from plainsql.config import DatabaseSource, Settings
from plainsql.migrate.runner import Migrator
from plainsql.studio import plans
from plainsql.studio.app import Studio, create_app
from plainsql.studio.named import sources

from ..fixtures import write_migration

PORT = 4986
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "toolkit-plans-token"
SAME_ORIGIN = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}

SCHEMA = """\
-- 0001_jobs: a queue where almost every job is done (a skewed state column, indexed).
CREATE TABLE jobs (id integer PRIMARY KEY, state text NOT NULL, payload text NOT NULL);
CREATE INDEX jobs_state_idx ON jobs (state);
"""
ROLLBACK = "-- 0001_jobs rollback\nDROP TABLE jobs;\n"
QUERIES = """\
-- name: list_jobs_by_state(state)
-- The jobs in one state.
SELECT id, payload FROM jobs WHERE state = :state ORDER BY id;

-- name: delete_job(job_id)!
-- Deletes one job.
DELETE FROM jobs WHERE id = :job_id::integer;
"""


@pytest.fixture
def project(
    tmp_path: Path, plainsql_settings: Settings, plainsql_empty_database_url: str
) -> tuple[Settings, str]:
    write_migration(tmp_path, "0001_jobs", SCHEMA, ROLLBACK)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "jobs.sql").write_text(QUERIES)
    settings = replace(
        plainsql_settings,
        project_dir=tmp_path,
        database_url=plainsql_empty_database_url,
        source=DatabaseSource.ENVIRONMENT,
        transaction_role=None,
    )
    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.migrate()
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO jobs SELECT g, CASE WHEN g % 2000 = 0 THEN 'failed' ELSE 'done' END,"
            " repeat('x', 50) FROM generate_series(1, 20000) g"
        )
        conn.execute("ANALYZE jobs")
    return settings, plainsql_empty_database_url


def _client(settings: Settings, url: str, write: bool = False) -> TestClient:
    return TestClient(
        create_app(Studio(settings, url, write=write), token=TOKEN, port=PORT),
        base_url=BASE,
        follow_redirects=False,
    )


def test_a_rare_value_gets_its_own_plan_beside_the_generic_one(
    project: tuple[Settings, str],
) -> None:
    settings, url = project
    with _client(settings, url) as client:
        client.get(f"/?token={TOKEN}")
        page = client.post(
            "/queries/list_jobs_by_state",
            data={"state": "failed", "studio.action": "explain", "studio.analyze": "1"},
            headers=SAME_ORIGIN,
        ).text
    custom = page.split('id="plan"', 1)[1].split("</section>", 1)[0]
    generic = page.split('id="generic-plan"', 1)[1].split("</section>", 1)[0]
    assert "using jobs_state_idx on jobs" in custom  # ten rows: the index
    assert "on jobs" in generic
    assert "jobs_state_idx" not in generic  # blind to the value it guesses half the table
    assert re.search(r'actual <span class="act">10</span> rows × 1 loop', custom)
    assert "actual" not in generic  # a generic plan is never run
    assert "estimates only" in generic


def test_both_ways_to_the_generic_plan_agree(project: tuple[Settings, str]) -> None:
    settings, url = project
    source = sources(settings.sql_dir)["list_jobs_by_state"]
    with psycopg.connect(url, autocommit=True) as conn:
        prepared = plans.generic_plan(conn, settings, source, option=False)  # PostgreSQL 15's way
        assert prepared is not None
        assert prepared.generic
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
        if conn.info.server_version >= 160000:
            option = plans.generic_plan(conn, settings, source, option=True)
            assert option is not None
            assert option.root.shape == prepared.root.shape
        custom = plans.custom_plan(conn, settings, source, {"state": "failed"})
    assert custom.root.shape != prepared.root.shape


def test_the_tree_marks_the_expensive_node_and_a_misestimate(
    project: tuple[Settings, str],
) -> None:
    settings, url = project
    source = sources(settings.sql_dir)["list_jobs_by_state"]
    with psycopg.connect(url, autocommit=True) as conn:
        # the statistics say 'failed' is rare; make it common without telling the planner
        conn.execute("UPDATE jobs SET state = 'failed' WHERE id <= 15000")
        plan = plans.custom_plan(conn, settings, source, {"state": "failed"}, analyze=True)

    def walk(node: plans.PlanNode) -> Iterator[plans.PlanNode]:
        yield node
        for child in node.children:
            yield from walk(child)

    nodes = list(walk(plan.root))
    assert plan.analyzed
    assert plan.execution_ms is not None
    assert any(n.expensive for n in nodes)
    scan = next(n for n in nodes if "on jobs" in n.label)
    assert scan.actual_rows == 15003  # ids 1..15000, and 16000, 18000, 20000 failed before
    assert scan.estimated_rows < 1500
    assert scan.misestimate
    assert any(name.startswith("shared") for name, _ in scan.buffers)


def test_with_write_explain_analyze_of_a_writing_query_is_rolled_back(
    project: tuple[Settings, str],
) -> None:
    settings, url = project
    with _client(settings, url, write=True) as client:
        client.get(f"/?token={TOKEN}")
        page = client.post(
            "/queries/delete_job",
            data={"job_id": "2000", "studio.action": "explain", "studio.analyze": "1"},
            headers=SAME_ORIGIN,
        )
    assert page.status_code == 200, page.text
    assert "Delete on jobs" in page.text
    assert re.search(r'actual <span class="act">1</span> rows', page.text)  # the scan found it
    with psycopg.connect(url) as conn:
        kept: Any = conn.execute("SELECT state FROM jobs WHERE id = 2000").fetchone()
    assert kept == ("failed",)
