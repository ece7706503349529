"""The real `plainsql seed` with seeds/0300_projects_meetings_videos.sql: demo data, idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner
from psycopg import sql

from plainsql.cli import cli

PROJECT_DIR = Path(__file__).resolve().parents[2]
OUR_TABLES = (
    "projects",
    "project_files",
    "agent_states",
    "agents",
    "meetings",
    "video_summaries",
    "tags",
    "categories",
    "video_summary_tags",
    "video_summary_categories",
    "keyframes",
)


def run_seed(database_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["--project-dir", str(PROJECT_DIR), "seed"], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert "seeded seeds/0300_projects_meetings_videos.sql" in result.output


def table_names(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def row_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        counts = {}
        for table in table_names(conn):
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            assert row is not None
            counts[table] = row[0]
        return counts


def contents(database_url: str) -> dict[str, list[str]]:
    """Every row of this seed's tables as text, in a stable order."""
    with psycopg.connect(database_url) as conn:
        return {
            table: [
                r[0]
                for r in conn.execute(
                    sql.SQL("SELECT t::text FROM {} AS t ORDER BY 1").format(sql.Identifier(table))
                ).fetchall()
            ]
            for table in OUR_TABLES
        }


def test_seed_twice_leaves_the_same_rows_in_every_table(plainsql_database_url: str) -> None:
    run_seed(plainsql_database_url)
    first_counts, first_rows = row_counts(plainsql_database_url), contents(plainsql_database_url)
    run_seed(plainsql_database_url)

    assert row_counts(plainsql_database_url) == first_counts
    assert contents(plainsql_database_url) == first_rows
    assert all(first_counts[table] > 0 for table in OUR_TABLES), first_counts


def test_seed_has_a_meeting_in_each_status_and_complete_demo_data(
    plainsql_database_url: str,
) -> None:
    run_seed(plainsql_database_url)
    with psycopg.connect(plainsql_database_url) as conn:
        statuses = {r[0] for r in conn.execute("SELECT DISTINCT status::text FROM meetings")}
        assert statuses == {"upcoming", "active", "processing", "completed", "cancelled"}
        owners = conn.execute(
            "SELECT DISTINCT user_id FROM projects UNION SELECT user_id FROM agents"
            " UNION SELECT user_id FROM video_summaries ORDER BY 1"
        ).fetchall()
        assert [r[0] for r in owners] == ["seed-user-alice", "seed-user-bob", "seed-user-carol"]
        without_state = conn.execute(
            "SELECT count(*) FROM projects p"
            " WHERE NOT EXISTS (SELECT 1 FROM agent_states s WHERE s.project_id = p.id)"
        ).fetchone()
        assert without_state == (0,)
        tagged = conn.execute(
            "SELECT count(*) FROM video_summaries v"
            " WHERE EXISTS (SELECT 1 FROM video_summary_tags t WHERE t.video_summary_id = v.id)"
            " AND EXISTS (SELECT 1 FROM keyframes k WHERE k.video_summary_id = v.id)"
        ).fetchone()
        assert tagged is not None
        assert tagged[0] >= 1
