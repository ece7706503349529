"""Linked accounts (sql/auth/accounts.sql): a user's OAuth provider accounts and their tokens.

The OAuth tokens (access, refresh, id) are stored encrypted (AES-256-GCM,
:mod:`reference_apps.services.crypto`), bound to their column and provider account: they go
in through :meth:`AccountService.link_account` and come out in clear only through
:meth:`AccountService.get_oauth_tokens` (:class:`OAuthTokens`, hidden from ``repr``); the
:class:`Account` records carry none, and a failed write never quotes them
(:func:`reference_apps.services.errors.run_secret`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from plainsql.errors import PermissionDenied
from reference_apps.db.records import AccountRow
from reference_apps.services.base import EncryptingService
from reference_apps.services.crypto import Secret
from reference_apps.services.errors import AlreadyExists, NotFound, UserNotFound, run_secret

CREDENTIAL_PROVIDER: Final = "credential"
OAUTH_TOKEN_COLUMNS: Final = ("access_token", "refresh_token", "id_token")

Account = AccountRow
"""A sign-in method of a user; no query returns its tokens or its password hash."""


class AccountAlreadyLinked(AlreadyExists):
    """The provider account is linked to another user."""


class AccountNotFound(NotFound):
    """The user has no such linked account."""


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """The decrypted tokens of a linked provider account (each a :class:`Secret`: hidden from
    repr)."""

    access_token: Secret | None
    refresh_token: Secret | None
    id_token: Secret | None


def oauth_token_context(column: str, provider_id: str, account_id: str) -> bytes:
    """The associated data of an encrypted OAuth token: its column and provider account.

    ``(provider_id, account_id)`` is the account's natural key (unique, known before the
    upsert, unlike the generated ``id``), so a token copied to another account, or from
    ``access_token`` to ``refresh_token``, does not decrypt.
    """
    return f"accounts.{column}\x00{provider_id}\x00{account_id}".encode()


def _missing(provider_id: str, account_id: str) -> AccountNotFound:
    return AccountNotFound(f"the user has no linked {provider_id} account {account_id!r}")


class AccountService(EncryptingService):
    """A user's linked accounts; each call acts as that user.

    ``keys`` encrypt the OAuth tokens (:class:`~reference_apps.services.base.EncryptingService`).
    """

    async def link_account(
        self,
        user_id: str,
        *,
        provider_id: str,
        account_id: str,
        access_token: str | None = None,
        refresh_token: str | None = None,
        id_token: str | None = None,
        access_token_expires_at: datetime | None = None,
        refresh_token_expires_at: datetime | None = None,
        scope: str | None = None,
    ) -> Account:
        """Link an OAuth provider account to an active user, or refresh its tokens if linked.

        Raises UserNotFound, or AccountAlreadyLinked when another user holds it. The
        ``credential`` provider is only created by sign-up.
        """
        if provider_id == CREDENTIAL_PROVIDER:
            raise ValueError("credential accounts are created by sign_up, not linked")
        keys = self.keys
        sealed = [
            keys.encrypt_optional(
                token, context=oauth_token_context(column, provider_id, account_id)
            )
            for column, token in zip(
                OAUTH_TOKEN_COLUMNS, (access_token, refresh_token, id_token), strict=True
            )
        ]
        linked = AccountAlreadyLinked(f"this {provider_id} account is linked to another user")
        q = self.q.auth
        async with self.db.transaction(acting_user=user_id) as conn:
            try:
                row = await run_secret(
                    q.upsert_oauth_account,
                    conn,
                    user_id=user_id,
                    provider_id=provider_id,
                    account_id=account_id,
                    access_token=sealed[0],
                    refresh_token=sealed[1],
                    id_token=sealed[2],
                    access_token_expires_at=access_token_expires_at,
                    refresh_token_expires_at=refresh_token_expires_at,
                    scope=scope,
                )
            except PermissionDenied:
                # The provider account is another user's: the policy hides it from this one.
                raise linked from None
            if row is None and await q.get_user_by_id(conn, user_id=user_id) is None:
                raise UserNotFound(f"no user with id {user_id!r}")
        if row is None:
            raise linked
        return row

    async def get_oauth_tokens(
        self, user_id: str, *, provider_id: str, account_id: str
    ) -> OAuthTokens:
        """The decrypted tokens of the active user's linked account; raises AccountNotFound.

        A token stored under a key no longer configured raises
        :class:`~reference_apps.services.crypto.UnknownKeyId` naming the key id.
        """
        row = await self.reading(user_id).one(
            _missing(provider_id, account_id),
            self.q.auth.get_oauth_token_ciphertexts,
            user_id=user_id,
            provider_id=provider_id,
            account_id=account_id,
        )
        keys = self.keys
        stored = (row.access_token, row.refresh_token, row.id_token)
        access, refresh, id_ = (
            keys.decrypt_optional(value, context=oauth_token_context(name, provider_id, account_id))
            for name, value in zip(OAUTH_TOKEN_COLUMNS, stored, strict=True)
        )
        return OAuthTokens(access_token=access, refresh_token=refresh, id_token=id_)

    async def unlink_account(self, user_id: str, *, provider_id: str, account_id: str) -> None:
        """Remove a linked OAuth account of the user; raises AccountNotFound."""
        await self.writing(user_id).affected(
            _missing(provider_id, account_id),
            self.q.auth.delete_oauth_account,
            user_id=user_id,
            provider_id=provider_id,
            account_id=account_id,
        )

    async def list_accounts(self, user_id: str) -> list[Account]:
        """The active user's accounts, credential included, oldest first."""
        list_accounts = self.q.auth.list_accounts_by_user
        return await self.reading(user_id).run(list_accounts, user_id=user_id)
