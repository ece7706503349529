"""The read-your-writes scope: its token, where it is active, and what units record in it.

No replica is needed: a scope records the WAL position of each unit that may write, on the
primary, whether or not replicas are configured (a database without replicas routes nothing).
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from plainsql import AsyncDatabase, Database, Scope
from plainsql.errors import InvalidScope, UniqueViolation
from plainsql.runtime._replicas import current_scope, format_lsn, parse_lsn


def test_a_scope_goes_to_text_and_back() -> None:
    new = Scope()
    assert new.token() == ""
    assert Scope.from_token("").position == 0
    assert Scope.from_token(None).position == 0
    carried = Scope.from_token("16/B374D848")
    assert carried.position == (0x16 << 32) | 0xB374D848
    assert str(carried) == carried.token() == "16/B374D848"
    assert Scope.from_token(carried.token()).position == carried.position
    assert format_lsn(parse_lsn("0/3000060")) == "0/3000060"


@pytest.mark.parametrize("token", ["7/", "x/1", "1/2/3", "16/B374D848; admin=1", "1" * 40])
def test_a_token_that_is_not_a_position_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(InvalidScope) as refused:
        Scope.from_token(token)
    assert token not in str(refused.value)
    assert "WAL position" in str(refused.value)


def test_a_scope_keeps_its_latest_commit_and_an_unknown_one_pins_it() -> None:
    scope = Scope()
    scope.note(200)
    scope.note(100)  # an older position never lowers it
    assert scope.position == 200
    scope.note(None)  # committed, position unknown: no replica can prove it has it
    assert scope.token() == "FFFFFFFF/FFFFFFFF"
    scope.note(300)  # the next commit's position is later on the same server
    assert scope.position == 300


async def test_a_scope_is_active_in_its_own_task_only() -> None:
    first, second = Scope(), Scope()
    seen: dict[str, Scope | None] = {}

    async def inside(name: str, scope: Scope) -> None:
        with scope.active():
            await asyncio.sleep(0.01)  # the other task runs meanwhile
            seen[name] = current_scope()

    await asyncio.gather(inside("first", first), inside("second", second))
    assert seen == {"first": first, "second": second}
    assert current_scope() is None


async def test_a_unit_that_may_write_records_its_commit_and_a_read_only_one_does_not(
    plainsql_async_db: AsyncDatabase,
) -> None:
    db = plainsql_async_db.with_transaction_role(None)
    scope = Scope()
    with scope.active():
        async with db.transaction(read_only=True) as conn:
            await conn.execute("SELECT 1")
        assert scope.position == 0  # read-only: nothing asked, nothing recorded
        async with db.transaction() as conn:
            await conn.execute("SELECT pg_current_xact_id()")  # a transaction id: it writes
        written = scope.position
        assert written > 0
    async with db.transaction() as conn:  # outside the scope: nothing recorded
        cursor = await conn.execute("SELECT pg_current_wal_insert_lsn()::text")
        row = await cursor.fetchone()
        assert row is not None
        now = parse_lsn(str(row[0]))
    assert scope.position == written <= now


def test_the_sync_runtime_records_commits_alike(plainsql_db: Database) -> None:
    db = plainsql_db.with_transaction_role(None)
    scope = Scope()
    with scope.active(), db.transaction() as conn:
        conn.execute("SELECT pg_current_xact_id()")
    assert scope.position > 0


async def test_a_commit_that_fails_in_a_scope_raises_as_without_one(
    plainsql_async_db: AsyncDatabase,
) -> None:
    db = plainsql_async_db.with_transaction_role(None)

    async def duplicate_checked_at_commit() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "CREATE TEMP TABLE deferred_check (id int PRIMARY KEY"
                " DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"
            )
            await conn.execute("INSERT INTO deferred_check VALUES (1), (1)")

    scope = Scope()
    with scope.active(), pytest.raises(UniqueViolation) as failed:
        await duplicate_checked_at_commit()  # refused by `COMMIT; SELECT ...`'s COMMIT
    assert isinstance(failed.value.__cause__, psycopg.errors.UniqueViolation)
    assert scope.position == 0
