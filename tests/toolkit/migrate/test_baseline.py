"""Baseline: a database built by hand, without plainsql, adopted as the start of a history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from plainsql.cli import cli
from plainsql.migrate.baseline import runnable
from plainsql.migrate.files import new_migration

# What an application that never used plainsql might have: psql-style DDL, run by hand.
HAND_MADE = """
CREATE SCHEMA billing;
CREATE TYPE billing.invoice_state AS ENUM ('draft', 'sent', 'paid');
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE billing.invoice_number START 1000;
CREATE TABLE billing.invoices (
    id serial PRIMARY KEY,
    number bigint NOT NULL DEFAULT nextval('billing.invoice_number'),
    customer_id bigint NOT NULL REFERENCES customers (id),
    state billing.invoice_state NOT NULL DEFAULT 'draft',
    total numeric(12, 2) CHECK (total >= 0)
);
CREATE INDEX invoices_customer_idx ON billing.invoices (customer_id);
COMMENT ON TABLE billing.invoices IS 'one row per invoice sent';
-- A SQL function reading a table: pg_dump writes functions before tables.
CREATE FUNCTION billing.open_total(customer bigint) RETURNS numeric LANGUAGE sql STABLE
AS 'SELECT coalesce(sum(total), 0) FROM billing.invoices WHERE customer_id = customer
    AND state <> ''paid''';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW billing.unpaid AS SELECT * FROM billing.invoices WHERE state <> 'paid';
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_all ON customers USING (true);
INSERT INTO customers (email) VALUES ('ada@example.com');
"""


def run(project: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project-dir", str(project), *args], env={"DATABASE_URL": url}
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    return tmp_path


@pytest.fixture
def hand_made(plainsql_empty_database_url: str) -> Any:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        conn.execute(HAND_MADE.encode())
        yield conn


def test_baseline_adopts_a_hand_made_database_then_migrate_applies_only_what_is_new(
    project: Path, plainsql_empty_database_url: str, hand_made: psycopg.Connection[Any]
) -> None:
    taken = run(project, plainsql_empty_database_url, "baseline")
    assert taken.exit_code == 0, taken.output
    files = sorted((project / "migrations").iterdir())
    assert len(files) == 1  # no rollback file: declared irreversible
    baseline_id = files[0].name.removesuffix(".sql")
    assert baseline_id.endswith("_baseline")
    assert f"recorded {baseline_id} as applied" in taken.stdout
    assert f"no drift: the database matches {baseline_id}" in taken.stdout
    text = files[0].read_text()
    assert "\n-- irreversible: " in text
    assert "CREATE TABLE billing.invoices" in text
    for unrunnable in ("\\restrict", "set_config('search_path'", "_yoyo", "plainsql_migration"):
        assert unrunnable not in text

    forward, backward = new_migration(project / "migrations", "customer_name")
    forward.write_text(
        forward.read_text() + "ALTER TABLE customers ADD COLUMN name text NOT NULL DEFAULT '';\n"
    )
    backward.write_text(backward.read_text() + "ALTER TABLE customers DROP COLUMN name;\n")
    migrated = run(project, plainsql_empty_database_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    applied = [line for line in migrated.stdout.splitlines() if line.startswith("applied")]
    assert applied == [f"applied {forward.name.removesuffix('.sql')}"]
    assert hand_made.execute("SELECT email, name FROM customers").fetchall() == [
        ("ada@example.com", "")
    ]

    drift = run(project, plainsql_empty_database_url, "drift")
    assert drift.exit_code == 0, drift.output
    assert "no drift" in drift.stdout

    refused = run(project, plainsql_empty_database_url, "rollback", "--all", "--dry-run")
    assert refused.exit_code == 1
    assert f"{baseline_id} is irreversible" in refused.stderr


def test_baseline_refuses_a_database_with_a_history(
    project: Path, plainsql_empty_database_url: str, hand_made: psycopg.Connection[Any]
) -> None:
    assert run(project, plainsql_empty_database_url, "baseline").exit_code == 0
    again = run(project, plainsql_empty_database_url, "baseline")
    assert again.exit_code == 1
    assert "migrations already holds 1 migration(s)" in again.stderr
    for path in (project / "migrations").iterdir():
        path.unlink()
    emptied = run(project, plainsql_empty_database_url, "baseline")
    assert emptied.exit_code == 1
    assert "already has 1 migration(s) recorded as applied" in emptied.stderr
    assert list((project / "migrations").iterdir()) == []


def test_runnable_strips_what_the_runner_cannot_execute() -> None:
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n"
        "\\restrict abc123\n\n"
        "-- Dumped from database version 18.1\n"
        "SET statement_timeout = 0;\nSET check_function_bodies = false;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "CREATE TABLE public.t (id integer);\n\n\n\n"
        "\\unrestrict abc123\n"
    )
    assert runnable(raw) == (
        "SET LOCAL check_function_bodies = false;\n\nCREATE TABLE public.t (id integer);\n"
    )
