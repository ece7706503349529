"""Migrations 0020-0039 (workspaces, nodes, git publishing) roll back completely and re-apply."""

from __future__ import annotations

from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.migrations import Migrator, discover

FIRST_OF_OURS = "0020"
TABLES = ("workspaces", "nodes", "git_repositories", "deployment_history")
TYPES = ("sync_status", "deployment_status")
FUNCTIONS = ("node_uuid", "node_linked_pages")


def leftovers(conn: psycopg.Connection[Any]) -> list[str]:
    """Every object of these migrations still in the database."""
    row = conn.execute(
        "SELECT array(SELECT relname::text FROM pg_class"
        "             WHERE relname = any(%(tables)s) OR relname LIKE any(%(prefixes)s))"
        " || array(SELECT typname::text FROM pg_type WHERE typname = any(%(types)s))"
        " || array(SELECT proname::text FROM pg_proc WHERE proname = any(%(functions)s))",
        {
            "tables": list(TABLES),
            "prefixes": [f"{t}\\_%" for t in TABLES],
            "types": list(TYPES),
            "functions": list(FUNCTIONS),
        },
    ).fetchone()
    assert row is not None
    return sorted(row[0])


def test_rollback_removes_everything_and_migrate_restores_it(
    db_settings: Settings, empty_database_url: str
) -> None:
    files = discover(db_settings.migrations_dir)
    before_ours = max(m.id for m in files if m.id[:4] < FIRST_OF_OURS)
    with Migrator(db_settings, empty_database_url) as migrator:
        migrator.migrate()
        with psycopg.connect(empty_database_url) as conn:
            created = leftovers(conn)
        assert set(TABLES) | set(TYPES) | set(FUNCTIONS) <= set(created)
        assert "nodes_linked_pages_idx" in created

        migrator.rollback(to=before_ours)
        with psycopg.connect(empty_database_url) as conn:
            assert leftovers(conn) == []

        migrator.migrate()
        with psycopg.connect(empty_database_url) as conn:
            assert leftovers(conn) == created
