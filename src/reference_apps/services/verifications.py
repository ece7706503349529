"""Verifications (sql/auth/verifications.sql): one-time values sent to an email, used up once.

A value comes from :mod:`secrets` and is stored as its SHA-256 only
(:func:`~reference_apps.services.sessions.secret_hash`); no query returns it, and
:class:`NewVerification` hides it from ``repr``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from reference_apps.db.records import UserRow, VerificationRow
from reference_apps.services.base import Service
from reference_apps.services.errors import run_secret
from reference_apps.services.sessions import secret_hash

DEFAULT_VERIFICATION_TTL: Final = timedelta(hours=1)

Verification = VerificationRow
"""A verification, without its value (no query returns it)."""


@dataclass(frozen=True, slots=True, repr=False)
class NewVerification:
    """A verification just created, with the value to send (hidden from repr)."""

    verification: Verification
    value: str

    def __repr__(self) -> str:
        return f"NewVerification(verification={self.verification!r}, value=<hidden>)"


class _KeepTheValue(Exception):
    """Raised inside a unit of work to roll it back quietly."""


class VerificationService(Service):
    """Create and consume verifications; nobody acts yet (an email being verified)."""

    async def create_verification(
        self,
        identifier: str,
        *,
        expires_in: timedelta = DEFAULT_VERIFICATION_TTL,
        value: str | None = None,
    ) -> NewVerification:
        """Store a one-time value for ``identifier`` (a fresh random one unless given)."""
        secret = secrets.token_urlsafe(32) if value is None else value
        async with self.db.transaction() as conn:
            row = await run_secret(
                self.q.auth.create_verification,
                conn,
                identifier=identifier,
                value_hash=secret_hash(secret),
                expires_in=expires_in,
            )
        return NewVerification(verification=row, value=secret)

    async def consume_verification(self, identifier: str, value: str) -> Verification | None:
        """Use up a live value: the verification the first time, None ever after.

        One DELETE ... RETURNING: of concurrent consumers exactly one gets the row.
        """
        async with self.db.transaction() as conn:
            return await run_secret(
                self.q.auth.delete_live_verification,
                conn,
                identifier=identifier,
                value_hash=secret_hash(value),
            )

    async def verify_email(self, email: str, value: str) -> UserRow | None:
        """Consume a verification sent to ``email`` and mark that user's email verified.

        Returns the user, or None (value unknown, expired or used; user gone). One
        transaction: if the user is gone, the value is not used up.
        """
        q = self.q.auth
        try:
            async with self.db.transaction() as conn:
                consumed = await run_secret(
                    q.delete_live_verification,
                    conn,
                    identifier=email,
                    value_hash=secret_hash(value),
                )
                if consumed is None:
                    return None
                user_id = await q.update_user_email_verified(conn, email=email)
                if user_id is None:
                    raise _KeepTheValue  # roll back: the value stays for a later attempt
                await self.q.audit.set_acting_user(conn, user_id=user_id)
                return await q.get_user_by_id(conn, user_id=user_id)
        except _KeepTheValue:
            return None

    async def delete_expired_verifications(self) -> int:
        """Purge expired verifications; returns how many were deleted."""
        return await self.writing(None).run(self.q.auth.delete_expired_verifications)
