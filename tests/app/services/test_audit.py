"""The audit log: every change of users, teams and team_members, with the acting user."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from plainsql import AsyncDatabase, Settings, open_async_pool
from plainsql.cli import cli
from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRole
from reference_apps.services.audit import AuditService
from reference_apps.services.auth import AuthService, User
from reference_apps.services.teams import TeamService

from ..fixtures import add_writers, write_audit_entries

SyncConn = psycopg.Connection[tuple[Any, ...]]
PASSWORD = "a long enough password"


def auditor(db: AsyncDatabase) -> AsyncDatabase:
    """The pool's login role without the application role: audit_log is closed to the latter."""
    return AsyncDatabase(db.pool, replace(db.settings, transaction_role=None))


async def new_user(auth: AuthService, name: str) -> User:
    return await auth.sign_up(email=f"{name}@x.io", password=PASSWORD, name=name.title())


async def test_a_role_change_is_logged_with_its_acting_user(
    auth: AuthService, teams: TeamService, audit: AuditService
) -> None:
    alice = await new_user(auth, "alice")
    bob = await new_user(auth, "bob")
    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)
    await teams.invite(team.id, bob.id, acting_user_id=alice.id)
    await teams.accept_invitation(team.id, acting_user_id=bob.id)  # Bob joins: his act

    await teams.change_role(team.id, bob.id, UserRole.OWNER, acting_user_id=alice.id)

    history = await audit.list_row_history("team_members", {"team_id": team.id, "user_id": bob.id})
    assert [(e.action, e.acting_user_id) for e in history] == [
        ("INSERT", bob.id),
        ("UPDATE", alice.id),
    ]
    change = history[1]
    assert change.row_key == {"team_id": str(team.id), "user_id": bob.id}
    assert isinstance(change.old_row, dict)
    assert isinstance(change.new_row, dict)
    assert (change.old_row["role"], change.new_row["role"]) == ("MEMBER", "OWNER")
    assert change.created_at is not None


async def test_create_team_logs_the_team_and_its_owner_as_done_by_the_creator(
    auth: AuthService, teams: TeamService, audit: AuditService
) -> None:
    alice = await new_user(auth, "alice")

    team = await teams.create_team(name="Acme", slug="acme", acting_user_id=alice.id)

    entries = await audit.list_by_actor(alice.id)
    assert [(e.table_name, e.action, e.row_key) for e in entries] == [
        ("team_members", "INSERT", {"team_id": str(team.id), "user_id": alice.id}),
        ("teams", "INSERT", {"id": str(team.id)}),
    ]
    assert entries[1].old_row is None
    assert isinstance(entries[1].new_row, dict)
    assert entries[1].new_row["slug"] == "acme"


async def test_user_changes_are_logged_and_outlive_a_hard_delete(
    auth: AuthService, audit: AuditService
) -> None:
    user = await new_user(auth, "ada")

    await auth.update_profile(user.id, name="Ada L.", acting_user_id=user.id)
    await auth.soft_delete_user(user.id)  # the user acts on its own row (the policies)
    await auth.hard_delete_user(user.id)

    history = await audit.list_row_history("users", {"id": user.id})
    assert [(e.action, e.acting_user_id) for e in history] == [
        ("INSERT", None),  # a sign-up has no acting user yet
        ("UPDATE", user.id),
        ("UPDATE", user.id),
        ("DELETE", user.id),
    ]
    rename, soft_delete, hard_delete = history[1:]
    assert isinstance(rename.old_row, dict)
    assert isinstance(rename.new_row, dict)
    assert (rename.old_row["name"], rename.new_row["name"]) == ("Ada", "Ada L.")
    assert isinstance(soft_delete.new_row, dict)
    assert soft_delete.new_row["deleted_at"] is not None
    assert hard_delete.new_row is None
    assert isinstance(hard_delete.old_row, dict)
    assert hard_delete.old_row["email"] == "ada@x.io"


async def test_the_acting_user_does_not_leak_to_the_next_transaction_on_a_connection(
    plainsql_settings: Settings, typed_queries: AsyncTypedQueries, fast_hasher: Any
) -> None:
    one_connection = replace(plainsql_settings, pool_min_size=1, pool_max_size=1)
    async with open_async_pool(one_connection) as pool:
        db = AsyncDatabase(pool, one_connection)
        auth = AuthService(db, typed_queries, password_hasher=fast_hasher)
        audit = AuditService(auditor(db), typed_queries)
        user = await new_user(auth, "ada")

        await auth.update_profile(user.id, name="first", acting_user_id=user.id)
        async with db.connection() as conn:  # the same connection, nobody named
            await conn.execute("UPDATE users SET name = 'second' WHERE id = %s", (user.id,))

        history = await audit.list_row_history("users", {"id": user.id})
    assert [e.acting_user_id for e in history] == [None, user.id, None]


async def test_every_writer_is_logged_even_plain_sql(
    plainsql_conn: SyncConn, audit: AuditService
) -> None:
    plainsql_conn.execute("SELECT set_config('app.user_id', 'psql-operator', true)")
    plainsql_conn.execute(
        "INSERT INTO users (id, name, email) VALUES ('u1', 'From psql', 'p@x.io')"
    )
    plainsql_conn.commit()

    history = await audit.list_row_history("users", {"id": "u1"})

    assert [(e.action, e.acting_user_id) for e in history] == [("INSERT", "psql-operator")]


async def test_no_password_hash_or_token_is_ever_copied_into_the_log(
    auth: AuthService, teams: TeamService, plainsql_conn: SyncConn
) -> None:
    user = await new_user(auth, "ada")
    signed_in = await auth.sign_in(email="ada@x.io", password=PASSWORD)
    await auth.accounts.link_account(
        user.id, provider_id="github", account_id="gh-1", access_token="gho_x1"
    )
    verification = await auth.verifications.request_email_verification(user.id)
    await teams.create_team(name="Acme", slug="acme", acting_user_id=user.id)
    await auth.update_profile(user.id, name="Ada L.", acting_user_id=user.id)
    password_hash = plainsql_conn.execute(
        "SELECT password FROM accounts WHERE provider_id = 'credential'"
    ).fetchone()
    assert password_hash is not None

    rows = plainsql_conn.execute(
        "SELECT table_name, row_key, old_row, new_row FROM audit_log"
    ).fetchall()
    logged = "\n".join(str(row) for row in rows)

    assert {row[0] for row in rows} == {"users", "teams", "team_members"}
    for secret in (PASSWORD, password_hash[0], signed_in.token, "gho_x1", verification.value):
        assert secret not in logged


# --- the archive (20261207043025_maintenance_paths) ----------------------------------------


def renames(conn: SyncConn, table: str) -> Counter[str]:
    """How many entries of ``table`` (audit_log or audit_log_archive) hold each rename."""
    rows = conn.execute(
        f"SELECT new_row ->> 'name' FROM {table} WHERE table_name = 'users' AND action = 'UPDATE'"
    ).fetchall()
    conn.commit()
    return Counter(name for (name,) in rows)


def entry_ids(conn: SyncConn, table: str) -> list[int]:
    rows = conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()
    conn.commit()
    return [entry_id for (entry_id,) in rows]


async def test_archivers_racing_eight_writers_lose_and_duplicate_no_entry(
    plainsql_conn: SyncConn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    """Everything is old enough (older_than 0): two archivers move entries in small batches
    while eight writers add more, then once more after them. Every entry written is, counted,
    in exactly one of the two tables."""
    writers = add_writers(plainsql_conn, 8)
    before = entry_ids(plainsql_conn, "audit_log")
    audit = AuditService(plainsql_async_db, typed_queries)
    done = asyncio.Event()
    moved: list[int] = []

    async def archive() -> None:
        while not done.is_set():
            moved.append(await audit.archive_entries(timedelta(0), batch_size=20))
            await asyncio.sleep(0.01)

    archivers = [asyncio.create_task(archive()) for _ in range(2)]
    writing = [
        asyncio.create_task(write_audit_entries(plainsql_async_db, typed_queries, w, done))
        for w in writers
    ]
    await asyncio.sleep(1.5)
    done.set()
    written = [name for names in await asyncio.gather(*writing) for name in names]
    await asyncio.gather(*archivers)
    moved.append(await audit.archive_entries(timedelta(0), batch_size=20))

    in_log, in_archive = (
        entry_ids(plainsql_conn, "audit_log"),
        entry_ids(plainsql_conn, "audit_log_archive"),
    )
    assert len(written) > 8 * 2  # the writers kept writing while the archivers ran
    assert sum(moved) == len(in_archive) == len(before) + len(written) - len(in_log)
    assert set(in_log).isdisjoint(in_archive)
    assert set(before) <= set(in_archive)
    found = renames(plainsql_conn, "audit_log") + renames(plainsql_conn, "audit_log_archive")
    assert found == Counter(written)  # each write's entry exactly once


async def test_the_archive_moves_only_entries_older_than_asked_and_keeps_them_whole(
    plainsql_conn: SyncConn, plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries
) -> None:
    add_writers(plainsql_conn, 3)
    plainsql_conn.execute(
        "UPDATE audit_log SET created_at = now() - interval '40 days'"
        " WHERE row_key ->> 'id' IN ('writer-0', 'writer-1')"
    )
    plainsql_conn.commit()
    old = plainsql_conn.execute(
        "SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at"
        " FROM audit_log WHERE created_at < now() - interval '30 days' ORDER BY id"
    ).fetchall()
    audit = AuditService(plainsql_async_db, typed_queries)

    assert await audit.archive_entries(timedelta(days=30), batch_size=1) == len(old) == 2

    archived = plainsql_conn.execute(
        "SELECT id, table_name, action, row_key, old_row, new_row, acting_user_id, created_at"
        " FROM audit_log_archive ORDER BY id"
    ).fetchall()
    assert archived == old
    assert plainsql_conn.execute("SELECT row_key ->> 'id' FROM audit_log").fetchall() == [
        ("writer-2",)
    ]
    assert await audit.archive_entries(timedelta(days=30)) == 0


@pytest.mark.parametrize("older_than", [timedelta(seconds=-1), timedelta(days=3651)])
async def test_an_age_out_of_bounds_archives_nothing(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, older_than: timedelta
) -> None:
    with pytest.raises(InvalidInput, match="older_than must be between 0 and 3650 days"):
        await AuditService(plainsql_async_db, typed_queries).archive_entries(older_than)


async def test_the_application_role_reads_neither_the_log_nor_its_archive(
    users: None, plainsql_async_db: AsyncDatabase
) -> None:
    for table in ("audit_log", "audit_log_archive"):
        with pytest.raises(PermissionDenied):
            async with plainsql_async_db.transaction(acting_user="user-alice") as conn:
                await conn.execute(f"SELECT count(*) FROM {table}")


async def test_rolling_the_archive_back_returns_its_entries_to_the_log(
    plainsql_conn: SyncConn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_database_url: str,
) -> None:
    add_writers(plainsql_conn, 4)
    logged = entry_ids(plainsql_conn, "audit_log")
    assert await AuditService(plainsql_async_db, typed_queries).archive_entries(timedelta(0)) == 4
    runner = CliRunner()
    env = {"DATABASE_URL": plainsql_database_url}
    before_archive = "20261207043024_audit_log_created_at_index"
    result = runner.invoke(cli, ["rollback", "--to", before_archive], env=env)
    assert result.exit_code == 0, result.output
    assert entry_ids(plainsql_conn, "audit_log") == logged
    result = runner.invoke(cli, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert entry_ids(plainsql_conn, "audit_log_archive") == []
