"""Catalog snapshots cover every kind of object a migration creates, and diff names them."""

from __future__ import annotations

from typing import Any

import psycopg

from plainsql.migrate.catalog import diff, snapshot

SCHEMA = """
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'the app';
CREATE TYPE app.mood AS ENUM ('ok', 'meh');
CREATE DOMAIN app.positive AS integer NOT NULL CHECK (VALUE > 0);
CREATE TYPE app.pair AS (a integer, b text);
CREATE TABLE app.things (
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL DEFAULT 'x',
    mood app.mood,
    CONSTRAINT things_pkey PRIMARY KEY (id),
    CONSTRAINT things_name_check CHECK (name <> '')
);
COMMENT ON COLUMN app.things.name IS 'what it is called';
CREATE INDEX things_name_idx ON app.things (name);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;
CREATE TRIGGER things_touch BEFORE UPDATE ON app.things
    FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE VIEW app.thing_names AS SELECT name FROM app.things;
CREATE SEQUENCE app.counter START 5;
ALTER TABLE app.things ENABLE ROW LEVEL SECURITY;
CREATE POLICY things_all ON app.things USING (true);
CREATE TABLE _yoyo_migration (migration_hash text PRIMARY KEY);
"""


def test_snapshot_covers_every_kind_and_leaves_bookkeeping_out(
    plainsql_empty_database_url: str,
) -> None:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        empty = snapshot(conn)
        conn.execute(SCHEMA.encode())
        full = snapshot(conn)
    added = {d.key for d in diff(empty, full) if d.change == "added"}
    assert {
        "schema app",
        "type app.mood",
        "type app.positive",
        "type app.pair",
        "column app.pair.a",
        "table app.things",
        "column app.things.id",
        "constraint app.things.things_pkey",
        "constraint app.things.things_name_check",
        "constraint app.positive.positive_check",
        "index app.things_pkey",
        "index app.things_name_idx",
        "function app.touch()",
        "trigger app.things.things_touch",
        "view app.thing_names",
        "sequence app.counter",
        "sequence app.things_id_seq",
        "policy app.things.things_all",
    } <= added
    assert not any("_yoyo" in key for key in added)
    assert full["column app.things.name"] == {
        "type": "text",
        "nullability": "not null",
        "default": "'x'::text",
        "position": "2",
        "comment": "what it is called",
    }
    assert full["type app.mood"]["labels"] == "'ok', 'meh'"
    assert full["table app.things"]["row_security"] == "enabled"


def test_diff_names_what_changed(plainsql_empty_database_url: str) -> None:
    with psycopg.connect(plainsql_empty_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id bigint NOT NULL, note text)")
        before = snapshot(conn)
        conn.execute("ALTER TABLE t ALTER COLUMN note SET NOT NULL")
        conn.execute("COMMENT ON TABLE t IS 'ts'")
        after: dict[str, Any] = snapshot(conn)
    changes = [d.describe() for d in diff(before, after)]
    assert changes == [
        "column public.t.note differs: nullability 'null' -> 'not null'",
        "table public.t differs: comment (none) -> 'ts'",
    ]
