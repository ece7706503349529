"""reference_apps.rotate_keys: every stored secret re-encrypted under the newest key.

It is also the data step after migrations 0011 and 0026, which could only turn the text
columns into bytea: the legacy plaintext they leave is encrypted by the same command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher

from plainsql import AsyncDatabase, open_async_pool
from plainsql.migrate.runner import Migrator
from plainsql.testing import TestServer
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.rotate_keys import rotate_keys
from reference_apps.services.auth import AuthService, OAuthTokens
from reference_apps.services.crypto import (
    KEYS_SETTING,
    EncryptionKey,
    KeyRing,
    Secret,
    UnknownKeyId,
    key_id_of,
)
from reference_apps.services.git import GitService
from reference_apps.services.workspaces import Workspace

from .fixtures import add_workspace

SyncConn = psycopg.Connection[tuple[Any, ...]]
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
KEY_1 = EncryptionKey("key-1", b"\x11" * 32)
KEY_2 = EncryptionKey("key-2", b"\x22" * 32)
ROOT = Path(__file__).resolve().parents[2]
TOKENS = OAuthTokens(
    access_token=Secret("gho_access"),
    refresh_token=Secret("ghr_refresh"),
    id_token=Secret("eyJ.id"),
)
DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nrotate-me\n"


class App:
    """The two services that store encrypted secrets, under one set of keys."""

    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries, keys: KeyRing) -> None:
        self.auth = AuthService(db, q, password_hasher=FAST_HASHER, keys=keys)
        self.git = GitService(db, q, keys=keys)

    async def secrets(self, user_id: str, workspace: Workspace) -> tuple[OAuthTokens, str | None]:
        tokens = await self.auth.accounts.get_oauth_tokens(
            user_id, provider_id="github", account_id="42"
        )
        deploy_key = await self.git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id)
        return tokens, deploy_key


def as_owner(db: AsyncDatabase) -> AsyncDatabase:
    """The same pool as its login role (the schema's owner), not the application role: the
    rotation is a maintenance job over every user's secrets."""
    return AsyncDatabase(db.pool, replace(db.settings, transaction_role=None))


def stored_key_ids(conn: SyncConn) -> list[str | None]:
    """The key id of every stored token and deploy key (None for plaintext)."""
    rows = conn.execute(
        "SELECT v FROM accounts, LATERAL (VALUES (access_token), (refresh_token), (id_token))"
        " AS t (v) WHERE v IS NOT NULL"
        " UNION ALL SELECT deploy_key FROM git_repositories WHERE deploy_key IS NOT NULL"
    ).fetchall()
    return [key_id_of(bytes(row[0])) for row in rows]


async def test_rotation_moves_everything_to_the_newest_key(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, plainsql_conn: SyncConn
) -> None:
    old = App(plainsql_async_db, typed_queries, KeyRing([KEY_1]))
    workspace = await add_workspace(plainsql_async_db, typed_queries, "ada")
    user = await old.auth.sign_up(email="ada@x.io", password="a long password", name="Ada")
    await old.auth.accounts.link_account(
        user.id,
        provider_id="github",
        account_id="42",
        access_token=TOKENS.access_token,
        refresh_token=TOKENS.refresh_token,
        id_token=TOKENS.id_token,
    )
    await old.git.connect_repository(
        workspace.id,
        repo_url="https://git.example/ada.git",
        deploy_key=DEPLOY_KEY,
        acting_user_id=workspace.user_id,
    )
    assert stored_key_ids(plainsql_conn) == ["key-1"] * 4

    # Key 2 added (last: the newest): everything written under key 1 still reads.
    both = KeyRing([KEY_1, KEY_2])
    added = App(plainsql_async_db, typed_queries, both)
    assert await added.secrets(user.id, workspace) == (TOKENS, DEPLOY_KEY)
    # Key 1 cannot be dropped yet: the values under it would no longer read.
    only_new = App(plainsql_async_db, typed_queries, KeyRing([KEY_2]))
    with pytest.raises(UnknownKeyId, match="'key-1'"):
        await only_new.secrets(user.id, workspace)

    report = await rotate_keys(as_owner(plainsql_async_db), typed_queries, both, batch_size=1)

    assert (report.oauth_tokens_rewritten, report.deploy_keys_rewritten) == (3, 1)
    assert stored_key_ids(plainsql_conn) == ["key-2"] * 4
    # Key 1 removed: everything still reads.
    assert await only_new.secrets(user.id, workspace) == (TOKENS, DEPLOY_KEY)
    again = await rotate_keys(as_owner(plainsql_async_db), typed_queries, both)
    assert (again.oauth_tokens_rewritten, again.deploy_keys_rewritten) == (0, 0)
    assert again.already_current == 4


async def test_plaintext_left_by_the_migrations_is_encrypted_by_the_rotation(
    plainsql_server: TestServer, plainsql_empty_database_url: str, typed_queries: AsyncTypedQueries
) -> None:
    """0011/0026 keep existing values as their UTF-8 bytes; the command encrypts them, and a
    rollback (SQL cannot decrypt) clears the encrypted ones and keeps the plaintext ones."""
    settings = plainsql_server.settings
    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.migrate(to="0010")
    with psycopg.connect(plainsql_empty_database_url) as conn:
        conn.execute("INSERT INTO users (id, name, email) VALUES ('u1', 'Ada', 'ada@x.io')")
        conn.execute(
            "INSERT INTO accounts (user_id, account_id, provider_id, access_token)"
            " VALUES ('u1', '42', 'github', 'gho_from_before'),"
            " ('u1', '43', 'github', 'gho_never_rotated')"
        )
    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.migrate()
    keys = KeyRing([KEY_1])
    async with open_async_pool(settings, plainsql_empty_database_url) as pool:
        db = AsyncDatabase(pool, settings)
        auth = AuthService(db, typed_queries, keys=keys)
        tokens = await auth.accounts.get_oauth_tokens("u1", provider_id="github", account_id="42")
        assert tokens.access_token == "gho_from_before"  # read as it is until the data step

        report = await rotate_keys(as_owner(db), typed_queries, keys)

        assert report.plaintext_encrypted == 2
        tokens = await auth.accounts.get_oauth_tokens("u1", provider_id="github", account_id="42")
        assert tokens.access_token == "gho_from_before"
    with psycopg.connect(plainsql_empty_database_url) as conn:
        stored = conn.execute("SELECT access_token FROM accounts ORDER BY account_id").fetchall()
        assert [key_id_of(bytes(row[0])) for row in stored] == ["key-1", "key-1"]
        assert all(b"gho_" not in bytes(row[0]) for row in stored)
        # A plaintext value written after the rotation (as by an old deployment) ...
        conn.execute(
            "UPDATE accounts SET access_token = convert_to('gho_never_rotated', 'UTF8')"
            " WHERE account_id = '43'"
        )

    with Migrator(settings, plainsql_empty_database_url) as migrator:
        migrator.rollback(to="0010")

    with psycopg.connect(plainsql_empty_database_url) as conn:
        rows = conn.execute(
            "SELECT account_id, access_token FROM accounts ORDER BY account_id"
        ).fetchall()
    # ... goes back to text; the encrypted one cannot, and is cleared.
    assert rows == [("42", None), ("43", "gho_never_rotated")]


def run_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PLAINSQL_", "PG"))}
    keep.pop(KEYS_SETTING, None)
    keep.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "reference_apps.rotate_keys", *args],
        cwd=ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        check=False,
    )


async def test_the_command_rotates_and_names_a_missing_setting(
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_database_url: str,
    plainsql_conn: SyncConn,
) -> None:
    workspace = await add_workspace(plainsql_async_db, typed_queries, "ada")
    await GitService(plainsql_async_db, typed_queries, keys=KeyRing([KEY_1])).connect_repository(
        workspace.id,
        repo_url="https://git.example/ada.git",
        deploy_key=DEPLOY_KEY,
        acting_user_id=workspace.user_id,
    )

    missing = run_command(env={"DATABASE_URL": plainsql_database_url})
    assert missing.returncode == 1
    assert KEYS_SETTING in missing.stderr
    assert stored_key_ids(plainsql_conn) == ["key-1"]

    new_key = run_command("--new-key", "key-3", env={})
    assert new_key.returncode == 0, new_key.stderr
    key_3 = KeyRing.parse(new_key.stdout)
    assert key_3.newest_id == "key-3"

    setting = f"{KEY_1.entry()},{new_key.stdout.strip()}"
    rotated = run_command(env={"DATABASE_URL": plainsql_database_url, KEYS_SETTING: setting})
    assert rotated.returncode == 0, rotated.stderr
    assert "1 deploy key(s)" in rotated.stdout
    assert stored_key_ids(plainsql_conn) == ["key-3"]
    git = GitService(plainsql_async_db, typed_queries, keys=KeyRing.parse(new_key.stdout))
    assert await git.get_deploy_key(workspace.id, acting_user_id=workspace.user_id) == DEPLOY_KEY
    for output in (missing.stdout, missing.stderr, rotated.stdout, rotated.stderr):
        assert "rotate-me" not in output
        assert KEY_1.entry().split(":")[1] not in output
