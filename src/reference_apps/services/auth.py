"""Users and password sign-in (sql/auth/users.sql), over the Better Auth tables.

:class:`AuthService` is the entry point of the auth area: it holds the services of the other
auth files, one per SQL file: ``auth.sessions`` (:mod:`.sessions`), ``auth.accounts`` (linked
OAuth accounts, :mod:`.accounts`) and ``auth.verifications`` (:mod:`.verifications`).

Passwords are hashed with argon2id (argon2-cffi) in a worker thread, outside any database
transaction, and only the hash reaches the database (``accounts.password`` of the
``credential`` account). No password or hash is ever logged or put into an exception message:
the only query returning a hash (``auth.get_credential_by_email``) hides it from the generated
record's ``repr``, and a query that carries one runs through
:func:`reference_apps.services.errors.run_secret`.

A password changes with the current one (:meth:`AuthService.change_password`, which ends the
user's other sessions), or is reset with a single-use value sent to the user's email
(:meth:`AuthService.request_password_reset`; a worker's
:meth:`~reference_apps.services.verifications.VerificationService.deliver_password_resets`
makes the value and hands it to the delivery; :meth:`AuthService.reset_password` uses it up
and ends every session). The application never holds a value it did not receive by mail, and
the database keeps its SHA-256 only.

Soft-deleted users are invisible to every read here, cannot sign in, and lose their sessions;
they keep their email and username (a soft delete frees nothing).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from plainsql import AsyncDatabase, exactly_one
from plainsql.errors import DomainError, InvalidInput
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRow
from reference_apps.services.accounts import (
    OAUTH_TOKEN_COLUMNS,
    Account,
    AccountAlreadyLinked,
    AccountNotFound,
    AccountService,
    OAuthTokens,
    oauth_token_context,
)
from reference_apps.services.base import UNSET, Service, Unset
from reference_apps.services.crypto import KeyRing, Secret
from reference_apps.services.errors import (
    AlreadyExists,
    LastOwner,
    UserNotFound,
    run_secret,
    secret_query,
)
from reference_apps.services.sessions import (
    DEFAULT_SESSION_TTL,
    NewSession,
    Session,
    SessionService,
    secret_hash,
)
from reference_apps.services.verifications import (
    DEFAULT_VERIFICATION_TTL,
    NewVerification,
    Verification,
    VerificationService,
)

MIN_PASSWORD_LENGTH: Final = 8
# argon2 accepts any length; a cap keeps one request from hashing megabytes.
MAX_PASSWORD_LENGTH: Final = 1024


# --- errors -------------------------------------------------------------------------------


class EmailTaken(AlreadyExists):
    """Another user (soft-deleted ones included) has this email, compared case-insensitively."""


class UsernameTaken(AlreadyExists):
    """Another user (soft-deleted ones included) has this username, compared case-insensitively."""


class InvalidCredentials(DomainError):
    """Sign-in refused: unknown or soft-deleted user, no password, or a wrong password.

    One error for all cases, so that a caller cannot tell which emails exist.
    """

    def __init__(self) -> None:
        super().__init__("invalid email or password")


class PasswordRejected(DomainError):
    """A new password is too short or too long (the message never quotes it)."""


class WrongPassword(DomainError):
    """A password change refused: the current password given is not the user's (or the user
    has none, or changed it meanwhile)."""

    def __init__(self) -> None:
        super().__init__("the current password is wrong")


class InvalidPasswordReset(DomainError):
    """A password reset value that is unknown, already used, or replaced by a newer request."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "this password reset link is unknown or already used: request a new one"
        )


class PasswordResetExpired(InvalidPasswordReset):
    """A password reset value used after its expiry (``expired_at``)."""

    def __init__(self, expired_at: datetime) -> None:
        super().__init__(
            f"this password reset link expired at {expired_at.isoformat()}: request a new one"
        )
        self.expired_at = expired_at


# --- records ------------------------------------------------------------------------------

User = UserRow
"""An active (not soft-deleted) user: the generated record of ``users``' public columns."""

# Hand-written: a new session (its token made here in Python, never read back from the
# database) with the user it signed in.


@dataclass(frozen=True, slots=True)
class SignedIn(NewSession):
    """The result of a successful sign-in: the new session and its token (a
    :class:`NewSession`), and the user signed in."""

    user: User


def _missing(user_id: str) -> UserNotFound:
    return UserNotFound(f"no user with id {user_id!r}")


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


# --- the service --------------------------------------------------------------------------


class AuthService(
    Service,
    constraint_errors={
        "users_email_key": EmailTaken,
        "users_username_key": UsernameTaken,
        "team_members_last_owner": LastOwner,
    },
):
    """Users and password sign-in; ``sessions``, ``accounts`` and ``verifications`` hold the
    services of the other auth files, on the same database handle.

    ``password_hasher`` defaults to argon2-cffi's ``PasswordHasher()`` (argon2id, RFC 9106
    low-memory profile); another one must also be argon2id. Hashes made with other
    parameters are upgraded at the next successful sign-in. ``session_ttl`` goes to the
    sessions, ``keys`` (the OAuth tokens' encryption keys) to the accounts.

    A method about a user takes it as ``user_id``; that user acts, unless ``acting_user_id``
    names another.
    """

    def __init__(
        self,
        db: AsyncDatabase,
        q: AsyncTypedQueries,
        *,
        password_hasher: PasswordHasher | None = None,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
        keys: KeyRing | None = None,
    ) -> None:
        hasher = PasswordHasher() if password_hasher is None else password_hasher
        if hasher.type is not Type.ID:
            raise ValueError("the password hasher must use argon2id")
        super().__init__(db, q)
        self.hasher = hasher
        self.sessions = SessionService(db, q, session_ttl=session_ttl)
        self.accounts = AccountService(db, q, keys=keys)
        self.verifications = VerificationService(db, q)
        self._dummy_hash: str | None = None

    async def sign_up(
        self,
        *,
        email: str,
        password: str,
        name: str,
        username: str | None = None,
        image: str | None = None,
    ) -> User:
        """Create a user with a credential account holding the password's argon2id hash.

        Raises EmailTaken, UsernameTaken (soft-deleted users keep theirs) or PasswordRejected.
        """
        _check_new_password(password)
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        q = self.q.auth
        async with self.db.transaction() as conn:  # nobody acts yet: the sign-up path
            user_id = await run_secret(
                q.create_user_with_credential,
                conn,
                name=name,
                email=email.strip(),
                username=username,
                image=image,
                password_hash=password_hash,
            )
            # From here on the new user acts: it reads its own row back.
            await self.q.audit.set_acting_user(conn, user_id=user_id)
            user = await q.get_user_by_id(conn, user_id=user_id)
        unreadable = AssertionError(f"user {user_id!r} signed up but cannot read its own row")
        return exactly_one(user, unreadable)

    async def verify_password(
        self, *, email: str | None = None, login: str | None = None, password: str
    ) -> User:
        """The active user with this email (or, with ``login``, this email or username, any
        case: the notes application's sign-in) if the password is right, else
        InvalidCredentials. Give exactly one of ``email`` and ``login``; should a username
        equal another user's email, ``login`` means the email's user.

        An unknown email costs one argon2 verification too, so that response times do not
        tell which emails exist. A hash made with other parameters than the service's is
        replaced by a fresh one (only if nobody changed it meanwhile).
        """
        if (email is None) == (login is None):
            raise InvalidInput("give exactly one of email and login", query_name="")
        async with self.db.transaction(read_only=True) as conn:  # the sign-in path
            if email is not None:
                row = await self.q.auth.get_credential_by_email(conn, email=email.strip())
            else:
                row = await self.q.auth.get_credential_by_login(conn, login=(login or "").strip())
        if row is None:
            await asyncio.to_thread(self._verify, await self._get_dummy_hash(), password)
            raise InvalidCredentials()
        stored_hash = row.password_hash
        if not await asyncio.to_thread(self._verify, stored_hash, password):
            raise InvalidCredentials()
        if self.hasher.check_needs_rehash(stored_hash):
            new_hash = await asyncio.to_thread(self.hasher.hash, password)
            async with self.db.transaction(acting_user=row.user_id) as conn:
                await run_secret(
                    self.q.auth.update_credential_password,
                    conn,
                    user_id=row.user_id,
                    old_password_hash=stored_hash,
                    new_password_hash=new_hash,
                )
        # None: soft-deleted between the two reads.
        get = self.q.auth.get_user_by_id
        return await self.reading(row.user_id).one(InvalidCredentials(), get, user_id=row.user_id)

    async def sign_in(
        self,
        *,
        email: str | None = None,
        login: str | None = None,
        password: str,
        ip_address: str | None = None,
        user_agent: str | None = None,
        expires_in: timedelta | None = None,
    ) -> SignedIn:
        """Verify the password (by ``email``, or by ``login``: email or username) and open a
        session; raises InvalidCredentials."""
        user = await self.verify_password(email=email, login=login, password=password)
        try:
            created = await self.sessions.create_session(
                user.id, expires_in=expires_in, ip_address=ip_address, user_agent=user_agent
            )
        except UserNotFound:
            # Soft-deleted between the password check and the session insert.
            raise InvalidCredentials() from None
        return SignedIn(session=created.session, token=created.token, user=user)

    async def get_user_by_id(self, user_id: str) -> User:
        """The active user with this id, as that user sees itself; raises UserNotFound."""
        get = self.q.auth.get_user_by_id
        return await self.reading(user_id).one(_missing(user_id), get, user_id=user_id)

    async def get_user_by_email(self, email: str, *, acting_user_id: str) -> User:
        """The active user with this email (case-insensitive); raises UserNotFound.

        A user sees only its own row: another user's email is not found.
        """
        get = self.q.auth.get_user_by_email
        missing = UserNotFound("no user with this email")
        return await self.reading(acting_user_id).one(missing, get, email=email.strip())

    async def get_user_by_username(self, username: str, *, acting_user_id: str) -> User:
        """The active user with this username (case-insensitive); raises UserNotFound.

        A user sees only its own row: another user's username is not found.
        """
        get = self.q.auth.get_user_by_username
        missing = UserNotFound(f"no user with username {username!r}")
        return await self.reading(acting_user_id).one(missing, get, username=username)

    async def update_profile(
        self,
        user_id: str,
        *,
        name: str | Unset = UNSET,
        image: str | Unset | None = UNSET,
        username: str | Unset | None = UNSET,
        acting_user_id: str | None = None,
    ) -> User:
        """Change the given fields of an active user (``None`` clears image or username).

        The acting user (default: the user itself) changes only its own row: any other
        user is UserNotFound. Raises UserNotFound or UsernameTaken.
        """
        return await self.writing(acting_user_id or user_id).one(
            _missing(user_id),
            self.q.auth.update_user_profile,
            user_id=user_id,
            name=None if name is UNSET else name,
            set_image=image is not UNSET,
            image=None if image is UNSET else image,
            set_username=username is not UNSET,
            username=None if username is UNSET else username,
        )

    async def request_email_change(
        self,
        user_id: str,
        new_email: str,
        *,
        expires_in: timedelta = DEFAULT_VERIFICATION_TTL,
    ) -> NewVerification:
        """A value to send to ``new_email``: the user (acting) changes its email only when
        :meth:`confirm_email_change` gets it back, so the new address is verified. Raises
        UserNotFound for an unknown or soft-deleted user."""
        secret = Secret.new()
        row = await self.writing(user_id).one(
            _missing(user_id),
            secret_query(self.q.auth.create_email_change),
            new_email=new_email.strip(),
            value_hash=secret_hash(secret),
            expires_in=expires_in,
        )
        return NewVerification(verification=row, value=secret)

    async def confirm_email_change(self, new_email: str, value: str) -> User | None:
        """Use up the value sent to ``new_email``: the user's email becomes it, verified.
        Returns the user, or None (value unknown, expired or used; user gone). Raises
        EmailTaken when another user took the email meanwhile (the value is kept)."""
        return await self._named_user(
            self.q.auth.update_user_email_changed,
            new_email=new_email.strip(),
            value_hash=secret_hash(value),
        )

    async def soft_delete_user(self, user_id: str, *, acting_user_id: str | None = None) -> None:
        """Hide the user from every read and sign-in, and end its sessions (the user itself
        acting: the path app_soft_delete_user refuses any other acting user).

        The row, its email and username stay. Raises UserNotFound, or LastOwner when the
        user is the last active OWNER of a team.
        """
        q = self.q.auth
        async with self.db.transaction(acting_user=acting_user_id or user_id) as conn:
            exactly_one(await q.update_user_soft_deleted(conn, user_id=user_id), _missing(user_id))
            await q.delete_sessions_by_user(conn, user_id=user_id)

    async def hard_delete_user(self, user_id: str, *, acting_user_id: str | None = None) -> None:
        """Delete the user (soft-deleted or not) with its sessions, accounts and memberships.

        Raises UserNotFound, or LastOwner when the user is the last active OWNER of a team.
        """
        delete = self.q.auth.delete_user
        await self.writing(acting_user_id or user_id).one(
            _missing(user_id), delete, user_id=user_id
        )

    # -- passwords ------------------------------------------------------------------------

    async def change_password(
        self,
        user_id: str,
        *,
        current_password: str,
        new_password: str,
        keep_session_id: str | None = None,
        acting_user_id: str | None = None,
    ) -> int:
        """Replace the user's password, given the current one, and end the user's other
        sessions: every one but ``keep_session_id`` (the session making the change; None ends
        them all). Returns how many sessions ended.

        Raises PasswordRejected, or WrongPassword: a wrong current password, a user with no
        password (it sets one by a reset), another user than the acting one, or a password
        changed meanwhile (the change replaces only the hash it checked).
        """
        _check_new_password(new_password)
        acting = acting_user_id or user_id
        get = self.q.auth.get_credential_by_user_id
        credential = await self.reading(acting).one(WrongPassword(), get, user_id=user_id)
        if not await asyncio.to_thread(self._verify, credential.password_hash, current_password):
            raise WrongPassword()
        new_hash = await asyncio.to_thread(self.hasher.hash, new_password)
        return await self.writing(acting).one(
            WrongPassword(),
            secret_query(self.q.auth.update_credential_password_ending_sessions),
            user_id=user_id,
            old_password_hash=credential.password_hash,
            new_password_hash=new_hash,
            keep_session_id=keep_session_id,
        )

    async def request_password_reset(self, email: str) -> None:
        """Ask for a password reset of the active user with this email: the request waits in
        an outbox until :meth:`VerificationService.deliver_password_resets` (a worker) makes
        its single-use value and hands it to the delivery. Returns None for any email, after
        the same work (one call of the path, which looks the email up either way), so that
        neither the answer nor its time tells which emails have an account. A user with a
        request pending gets no second one.
        """
        request = self.q.auth.create_password_reset_request
        await self.writing(None).run(request, email=email.strip())

    async def reset_password(self, value: str, new_password: str) -> User:
        """Use up a password reset value: the user's password becomes ``new_password`` and
        every session of the user ends. Returns the user.

        Raises PasswordRejected (the value stays usable), PasswordResetExpired, or
        InvalidPasswordReset (unknown, already used, or replaced by a newer request). Of
        concurrent uses of one value exactly one succeeds.
        """
        _check_new_password(new_password)
        new_hash = await asyncio.to_thread(self.hasher.hash, new_password)
        async with self.db.transaction() as conn:  # nobody acts: the value tells who
            reset = await run_secret(
                self.q.auth.update_password_by_reset,
                conn,
                value_hash=secret_hash(value),
                password_hash=new_hash,
            )
            if reset is not None and reset.expired_at is not None:
                raise PasswordResetExpired(reset.expired_at)
            if reset is None or reset.user_id is None:
                raise InvalidPasswordReset()
            # The user the value named acts from here on: it reads its own row back.
            await self.q.audit.set_acting_user(conn, user_id=reset.user_id)
            user = await self.q.auth.get_user_by_id(conn, user_id=reset.user_id)
        return exactly_one(user, _missing(reset.user_id))

    # -- internals ------------------------------------------------------------------------

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _get_dummy_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self.hasher.hash, secrets.token_urlsafe(16))
        return self._dummy_hash


__all__ = [
    "OAUTH_TOKEN_COLUMNS",
    "UNSET",
    "Account",
    "AccountAlreadyLinked",
    "AccountNotFound",
    "AuthService",
    "EmailTaken",
    "InvalidCredentials",
    "InvalidPasswordReset",
    "LastOwner",
    "NewSession",
    "NewVerification",
    "OAuthTokens",
    "PasswordRejected",
    "PasswordResetExpired",
    "Session",
    "SignedIn",
    "User",
    "UserNotFound",
    "UsernameTaken",
    "Verification",
    "WrongPassword",
    "oauth_token_context",
    "secret_hash",
]
