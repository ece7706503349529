"""Verifications (sql/auth/verifications.sql): one-time values sent to an email, used up once.

A value comes from :mod:`secrets` and is stored as its SHA-256 only
(:func:`~reference_apps.services.sessions.secret_hash`); no query returns it, and it is a
:class:`~reference_apps.services.crypto.Secret`, hidden from ``repr``.

The application role has no privilege on the table: every call goes through an explicit path
(migration 20261207022403_guarded_user_columns). A value that verifies an email is made for
the acting user's own email (:meth:`VerificationService.request_email_verification`); a value
made up for another user's email, or one tied to no user, verifies nothing.

A password reset value is made by the delivery worker
(:meth:`VerificationService.deliver_password_resets`, as the worker role) from a request the
application queued (``AuthService.request_password_reset``), and handed only to the delivery
callback; ``AuthService.reset_password`` uses it up (migration 20261207043023_password_reset).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from plainsql.errors import InvalidInput
from reference_apps.db.records import (
    CreateEmailChangeRow,
    CreatePasswordResetFromRequestRow,
    UserRow,
)
from reference_apps.services import bounds
from reference_apps.services.base import WORKER_ROLE, Service, in_batches
from reference_apps.services.crypto import Secret
from reference_apps.services.errors import UserNotFound, run_secret, secret_query
from reference_apps.services.sessions import secret_hash

DEFAULT_VERIFICATION_TTL: Final = timedelta(hours=1)
EXPIRED_VERIFICATIONS_BATCH: Final = 5000
DEFAULT_PASSWORD_RESET_TTL: Final = timedelta(hours=1)
"""How long a password reset value lives by default."""
MAX_PASSWORD_RESET_TTL: Final = timedelta(days=1)

Verification = CreateEmailChangeRow
"""A verification, without its value (no query returns it)."""


@dataclass(frozen=True, slots=True)
class NewVerification:
    """A verification just created, with the value to send (a :class:`Secret`: hidden from
    repr)."""

    verification: Verification
    value: Secret


IssuedPasswordReset = CreatePasswordResetFromRequestRow
"""Whom a password reset goes to: ``user_id``, ``email``, and ``expires_at``, the value's end."""


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A password reset to deliver: the single-use value (a :class:`Secret`: hidden from repr),
    to send to ``issued.email`` (e.g. as a link) before ``issued.expires_at``."""

    issued: IssuedPasswordReset
    value: Secret


DeliverPasswordReset = Callable[[PasswordReset], Awaitable[None]]
"""The delivery of a password reset: sends the value to the address, or puts the message in
the mailer's outbox. It runs inside the unit of work that made the value: if it raises, the
value is not kept and the request waits for the next run."""


class VerificationService(Service):
    """Create and consume verifications: values tied to no user (nobody acts yet), the
    values that verify a user's own email, and (the delivery worker's job) password resets."""

    async def create_verification(
        self,
        identifier: str,
        *,
        expires_in: timedelta = DEFAULT_VERIFICATION_TTL,
        value: str | None = None,
    ) -> NewVerification:
        """Store a one-time value for ``identifier`` (a fresh random one unless given)."""
        secret = Secret.new() if value is None else Secret(value)
        row = await self.writing(None).one(
            AssertionError("the verification path returned no row"),
            secret_query(self.q.auth.create_verification),
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

    async def request_email_verification(
        self, user_id: str, *, expires_in: timedelta = DEFAULT_VERIFICATION_TTL
    ) -> NewVerification:
        """A value to send to the user's own email (the user acts); :meth:`verify_email` uses
        it up. Raises UserNotFound for an unknown or soft-deleted user."""
        secret = Secret.new()
        row = await self.writing(user_id).one(
            UserNotFound(f"no user with id {user_id!r}"),
            secret_query(self.q.auth.create_email_verification),
            value_hash=secret_hash(secret),
            expires_in=expires_in,
        )
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

    async def deliver_password_resets(
        self,
        deliver: DeliverPasswordReset,
        *,
        expires_in: timedelta = DEFAULT_PASSWORD_RESET_TTL,
        limit: int = 100,
    ) -> int:
        """Drain up to ``limit`` pending password reset requests, oldest first: each becomes a
        fresh single-use value (stored as its SHA-256 only, replacing the user's earlier one)
        handed to ``deliver``, in one unit of work per request. Returns how many were
        delivered (a request of a user soft-deleted since is dropped).

        The delivery worker's job: it runs as the worker role, through its path
        (``app_issue_password_reset``), with no acting user; concurrent workers take different
        requests. The value is made here, not by the application role's request, so SQL run
        as the application can never hold a value for another user's account.
        """
        bounds.batch_size(limit, "limit")
        if not timedelta(0) < expires_in <= MAX_PASSWORD_RESET_TTL:
            raise InvalidInput(
                f"expires_in must be more than 0 and at most a day, got {expires_in}",
                query_name="",
            )
        issue = self.q.auth.create_password_reset_from_request
        worker = self.db.with_transaction_role(WORKER_ROLE)
        delivered = 0
        for _ in range(limit):
            secret = Secret.new()
            async with worker.transaction() as conn:
                issued = await run_secret(
                    issue, conn, value_hash=secret_hash(secret), expires_in=expires_in
                )
                if issued is None:
                    break
                await deliver(PasswordReset(issued=issued, value=secret))
                delivered += 1
        return delivered

    async def delete_expired_verifications(
        self, *, batch_size: int = EXPIRED_VERIFICATIONS_BATCH
    ) -> int:
        """Purge expired verifications in batches of ``batch_size``, one short transaction
        each; returns how many were deleted. Concurrent purges skip each other's rows. A
        maintenance job: it runs as the worker role, through its path
        (``app_delete_expired_verifications``, batches of 1..10000), with no acting user."""
        purge = self.q.auth.delete_expired_verifications
        return await in_batches(batch_size, lambda n: self.working().run(purge, batch_size=n))
