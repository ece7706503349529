"""Verifications (sql/auth/verifications.sql): one-time values sent to an email, used up once.

A value comes from :mod:`secrets` and is stored as its SHA-256 only
(:func:`~reference_apps.services.sessions.secret_hash`); no query returns it, and
:class:`NewVerification` hides it from ``repr``.

The application role has no privilege on the table: every call goes through an explicit path
(migration 20261207022403_guarded_user_columns). A value that verifies an email is made for
the acting user's own email (:meth:`VerificationService.request_email_verification`); a value
made up for another user's email, or one tied to no user, verifies nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from plainsql import exactly_one
from reference_apps.db.records import CreateEmailChangeRow, UserRow
from reference_apps.services.base import Service
from reference_apps.services.errors import UserNotFound, run_secret
from reference_apps.services.sessions import secret_hash

DEFAULT_VERIFICATION_TTL: Final = timedelta(hours=1)

Verification = CreateEmailChangeRow
"""A verification, without its value (no query returns it)."""


@dataclass(frozen=True, slots=True, repr=False)
class NewVerification:
    """A verification just created, with the value to send (hidden from repr)."""

    verification: Verification
    value: str

    def __repr__(self) -> str:
        return f"NewVerification(verification={self.verification!r}, value=<hidden>)"


class VerificationService(Service):
    """Create and consume verifications: values tied to no user (nobody acts yet), and the
    values that verify a user's own email."""

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
        stored = exactly_one(row, AssertionError("the verification path returned no row"))
        return NewVerification(verification=stored, value=secret)

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

    async def request_email_verification(
        self, user_id: str, *, expires_in: timedelta = DEFAULT_VERIFICATION_TTL
    ) -> NewVerification:
        """A value to send to the user's own email (the user acts); :meth:`verify_email` uses
        it up. Raises UserNotFound for an unknown or soft-deleted user."""
        secret = secrets.token_urlsafe(32)
        async with self.db.transaction(acting_user=user_id) as conn:
            row = await run_secret(
                self.q.auth.create_email_verification,
                conn,
                value_hash=secret_hash(secret),
                expires_in=expires_in,
            )
        row = exactly_one(row, UserNotFound(f"no user with id {user_id!r}"))
        return NewVerification(verification=row, value=secret)

    async def verify_email(self, email: str, value: str) -> UserRow | None:
        """Use up the value sent to ``email`` by :meth:`request_email_verification` and mark
        that user's email verified (the value's hash is compared inside the database path).

        Returns the user, or None (value unknown, expired, used, or made for another user;
        user gone: then the value is not used up).
        """
        return await self._named_user(
            self.q.auth.update_user_email_verified,
            email=email.strip(),
            value_hash=secret_hash(value),
        )

    async def delete_expired_verifications(self) -> int:
        """Purge expired verifications (as the worker role); returns how many were deleted."""
        return await self.working().run(self.q.auth.delete_expired_verifications)
