"""schema.sql: the committed dump equals what the migrations build, on every server version."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from plainsql.cli import cli
from plainsql.config import DatabaseSource
from plainsql.migrate.dump import HEADER, build_schema_sql, normalize
from plainsql.testing import TestServer

REPO = Path(__file__).resolve().parents[3]


def test_normalize_drops_what_depends_on_the_server_or_the_run() -> None:
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\n"
        "-- Dumped from database version 15.20\n-- Dumped by pg_dump version 18.6\n\n"
        "SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n"
        "\n\n\nCREATE TABLE public.t (\n    id bigint NOT NULL\n);\n\n\n"
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET (pg_attver=224356680);\n\n"
        "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n"
    )
    assert normalize(raw) == HEADER + "\nCREATE TABLE public.t (\n    id bigint NOT NULL\n);\n"


def test_committed_schema_sql_is_what_the_migrations_build_on_this_server(
    plainsql_server: TestServer,
) -> None:
    settings = replace(
        plainsql_server.settings,
        database_url=plainsql_server.admin_conninfo,
        source=DatabaseSource.ENVIRONMENT,
    )
    built = build_schema_sql(settings)
    assert "CREATE TABLE public.users (" in built
    assert "_yoyo" not in built
    assert "plainsql_migration" not in built
    assert (REPO / "schema.sql").read_text() == built  # CI runs this on PostgreSQL 15 and 18


def test_schema_dump_check_fails_naming_schema_sql_when_stale(
    plainsql_server: TestServer, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "migrations", tmp_path / "migrations")
    env = {"DATABASE_URL": plainsql_server.admin_conninfo}
    args = ["--project-dir", str(tmp_path), "schema", "dump"]
    missing = CliRunner().invoke(cli, [*args, "--check"], env=env)
    assert missing.exit_code == 1
    assert "schema.sql is missing" in missing.output

    written = CliRunner().invoke(cli, args, env=env)
    assert written.exit_code == 0, written.output
    assert (tmp_path / "schema.sql").read_text() == (REPO / "schema.sql").read_text()
    assert CliRunner().invoke(cli, [*args, "--check"], env=env).exit_code == 0

    (tmp_path / "migrations" / "9999_extra.sql").write_text(
        "-- 9999_extra: one more table.\nCREATE TABLE extra (id bigint PRIMARY KEY);\n"
    )
    (tmp_path / "migrations" / "9999_extra.rollback.sql").write_text("DROP TABLE extra;\n")
    stale = CliRunner().invoke(cli, [*args, "--check"], env=env)
    assert stale.exit_code == 1
    assert "schema.sql is stale" in stale.output
    assert "+CREATE TABLE public.extra (" in stale.output
