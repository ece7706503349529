"""`plainsql lint`: squawk plus our rules, reported as file:line: rule: message."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.config import Settings, load_settings
from plainsql.migrate.lint import created_objects, lint_migrations
from plainsql.testing import TestServer

from ..fixtures import write_migration

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(plainsql_server: TestServer, tmp_path: Path) -> Settings:
    """A project of its own with plainsql's defaults, no .squawk.toml, and the updated_at rule."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.plainsql]\nupdated-at-function = "set_updated_at"\n'
    )
    return load_settings(
        {"DATABASE_URL": plainsql_server.admin_conninfo, "PLAINSQL_PROJECT_DIR": str(tmp_path)}
    )


def bad_project(project: Path) -> None:
    write_migration(
        project,
        "0001_parent",
        "-- 0001_parent: the parent table.\nCREATE TABLE parent (id bigint PRIMARY KEY);\n",
        "DROP TABLE parent;\n",
    )
    write_migration(
        project,
        "0002_child",
        "-- 0002_child: children of a parent.\n"
        "CREATE TABLE child (\n"
        "    id         bigint NOT NULL,\n"
        "    parent_id  bigint NOT NULL,\n"
        "    seen_at    timestamp,\n"
        "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
        "    CONSTRAINT child_pkey PRIMARY KEY (id),\n"
        "    CONSTRAINT child_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parent (id)\n"
        ");\n",
        "DROP TABLE child;\n",
    )
    write_migration(
        project,
        "0003_index",
        "-- 0003_index: look parents up fast.\nCREATE TYPE color AS ENUM ('red');\n"
        "CREATE INDEX CONCURRENTLY parent_id_idx ON parent (id);\n",
        "DROP INDEX parent_id_idx;\n",
    )
    write_migration(project, "0004_orphan", "CREATE TABLE orphan (id bigint PRIMARY KEY);\n", None)


def test_lint_reports_each_rule_at_its_line(settings: Settings) -> None:
    bad_project(settings.project_dir)
    lines = [f.text() for f in lint_migrations(settings)]
    expected = [
        "migrations/0002_child.sql:8: fk-indexed: foreign key child_parent_id_fkey on child "
        "(parent_id) has no index starting with (parent_id)",
        "migrations/0002_child.sql:5: timestamptz-only: child.seen_at is timestamp without "
        "time zone: use timestamptz",
        "migrations/0002_child.sql:6: updated-at-trigger: table child has updated_at but no "
        "trigger: CREATE TRIGGER child_set_updated_at",
        "migrations/0003_index.sql:3: concurrently-non-transactional: 0003_index.sql: "
        "'CREATE INDEX CONCURRENTLY parent_id_idx ON parent (id);' cannot run in a transaction",
        "migrations/0003_index.sql:2: rollback-drops: creates type color, which "
        "0003_index.rollback.sql never drops",
        "migrations/0004_orphan.sql:1: rollback-present: no rollback file 0004_orphan.rollback.sql",
        "migrations/0004_orphan.sql:1: header-comment: open with a comment",
        "migrations/0002_child.sql:5: squawk/prefer-timestamp-tz:",
    ]
    for wanted in expected:
        assert any(line.startswith(wanted) for line in lines), (wanted, lines)


def test_a_catalog_finding_is_accepted_only_with_a_reason_and_only_while_true(
    settings: Settings,
) -> None:
    bad_project(settings.project_dir)
    write_migration(
        settings.project_dir,
        "0005_exceptions",
        "-- 0005_exceptions: the findings we accept, and why.\n"
        "-- plainsql-ignore fk-indexed child_parent_id_fkey: parents are never deleted\n"
        "-- plainsql-ignore timestamptz-only child.seen_at\n"
        "-- plainsql-ignore fk-indexed child_gone_fkey: renamed since\n"
        "-- plainsql-ignore squawk/ban-drop-column child: not ours\n"
        "SELECT 1;\n",
        "SELECT 1;\n",
    )
    lines = [f.text() for f in lint_migrations(settings)]
    assert not any("fk-indexed" in line and "child_parent_id_fkey" in line for line in lines)
    # No reason: the finding stays, and the ignore is reported.
    assert any(line.startswith("migrations/0002_child.sql:5: timestamptz-only:") for line in lines)
    assert (
        "migrations/0005_exceptions.sql:3: ignore: say why timestamptz-only child.seen_at is "
        "ignored" in lines
    )
    assert (
        "migrations/0005_exceptions.sql:4: ignore: fk-indexed child_gone_fkey is ignored but not "
        "found" in lines
    )
    assert any(
        line.startswith("migrations/0005_exceptions.sql:5: ignore: squawk/ban-drop-column is not")
        for line in lines
    )


def test_lint_github_format_and_exit_code(settings: Settings) -> None:
    bad_project(settings.project_dir)
    result = CliRunner().invoke(
        cli,
        ["--project-dir", str(settings.project_dir), "lint", "--format", "github"],
        env={"DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 1
    assert (
        "::error file=migrations/0004_orphan.sql,line=1,title=rollback-present::no rollback file"
        in result.output
    )


def test_lint_passes_well_formed_migrations(settings: Settings) -> None:
    write_migration(
        settings.project_dir,
        "0001_parent",
        "-- 0001_parent: parents, their children, and a lookup index added later.\n"
        "CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN NEW.updated_at := now(); RETURN NEW; END; $$;\n"
        "CREATE TABLE parent (id bigint GENERATED ALWAYS AS IDENTITY, name text NOT NULL,\n"
        "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
        "    CONSTRAINT parent_pkey PRIMARY KEY (id));\n"
        "CREATE TRIGGER parent_set_updated_at BEFORE UPDATE ON parent\n"
        "    FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n"
        "CREATE TABLE child (parent_id bigint NOT NULL, n bigint NOT NULL,\n"
        "    CONSTRAINT child_pkey PRIMARY KEY (parent_id, n),\n"
        "    CONSTRAINT child_parent_id_fkey FOREIGN KEY (parent_id)\n"
        "        REFERENCES parent (id) ON DELETE CASCADE);\n",
        "DROP TABLE child;\nDROP TABLE parent;\nDROP FUNCTION set_updated_at();\n",
    )
    write_migration(
        settings.project_dir,
        "0002_parent_name",
        "-- transactional: false\n-- 0002_parent_name: find parents by name without blocking.\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS parent_name_idx ON parent (name);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS parent_name_idx;\n",
    )
    findings = lint_migrations(settings)
    assert [f.text() for f in findings] == []


def test_without_an_updated_at_function_there_is_no_updated_at_rule(settings: Settings) -> None:
    bad_project(settings.project_dir)
    unconfigured = replace(settings, updated_at_function=None)
    rules = {f.rule for f in lint_migrations(unconfigured)}
    assert "updated-at-trigger" not in rules
    assert {"fk-indexed", "timestamptz-only"} <= rules


def test_squawk_rules_the_runner_makes_redundant_are_off_unless_turned_on(
    settings: Settings,
) -> None:
    write_migration(
        settings.project_dir,
        "0001_things",
        "-- 0001_things: a table to lint.\nCREATE TABLE things (id bigint PRIMARY KEY);\n"
        "ALTER TABLE things ADD COLUMN name text;\n",
        "DROP TABLE things;\n",
    )
    assert [f.text() for f in lint_migrations(settings)] == []
    everything_on = replace(settings, squawk_exclude=())
    rules = {f.rule for f in lint_migrations(everything_on)}
    assert "squawk/require-timeout-settings" in rules or "squawk/require-lock-timeout" in rules


def test_created_objects_sees_names_the_rollback_must_drop() -> None:
    text = (
        "-- a comment naming CREATE TABLE fake\n"
        'CREATE TABLE IF NOT EXISTS public."Things" (id bigint);\n'
        "CREATE UNIQUE INDEX things_idx ON ONLY users (id);\n"
        "ALTER TABLE users ADD COLUMN bio text, ADD CONSTRAINT users_bio CHECK (bio <> '');\n"
        "CREATE OR REPLACE FUNCTION shared() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
    )
    assert [(kind, name, table) for _, kind, name, table in created_objects(text)] == [
        ("table", "Things", None),
        ("index", "things_idx", "users"),
        ("constraint", "users_bio", "users"),
        ("column", "bio", "users"),
    ]
