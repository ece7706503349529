"""Migrations 0040-0059 (projects, agents and meetings, video library): forward, back, forward.

Also the id generator they share: generate_id() makes 21-character URL-safe random ids.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

OURS = range(40, 60)  # the migration numbers this part of the schema owns

CATALOG = """
SELECT 'relation ' || c.relkind::text || ' ' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
UNION ALL
SELECT 'type ' || t.typname
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'b', 'r', 'm')
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
UNION ALL
SELECT 'trigger ' || tg.tgname || ' on ' || tg.tgrelid::regclass::text
FROM pg_trigger tg WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'constraint ' || co.conname
FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
WHERE n.nspname = 'public'
UNION ALL
SELECT 'comment ' || c.relname || '/' || d.objsubid || ' ' || d.description
FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
"""


def catalog(url: str) -> set[str]:
    """Every object of the public schema, by name (tables, indexes, types, functions, ...)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(CATALOG).fetchall()
    return {r[0] for r in rows if "_yoyo" not in r[0] and "yoyo_lock" not in r[0]}


def test_enums_have_the_reference_labels_in_order(plainsql_conn: psycopg.Connection[Any]) -> None:
    rows = plainsql_conn.execute(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)"
        " FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        " WHERE t.typname IN ('meeting_status', 'processing_status') GROUP BY t.typname"
    ).fetchall()
    assert dict(rows) == {
        "meeting_status": ["upcoming", "active", "completed", "processing", "cancelled"],
        "processing_status": ["pending", "processing", "completed", "failed"],
    }


def test_generate_id_is_21_url_safe_characters_and_uses_the_whole_alphabet(
    plainsql_conn: psycopg.Connection[Any],
) -> None:
    ids = [
        r[0] for r in plainsql_conn.execute("SELECT generate_id() FROM generate_series(1, 3000)")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{21}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    letters = "".join(ids)
    # 63,000 letters over 64 symbols: each expected ~984 times. A biased byte (the uuid
    # version nibble) or a truncated alphabet would show as a symbol far off that.
    counts = {ch: letters.count(ch) for ch in set(letters)}
    assert len(counts) == 64
    assert min(counts.values()) > 700
    assert max(counts.values()) < 1300


def test_updated_at_is_kept_by_the_database(plainsql_conn: psycopg.Connection[Any]) -> None:
    plainsql_conn.execute("INSERT INTO users (id, name, email) VALUES ('u', 'U', 'u@example.com')")
    plainsql_conn.execute(
        "INSERT INTO agents (id, name, user_id, instructions, updated_at)"
        " VALUES ('a', 'A', 'u', 'i', '2000-01-01')"
    )
    plainsql_conn.commit()
    plainsql_conn.execute("UPDATE agents SET name = 'B' WHERE id = 'a'")
    row = plainsql_conn.execute(
        "SELECT updated_at > '2001-01-01' FROM agents WHERE id = 'a'"
    ).fetchone()
    assert row == (True,)
    tables = plainsql_conn.execute(
        "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%%_set_updated_at'"
    ).fetchall()
    assert {
        "projects",
        "project_files",
        "agent_states",
        "agents",
        "meetings",
        "video_summaries",
    } <= {r[0] for r in tables}
