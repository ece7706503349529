"""python -m reference_apps.maintenance, run as cron runs it (a subprocess, DATABASE_URL) while
the application writes: the purges of sessions and verifications, and the audit archive."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries

from .fixtures import add_alice_and_bob, add_writers, write_audit_entries

SyncConn = psycopg.Connection[tuple[Any, ...]]


async def maintenance(url: str, *args: str) -> str:
    """Run one maintenance command against ``url``; its output (it must succeed)."""
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reference_apps.maintenance", *args,
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, errors = await command.communicate()
    assert command.returncode == 0, errors.decode()
    return output.decode()


def count(conn: SyncConn, query: str) -> int:
    row = conn.execute(query).fetchone()
    conn.commit()
    assert row is not None
    return int(row[0])


async def test_archive_audit_moves_old_entries_while_eight_writers_write_none_lost_or_doubled(
    plainsql_conn: SyncConn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_database_url: str,
) -> None:
    """3,000 entries 100 days old; two overlapping cron runs of `archive-audit --older-than
    30d` (batches of 100) while eight users keep writing. Counted afterwards: the archive holds
    each old entry once and unchanged, the log each new one once, and no entry is in both."""
    writers = add_writers(plainsql_conn, 8)
    plainsql_conn.execute(
        "INSERT INTO teams (name, slug) SELECT 'Team ' || i, 'team-' || i"
        " FROM generate_series(1, 1500) AS i"
    )
    plainsql_conn.execute("UPDATE teams SET name = name || ' renamed'")
    plainsql_conn.execute("UPDATE audit_log SET created_at = created_at - interval '100 days'")
    plainsql_conn.commit()
    old = plainsql_conn.execute(
        "SELECT id, md5(row(table_name, action, row_key, old_row, new_row, acting_user_id,"
        " created_at)::text) FROM audit_log ORDER BY id"
    ).fetchall()
    assert len(old) == 8 + 3000

    done = asyncio.Event()
    writing = [
        asyncio.create_task(write_audit_entries(plainsql_async_db, typed_queries, w, done))
        for w in writers
    ]
    runs = [
        maintenance(plainsql_database_url, "archive-audit", "--older-than", "30d",
                    "--batch-size", "100")
        for _ in range(2)
    ]  # fmt: skip
    outputs = await asyncio.gather(*runs)
    done.set()
    written = [name for names in await asyncio.gather(*writing) for name in names]

    reported = [int(re.findall(r"archived (\d+) audit entr", out)[0]) for out in outputs]
    assert sum(reported) == len(old)
    archived = plainsql_conn.execute(
        "SELECT id, md5(row(table_name, action, row_key, old_row, new_row, acting_user_id,"
        " created_at)::text) FROM audit_log_archive ORDER BY id"
    ).fetchall()
    assert archived == old  # each old entry once, as it was
    new_entries = plainsql_conn.execute(
        "SELECT new_row ->> 'name' FROM audit_log WHERE table_name = 'users'"
    ).fetchall()
    plainsql_conn.commit()
    assert Counter(name for (name,) in new_entries) == Counter(written)
    assert count(plainsql_conn, "SELECT count(*) FROM audit_log") == len(written)
    assert len(written) >= len(writers)


async def test_purge_sessions_and_verifications_delete_only_the_expired_ones(
    plainsql_conn: SyncConn, plainsql_database_url: str
) -> None:
    add_alice_and_bob(plainsql_conn)
    plainsql_conn.execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at)"
        " SELECT 'user-alice', sha256(i::text::bytea),"
        " now() + CASE WHEN i <= 25 THEN interval '-1 minute' ELSE interval '1 day' END"
        " FROM generate_series(1, 30) AS i"
    )
    plainsql_conn.execute(
        "INSERT INTO verifications (identifier, value_hash, expires_at)"
        " SELECT 'v' || i, sha256(i::text::bytea),"
        " now() + CASE WHEN i <= 12 THEN interval '-1 minute' ELSE interval '1 hour' END"
        " FROM generate_series(1, 15) AS i"
    )
    plainsql_conn.commit()

    sessions = await maintenance(plainsql_database_url, "purge-sessions", "--batch-size", "10")
    verifications = await maintenance(
        plainsql_database_url, "purge-verifications", "--batch-size", "5"
    )

    assert "purged 25 expired session(s)" in sessions
    assert "purged 12 expired verification(s)" in verifications
    assert count(plainsql_conn, "SELECT count(*) FROM sessions WHERE expires_at > now()") == 5
    assert count(plainsql_conn, "SELECT count(*) FROM sessions") == 5
    assert count(plainsql_conn, "SELECT count(*) FROM verifications") == 3


async def test_two_purges_at_once_delete_each_expired_row_once(
    plainsql_conn: SyncConn, plainsql_database_url: str
) -> None:
    add_alice_and_bob(plainsql_conn)
    plainsql_conn.execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at)"
        " SELECT 'user-bob', sha256(i::text::bytea), now() - interval '1 minute'"
        " FROM generate_series(1, 3000) AS i"
    )
    plainsql_conn.commit()
    outputs = await asyncio.gather(
        *(maintenance(plainsql_database_url, "purge-sessions", "--batch-size", "50")
          for _ in range(2))
    )  # fmt: skip
    purged = [int(re.findall(r"purged (\d+) expired", out)[0]) for out in outputs]
    assert sum(purged) == 3000
    assert count(plainsql_conn, "SELECT count(*) FROM sessions") == 0


@pytest.mark.parametrize("age", ["30", "3 weeks", "-1d", "1y"])
async def test_archive_audit_refuses_an_age_it_cannot_read(
    plainsql_database_url: str, age: str
) -> None:
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reference_apps.maintenance", "archive-audit", "--older-than", age,
        env={**os.environ, "DATABASE_URL": plainsql_database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await command.communicate()
    assert command.returncode == 2
    assert "is not an age such as 90d, 12h, 30min or 45s" in errors.decode()
