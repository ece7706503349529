"""``python -m reference_apps.rotate_keys``: re-encrypt every stored secret under the newest key.

The application's command (plainsql's CLI knows nothing of it). It walks the OAuth tokens of
``accounts`` and the deploy keys of ``git_repositories`` in pages, one short transaction per
page (its rows locked ``FOR UPDATE``, so a concurrent relink or reconnect waits and is never
overwritten), and rewrites each value that is not an envelope under the newest key of
``REFERENCE_APPS_ENCRYPTION_KEYS`` (:mod:`reference_apps.services.crypto`). That covers both

- values under an older key: add the new key LAST, run this, then drop the old key;
- legacy plaintext left by migrations 0011 and 0026 (they could only convert text to its
  bytes, since SQL cannot encrypt): this command is the data step that encrypts it.

Running it again does nothing (every value is then current). A value under a key that is no
longer configured stops it with :class:`~reference_apps.services.crypto.UnknownKeyId`; the
pages done before stay done.

``--new-key ID`` prints a fresh ``ID:base64`` entry to append to the setting, and touches
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, replace
from typing import Final

from plainsql import (
    AsyncDatabase,
    Settings,
    load_async_queries,
    load_settings,
    open_async_pool,
)
from plainsql.errors import PlainSQLError
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.accounts import OAUTH_TOKEN_COLUMNS, oauth_token_context
from reference_apps.services.crypto import EncryptionKey, KeyRing, key_id_of, load_key_ring
from reference_apps.services.git import deploy_key_context

DEFAULT_BATCH_SIZE: Final = 500


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What a rotation did: values rewritten (of which were plaintext) and values left as is."""

    newest_key_id: str
    oauth_tokens_rewritten: int
    deploy_keys_rewritten: int
    plaintext_encrypted: int
    already_current: int

    def describe(self) -> str:
        return (
            f"rotate_keys: under key {self.newest_key_id!r}: re-encrypted "
            f"{self.oauth_tokens_rewritten} OAuth token(s) and {self.deploy_keys_rewritten} "
            f"deploy key(s) ({self.plaintext_encrypted} of them stored in clear before); "
            f"{self.already_current} already current"
        )


async def rotate_keys(
    db: AsyncDatabase,
    q: AsyncTypedQueries,
    keys: KeyRing,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RotationReport:
    """Re-encrypt every OAuth token and deploy key that is not under ``keys``' newest key.

    ``db`` must not act as the application role (``transaction-role`` unset, a login role
    that reads every user's rows): this is a maintenance job over all users.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    tokens = deploy = plaintext = current = 0

    after_id = ""
    while True:
        async with db.transaction() as conn:
            accounts = await q.auth.list_oauth_token_ciphertexts(
                conn, after_id=after_id, limit=batch_size
            )
            for account in accounts:
                stored = (account.access_token, account.refresh_token, account.id_token)
                fresh: list[bytes | None] = []
                for column, value in zip(OAUTH_TOKEN_COLUMNS, stored, strict=True):
                    if value is None or keys.is_current(value):
                        current += value is not None
                        fresh.append(value)
                        continue
                    plaintext += key_id_of(value) is None
                    context = oauth_token_context(column, account.provider_id, account.account_id)
                    fresh.append(_reencrypted(keys, value, context))
                    tokens += 1
                if fresh == list(stored):
                    continue
                await q.auth.update_oauth_token_ciphertexts(
                    conn,
                    row_id=account.id,
                    access_token=fresh[0],
                    refresh_token=fresh[1],
                    id_token=fresh[2],
                )
        if len(accounts) < batch_size:
            break
        after_id = accounts[-1].id

    after_workspace = 0
    while True:
        async with db.transaction() as conn:
            repositories = await q.git.list_git_deploy_key_ciphertexts(
                conn, after_workspace_id=after_workspace, limit=batch_size
            )
            for repository in repositories:
                value = repository.deploy_key  # the query skips repositories without one
                if keys.is_current(value):
                    current += 1
                    continue
                context = deploy_key_context(repository.workspace_id)
                plaintext += key_id_of(value) is None
                await q.git.update_git_deploy_key_ciphertext(
                    conn,
                    workspace_id=repository.workspace_id,
                    deploy_key=_reencrypted(keys, value, context),
                )
                deploy += 1
        if len(repositories) < batch_size:
            break
        after_workspace = repositories[-1].workspace_id

    return RotationReport(keys.newest_id, tokens, deploy, plaintext, current)


def _reencrypted(keys: KeyRing, stored: bytes, context: bytes) -> bytes:
    """``stored`` (an envelope under any configured key, or legacy plaintext) under the newest."""
    return keys.encrypt(keys.decrypt(stored, context=context), context=context)


async def _rotate(settings: Settings, batch_size: int) -> RotationReport:
    keys = load_key_ring(settings)  # before connecting: a missing key fails fast
    # Every user's secrets, as the data step of migrations: as the login role (the schema's
    # owner), never as the application role, whose policies would show it no row.
    settings = replace(settings, transaction_role=None)
    async with open_async_pool(settings, name="rotate_keys") as pool:
        db = AsyncDatabase(pool, settings)
        q = AsyncTypedQueries(load_async_queries(settings.sql_dir, settings=settings))
        return await rotate_keys(db, q, keys, batch_size=batch_size)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m reference_apps.rotate_keys",
        description="Re-encrypt every OAuth token and deploy key under the newest key of "
        "REFERENCE_APPS_ENCRYPTION_KEYS (and encrypt any still stored in clear).",
    )
    parser.add_argument(
        "--new-key",
        metavar="ID",
        help="print a fresh 'ID:base64' entry to append to the setting, and do nothing else",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    args = parser.parse_args(argv)
    new_key: str | None = args.new_key
    batch_size: int = args.batch_size
    try:
        if new_key is not None:
            print(EncryptionKey.generate(new_key).entry())
            return 0
        if batch_size < 1:
            parser.error("--batch-size must be at least 1")
        report = asyncio.run(_rotate(load_settings(), batch_size))
    except PlainSQLError as exc:
        print(f"rotate_keys: {exc}", file=sys.stderr)
        return 1
    print(report.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
