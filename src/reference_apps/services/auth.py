"""Auth service over the Better Auth tables: users, sign-in, sessions, accounts, verifications.

Passwords are hashed with argon2id (argon2-cffi) in a worker thread, outside any database
transaction, and only the hash reaches the database (``accounts.password`` of the
``credential`` account). Session tokens and verification values come from :mod:`secrets`.

Session tokens and verification values are stored as their SHA-256 only
(:func:`secret_hash`): the token is handed to its owner once, and a stolen database dump
signs nobody in. No password, hash, token or verification value is ever logged or put into
an exception message: the records are the generated ones of :mod:`reference_apps.db`, and no
query returns a token or a verification value (the only hash, of
``auth.get_credential_by_email``, is hidden from the generated record's ``repr``); the
values made here (:class:`NewSession`, :class:`SignedIn`, :class:`NewVerification`) hide
theirs from ``repr``; and a query that carries one as a parameter runs through
:func:`reference_apps.services.errors.run_secret`, which drops the server's DETAIL
(PostgreSQL's "Failing row contains (...)" would quote it) and the psycopg cause holding it.

Linked accounts' OAuth tokens (access, refresh, id) are stored encrypted (AES-256-GCM,
:mod:`reference_apps.services.crypto`), bound to their column and provider account: they go
in through :meth:`AuthService.link_account` and come out in clear only through
:meth:`AuthService.get_oauth_tokens` (:class:`OAuthTokens`, hidden from ``repr``); the
:class:`Account` records carry none.

Soft-deleted users are invisible to every read here, cannot sign in, and lose their sessions;
they keep their email and username (a soft delete frees nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from plainsql import AsyncDatabase, Queries
from plainsql.errors import (
    DomainError,
    IntegrityError,
    InvalidInput,
    PermissionDenied,
    translate_constraint,
)
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    AccountRow,
    SessionRow,
    UserRow,
    VerificationRow,
)
from reference_apps.services import bounds
from reference_apps.services.crypto import KeyRing, load_key_ring
from reference_apps.services.errors import AlreadyExists, Conflict, NotFound, run_secret

CREDENTIAL_PROVIDER: Final = "credential"
MIN_PASSWORD_LENGTH: Final = 8
# argon2 accepts any length; a cap keeps one request from hashing megabytes.
MAX_PASSWORD_LENGTH: Final = 1024
DEFAULT_SESSION_TTL: Final = timedelta(days=7)
DEFAULT_VERIFICATION_TTL: Final = timedelta(hours=1)
EXPIRED_SESSIONS_BATCH: Final = 5000


# --- errors -------------------------------------------------------------------------------


class EmailTaken(AlreadyExists):
    """Another user (soft-deleted ones included) has this email, compared case-insensitively."""


class UsernameTaken(AlreadyExists):
    """Another user (soft-deleted ones included) has this username, compared case-insensitively."""


class UserNotFound(NotFound):
    """No active user with this id, email or username."""


class AccountAlreadyLinked(AlreadyExists):
    """The provider account is linked to another user."""


class AccountNotFound(NotFound):
    """The user has no such linked account."""


class InvalidCredentials(DomainError):
    """Sign-in refused: unknown or soft-deleted user, no password, or a wrong password.

    One error for all cases, so that a caller cannot tell which emails exist.
    """

    def __init__(self) -> None:
        super().__init__("invalid email or password")


class PasswordRejected(DomainError):
    """A new password is too short or too long (the message never quotes it)."""


class LastOwner(Conflict):
    """The change would leave a team without an OWNER (demotion, removal, user deletion).

    Raised by the database (pseudo-constraint ``team_members_last_owner``); defined here
    because deleting a user can trip it too. :mod:`reference_apps.services.teams` re-exports it.
    """


_USER_CONSTRAINTS: Final[Mapping[str, type[DomainError]]] = {
    "users_email_key": EmailTaken,
    "users_username_key": UsernameTaken,
    "team_members_last_owner": LastOwner,
}


# --- records ------------------------------------------------------------------------------

User = UserRow
"""An active (not soft-deleted) user: the generated record of ``users``' public columns."""

Session = SessionRow
"""A session, without its token (no query returns it: only its creator ever sees it)."""

Account = AccountRow
"""A sign-in method of a user; no query returns its tokens or its password hash."""

Verification = VerificationRow
"""A verification, without its value (no query returns it)."""


# The three records below stay hand-written: each pairs a row with a secret made here in
# Python (never read back from the database), which must stay out of ``repr``.


@dataclass(frozen=True, slots=True, repr=False)
class NewSession:
    """A session just created, with the bearer token to hand to the client (hidden from repr)."""

    session: Session
    token: str

    def __repr__(self) -> str:
        return f"NewSession(session={self.session!r}, token=<hidden>)"


@dataclass(frozen=True, slots=True, repr=False)
class SignedIn:
    """The result of a successful sign-in: the user, the new session and its token."""

    user: User
    session: Session
    token: str

    def __repr__(self) -> str:
        return f"SignedIn(user={self.user!r}, session={self.session!r}, token=<hidden>)"


@dataclass(frozen=True, slots=True, repr=False)
class NewVerification:
    """A verification just created, with the value to send (hidden from repr)."""

    verification: Verification
    value: str

    def __repr__(self) -> str:
        return f"NewVerification(verification={self.verification!r}, value=<hidden>)"


@dataclass(frozen=True, slots=True, repr=False)
class OAuthTokens:
    """The decrypted tokens of a linked provider account (hidden from repr)."""

    access_token: str | None
    refresh_token: str | None
    id_token: str | None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<hidden>' if value is not None else None}"
            for name, value in (
                ("access_token", self.access_token),
                ("refresh_token", self.refresh_token),
                ("id_token", self.id_token),
            )
        )
        return f"OAuthTokens({shown})"


OAUTH_TOKEN_COLUMNS: Final = ("access_token", "refresh_token", "id_token")


def oauth_token_context(column: str, provider_id: str, account_id: str) -> bytes:
    """The associated data of an encrypted OAuth token: its column and provider account.

    ``(provider_id, account_id)`` is the account's natural key (unique, known before the
    upsert, unlike the generated ``id``), so a token copied to another account, or from
    ``access_token`` to ``refresh_token``, does not decrypt.
    """
    return f"accounts.{column}\x00{provider_id}\x00{account_id}".encode()


def secret_hash(secret: str) -> bytes:
    """The SHA-256 of a bearer secret (session token, verification value): what is stored.

    The secrets are 256 random bits (``secrets.token_urlsafe(32)``), so a plain SHA-256 is
    enough to make a stolen hash useless: no salt or slow hash is needed, unlike passwords.
    """
    return hashlib.sha256(secret.encode()).digest()


class _KeepTheValue(Exception):
    """Raised inside a unit of work to roll it back quietly."""


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Default of :meth:`AuthService.update_profile` fields: leave the column as it is."""


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


# --- the service --------------------------------------------------------------------------


class AuthService:
    """Users, password sign-in, sessions, linked accounts and verifications.

    ``password_hasher`` defaults to argon2-cffi's ``PasswordHasher()`` (argon2id, RFC 9106
    low-memory profile); another one must also be argon2id. Hashes made with other
    parameters are upgraded at the next successful sign-in.

    ``keys`` encrypt the OAuth tokens; by default they are loaded from the configuration
    (:func:`reference_apps.services.crypto.load_key_ring`) the first time a token is written
    or read, so a service that never touches tokens needs none.
    """

    def __init__(
        self,
        db: AsyncDatabase,
        queries: Queries,
        *,
        password_hasher: PasswordHasher | None = None,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
        keys: KeyRing | None = None,
    ) -> None:
        hasher = PasswordHasher() if password_hasher is None else password_hasher
        if hasher.type is not Type.ID:
            raise ValueError("the password hasher must use argon2id")
        self.db = db
        self.q = AsyncTypedQueries(queries)
        self.hasher = hasher
        self.session_ttl = session_ttl
        self._dummy_hash: str | None = None
        self._keys = keys

    @property
    def keys(self) -> KeyRing:
        """The encryption keys of the OAuth tokens (loaded from the configuration once)."""
        if self._keys is None:
            self._keys = load_key_ring(self.db.settings)
        return self._keys

    # -- users ----------------------------------------------------------------------------

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
            try:
                user_id = await run_secret(
                    q.create_user_with_credential,
                    conn,
                    name=name,
                    email=email.strip(),
                    username=username,
                    image=image,
                    password_hash=password_hash,
                )
            except IntegrityError as exc:
                raise translate_constraint(exc, _USER_CONSTRAINTS) from exc
            # From here on the new user acts: it reads its own row back.
            await self.q.audit.set_acting_user(conn, user_id=user_id)
            user = await q.get_user_by_id(conn, user_id=user_id)
        if user is None:
            raise AssertionError(f"user {user_id!r} signed up but cannot read its own row")
        return user

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
        async with self.db.connection(acting_user=row.user_id) as conn:
            user = await self.q.auth.get_user_by_id(conn, user_id=row.user_id)
        if user is None:  # soft-deleted between the two reads
            raise InvalidCredentials()
        return user

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
            created = await self.create_session(
                user.id, expires_in=expires_in, ip_address=ip_address, user_agent=user_agent
            )
        except UserNotFound:
            # Soft-deleted between the password check and the session insert.
            raise InvalidCredentials() from None
        return SignedIn(user=user, session=created.session, token=created.token)

    async def get_user_by_id(self, user_id: str) -> User:
        """The active user with this id, as that user sees itself; raises UserNotFound."""
        async with self.db.transaction(acting_user=user_id, read_only=True) as conn:
            row = await self.q.auth.get_user_by_id(conn, user_id=user_id)
        if row is None:
            raise UserNotFound(f"no user with id {user_id!r}")
        return row

    async def get_user_by_email(self, email: str, *, acting_user_id: str) -> User:
        """The active user with this email (case-insensitive); raises UserNotFound.

        A user sees only its own row: another user's email is not found.
        """
        async with self.db.transaction(acting_user=acting_user_id, read_only=True) as conn:
            row = await self.q.auth.get_user_by_email(conn, email=email.strip())
        if row is None:
            raise UserNotFound("no user with this email")
        return row

    async def get_user_by_username(self, username: str, *, acting_user_id: str) -> User:
        """The active user with this username (case-insensitive); raises UserNotFound.

        A user sees only its own row: another user's username is not found.
        """
        async with self.db.transaction(acting_user=acting_user_id, read_only=True) as conn:
            row = await self.q.auth.get_user_by_username(conn, username=username)
        if row is None:
            raise UserNotFound(f"no user with username {username!r}")
        return row

    async def update_profile(
        self,
        user_id: str,
        *,
        name: str | _Unset = UNSET,
        image: str | _Unset | None = UNSET,
        username: str | _Unset | None = UNSET,
        acting_user_id: str | None = None,
    ) -> User:
        """Change the given fields of an active user (``None`` clears image or username).

        The acting user (default: the user itself) changes only its own row: any other
        user is UserNotFound. Raises UserNotFound or UsernameTaken.
        """
        async with self.db.transaction(acting_user=acting_user_id or user_id) as conn:
            try:
                row = await self.q.auth.update_user_profile(
                    conn,
                    user_id=user_id,
                    name=None if name is UNSET else name,
                    set_image=image is not UNSET,
                    image=None if image is UNSET else image,
                    set_username=username is not UNSET,
                    username=None if username is UNSET else username,
                )
            except IntegrityError as exc:
                raise translate_constraint(exc, _USER_CONSTRAINTS) from exc
        if row is None:
            raise UserNotFound(f"no user with id {user_id!r}")
        return row

    async def soft_delete_user(self, user_id: str, *, acting_user_id: str | None = None) -> None:
        """Hide the user from every read and sign-in, and end its sessions.

        The row, its email and username stay. Raises UserNotFound, or LastOwner when the
        user is the last active OWNER of a team.
        """
        q = self.q.auth
        async with self.db.transaction(acting_user=acting_user_id or user_id) as conn:
            try:
                row = await q.update_user_soft_deleted(conn, user_id=user_id)
            except IntegrityError as exc:
                raise translate_constraint(exc, _USER_CONSTRAINTS) from exc
            if row is None:
                raise UserNotFound(f"no user with id {user_id!r}")
            await q.delete_sessions_by_user(conn, user_id=user_id)

    async def hard_delete_user(self, user_id: str, *, acting_user_id: str | None = None) -> None:
        """Delete the user (soft-deleted or not) with its sessions, accounts and memberships.

        Raises UserNotFound, or LastOwner when the user is the last active OWNER of a team.
        """
        async with self.db.transaction(acting_user=acting_user_id or user_id) as conn:
            try:
                row = await self.q.auth.delete_user(conn, user_id=user_id)
            except IntegrityError as exc:
                raise translate_constraint(exc, _USER_CONSTRAINTS) from exc
        if row is None:
            raise UserNotFound(f"no user with id {user_id!r}")

    # -- sessions -------------------------------------------------------------------------

    async def create_session(
        self,
        user_id: str,
        *,
        expires_in: timedelta | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
    ) -> NewSession:
        """Open a session for an active user with a fresh 256-bit token; raises UserNotFound."""
        token = secrets.token_urlsafe(32)
        async with self.db.transaction(acting_user=user_id) as conn:
            session = await run_secret(
                self.q.auth.create_session,
                conn,
                user_id=user_id,
                token_hash=secret_hash(token),
                expires_in=self.session_ttl if expires_in is None else expires_in,
                ip_address=ip_address,
                user_agent=user_agent,
            )
        if session is None:
            raise UserNotFound(f"no user with id {user_id!r}")
        return NewSession(session=session, token=token)

    async def get_session(self, token: str) -> Session | None:
        """The live session with this token, or None (unknown, revoked, expired, user deleted).

        The session lookup path names the session's user, who then acts to read it.
        """
        token_hash = secret_hash(token)
        q = self.q.auth
        async with self.db.transaction(read_only=True) as conn:
            user_id = await run_secret(
                q.get_session_user_by_token_hash, conn, token_hash=token_hash
            )
            if user_id is None:
                return None
            await self.q.audit.set_acting_user(conn, user_id=user_id)
            return await run_secret(q.get_live_session_by_token_hash, conn, token_hash=token_hash)

    async def list_sessions(self, user_id: str) -> list[Session]:
        """The user's live sessions, newest first."""
        async with self.db.transaction(acting_user=user_id, read_only=True) as conn:
            return await self.q.auth.list_live_sessions_by_user(conn, user_id=user_id)

    async def revoke_session(self, user_id: str, session_id: str) -> bool:
        """End one session of the user; False if it has no such session."""
        async with self.db.transaction(acting_user=user_id) as conn:
            count = await self.q.auth.delete_session_by_id(
                conn, session_id=session_id, user_id=user_id
            )
        return count == 1

    async def sign_out(self, token: str) -> bool:
        """End the session with this token; False if there is none (or it expired)."""
        token_hash = secret_hash(token)
        q = self.q.auth
        async with self.db.transaction() as conn:
            user_id = await run_secret(
                q.get_session_user_by_token_hash, conn, token_hash=token_hash
            )
            if user_id is None:
                return False
            await self.q.audit.set_acting_user(conn, user_id=user_id)
            count = await run_secret(q.delete_session_by_token_hash, conn, token_hash=token_hash)
        return count == 1

    async def revoke_all_sessions(self, user_id: str) -> int:
        """End every session of the user; returns how many there were."""
        async with self.db.transaction(acting_user=user_id) as conn:
            count = await self.q.auth.delete_sessions_by_user(conn, user_id=user_id)
        return count

    async def delete_expired_sessions(self, *, batch_size: int = EXPIRED_SESSIONS_BATCH) -> int:
        """Purge expired sessions in batches of ``batch_size``, one short transaction each.

        Returns how many were deleted. Concurrent purges skip each other's rows. A
        maintenance job over every user's sessions: it runs through its own path
        (``app_delete_expired_sessions``), with no acting user.
        """
        batch_size = bounds.batch_size(batch_size, "batch_size")
        total = 0
        while True:
            async with self.db.transaction() as conn:
                count = await self.q.auth.delete_expired_sessions(conn, batch_size=batch_size)
            total += count
            if count < batch_size:
                return total

    # -- accounts -------------------------------------------------------------------------

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
        ``credential`` provider is only created by :meth:`sign_up`.
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
                raise AccountAlreadyLinked(
                    f"this {provider_id} account is linked to another user"
                ) from None
            if row is None and await q.get_user_by_id(conn, user_id=user_id) is None:
                raise UserNotFound(f"no user with id {user_id!r}")
        if row is None:
            raise AccountAlreadyLinked(f"this {provider_id} account is linked to another user")
        return row

    async def get_oauth_tokens(
        self, user_id: str, *, provider_id: str, account_id: str
    ) -> OAuthTokens:
        """The decrypted tokens of the active user's linked account; raises AccountNotFound.

        A token stored under a key no longer configured raises
        :class:`~reference_apps.services.crypto.UnknownKeyId` naming the key id.
        """
        async with self.db.transaction(acting_user=user_id, read_only=True) as conn:
            row = await self.q.auth.get_oauth_token_ciphertexts(
                conn, user_id=user_id, provider_id=provider_id, account_id=account_id
            )
        if row is None:
            raise AccountNotFound(f"the user has no linked {provider_id} account {account_id!r}")
        keys = self.keys
        stored = (row.access_token, row.refresh_token, row.id_token)
        access, refresh, id_ = (
            keys.decrypt_optional(value, context=oauth_token_context(name, provider_id, account_id))
            for name, value in zip(OAUTH_TOKEN_COLUMNS, stored, strict=True)
        )
        return OAuthTokens(access_token=access, refresh_token=refresh, id_token=id_)

    async def unlink_account(self, user_id: str, *, provider_id: str, account_id: str) -> None:
        """Remove a linked OAuth account of the user; raises AccountNotFound."""
        async with self.db.transaction(acting_user=user_id) as conn:
            count = await self.q.auth.delete_oauth_account(
                conn, user_id=user_id, provider_id=provider_id, account_id=account_id
            )
        if count == 0:
            raise AccountNotFound(f"the user has no linked {provider_id} account {account_id!r}")

    async def list_accounts(self, user_id: str) -> list[Account]:
        """The active user's accounts, credential included, oldest first."""
        async with self.db.transaction(acting_user=user_id, read_only=True) as conn:
            return await self.q.auth.list_accounts_by_user(conn, user_id=user_id)

    # -- verifications --------------------------------------------------------------------

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

    async def verify_email(self, email: str, value: str) -> User | None:
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
                user = await q.get_user_by_id(conn, user_id=user_id)
        except _KeepTheValue:
            return None
        return user

    async def delete_expired_verifications(self) -> int:
        """Purge expired verifications; returns how many were deleted."""
        async with self.db.transaction() as conn:
            count = await self.q.auth.delete_expired_verifications(conn)
        return count

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
    "UNSET",
    "Account",
    "AccountAlreadyLinked",
    "AccountNotFound",
    "AuthService",
    "EmailTaken",
    "InvalidCredentials",
    "LastOwner",
    "NewSession",
    "NewVerification",
    "OAuthTokens",
    "PasswordRejected",
    "Session",
    "SignedIn",
    "User",
    "UserNotFound",
    "UsernameTaken",
    "Verification",
]
