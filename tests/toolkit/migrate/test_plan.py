"""The plan across branches: two git worktrees each add a migration, then both are merged.

Two cases a team meets: both branches picked the same number (refused by every command,
naming both files), and the branch merged second carries a migration that sorts below one
already applied from the first (refused by ``migrate`` until renamed or allowed out of order).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from plainsql.cli import cli
from plainsql.migrate.files import new_migration

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def run(project: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


def applied(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc")
    return [r[0] for r in rows.fetchall()]


def on_branch(main: Path, branch: str, slug: str, at: datetime, table: str) -> str:
    """In a worktree of ``main`` on a new ``branch``, add a migration written at ``at``."""
    tree = main.parent / branch
    git(main, "worktree", "add", "-q", "-b", branch, str(tree))
    forward, backward = new_migration(tree / "migrations", slug, now=at)
    forward.write_text(forward.read_text() + f"CREATE TABLE {table} (id bigint PRIMARY KEY);\n")
    backward.write_text(backward.read_text() + f"DROP TABLE {table};\n")
    git(tree, "add", "migrations")
    git(tree, "commit", "-q", "-m", f"add {slug}")
    return forward.name.removesuffix(".sql")


@pytest.fixture
def main(tmp_path: Path) -> Path:
    repo = tmp_path / "main"
    (repo / "migrations").mkdir(parents=True)
    (repo / "migrations" / "0001_base.sql").write_text(
        "-- 0001_base: the first table.\nCREATE TABLE base (id bigint PRIMARY KEY);\n"
    )
    (repo / "migrations" / "0001_base.rollback.sql").write_text("DROP TABLE base;\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def test_two_branches_with_the_same_number_are_refused_naming_both_files(
    main: Path, plainsql_empty_database_url: str
) -> None:
    same_second = datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)
    orders = on_branch(main, "orders", "orders", same_second, "orders")
    invoices = on_branch(main, "invoices", "invoices", same_second, "invoices")
    git(main, "merge", "-q", "orders")
    git(main, "merge", "-q", "--no-edit", "invoices")  # no git conflict: two new files

    for command in ("migrate", "status"):
        refused = run(main, plainsql_empty_database_url, command)
        assert refused.exit_code == 1, refused.output
        assert f"{invoices}.sql and {orders}.sql share the number 20261128090000" in (
            refused.output
        )

    # The fix the message gives: the migration no database has applied gets a new number.
    message = refused.output.replace("\n", "")
    move = next(c for c in message.split("`") if c.startswith(f"git mv migrations/{invoices}"))
    git(main, *move.split()[1:])
    new_id = Path(move.split()[-1]).name.removesuffix(".sql")
    git(main, "mv", f"migrations/{invoices}.rollback.sql", f"migrations/{new_id}.rollback.sql")
    done = run(main, plainsql_empty_database_url, "migrate")
    assert done.exit_code == 0, done.output
    assert [line for line in done.output.splitlines() if line.startswith("applied")] == [
        "applied 0001_base",
        f"applied {orders}",
        f"applied {new_id}",
    ]


def test_a_branch_merged_late_is_refused_as_out_of_order_until_allowed(
    main: Path, plainsql_empty_database_url: str
) -> None:
    orders = on_branch(main, "orders", "orders", datetime(2026, 11, 28, 9, 0, tzinfo=UTC), "orders")
    invoices = on_branch(
        main, "invoices", "invoices", datetime(2026, 11, 28, 9, 15, tzinfo=UTC), "invoices"
    )
    git(main, "merge", "-q", "invoices")  # the later branch lands and is deployed first
    assert run(main, plainsql_empty_database_url, "migrate").exit_code == 0
    git(main, "merge", "-q", "--no-edit", "orders")

    refused = run(main, plainsql_empty_database_url, "migrate")
    assert refused.exit_code == 1
    assert f"migrations/{orders}.sql is not applied but sorts before {invoices}" in refused.output
    assert "--allow-out-of-order" in refused.output
    assert f"`git mv migrations/{orders}.sql migrations/" in refused.output
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        assert applied(conn) == ["0001_base", invoices]

        allowed = run(main, plainsql_empty_database_url, "migrate", "--allow-out-of-order")
        assert allowed.exit_code == 0, allowed.output
        assert f"applied {orders}" in allowed.output
        assert applied(conn) == ["0001_base", invoices, orders]
        assert (
            run(main, plainsql_empty_database_url, "migrate").exit_code == 0
        )  # nothing left to refuse

        # Rollback undoes what was applied last first: the late migration.
        undone = run(main, plainsql_empty_database_url, "rollback")
        assert undone.exit_code == 0, undone.output
        assert f"rolled back {orders}" in undone.output
        assert applied(conn) == ["0001_base", invoices]
