"""Sessions (sql/auth/sessions.sql): opened at sign-in, looked up by their bearer token, ended.

A session token comes from :mod:`secrets` and is stored as its SHA-256 only
(:func:`secret_hash`): the token is handed to its owner once, and a stolen database dump signs
nobody in. No query returns a token; it is a
:class:`~reference_apps.services.crypto.Secret`, hidden from ``repr``; a query that carries a
token's hash runs through :func:`reference_apps.services.errors.run_secret`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol, TypeVar

from plainsql import AsyncConn, AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import SessionRow
from reference_apps.services.base import Service, in_batches
from reference_apps.services.crypto import Secret
from reference_apps.services.errors import UserNotFound, run_secret, secret_query

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

DEFAULT_SESSION_TTL: Final = timedelta(days=7)
EXPIRED_SESSIONS_BATCH: Final = 5000

Session = SessionRow
"""A session, without its token (no query returns it: only its creator ever sees it)."""


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just created, with the bearer token to hand to the client (a
    :class:`~reference_apps.services.crypto.Secret`: hidden from repr)."""

    session: Session
    token: Secret


class _ByTokenHash(Protocol[T_co]):
    """A query of the session that has a token, by the token's hash."""

    def __call__(self, conn: AsyncConn, /, *, token_hash: bytes) -> Awaitable[T_co]: ...


def secret_hash(secret: str) -> bytes:
    """The SHA-256 of a bearer secret (session token, verification value): what is stored.

    The secrets are 256 random bits (``secrets.token_urlsafe(32)``), so a plain SHA-256 is
    enough to make a stolen hash useless: no salt or slow hash is needed, unlike passwords.
    """
    return hashlib.sha256(secret.encode()).digest()


class SessionService(Service):
    """A user's sessions: each call about a user's sessions acts as that user."""

    def __init__(
        self,
        db: AsyncDatabase,
        q: AsyncTypedQueries,
        *,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
    ) -> None:
        super().__init__(db, q)
        self.session_ttl = session_ttl

    async def create_session(
        self,
        user_id: str,
        *,
        expires_in: timedelta | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
    ) -> NewSession:
        """Open a session for an active user with a fresh 256-bit token; raises UserNotFound."""
        token = Secret.new()
        session = await self.writing(user_id).one(
            UserNotFound(f"no user with id {user_id!r}"),
            secret_query(self.q.auth.create_session),
            user_id=user_id,
            token_hash=secret_hash(token),
            expires_in=self.session_ttl if expires_in is None else expires_in,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        return NewSession(session=session, token=token)

    async def get_session(self, token: str) -> Session | None:
        """The live session with this token, or None (unknown, revoked, expired, user deleted)."""
        get = self.q.auth.get_live_session_by_token_hash
        return await self._as_token_user(token, get, read_only=True)

    async def list_sessions(self, user_id: str) -> list[Session]:
        """The user's live sessions, newest first."""
        list_sessions = self.q.auth.list_live_sessions_by_user
        return await self.reading(user_id).run(list_sessions, user_id=user_id)

    async def revoke_session(self, user_id: str, session_id: str) -> bool:
        """End one session of the user; False if it has no such session."""
        revoke = self.q.auth.delete_session_by_id
        count = await self.writing(user_id).run(revoke, session_id=session_id, user_id=user_id)
        return count == 1

    async def sign_out(self, token: str) -> bool:
        """End the session with this token; False if there is none (or it expired)."""
        delete = self.q.auth.delete_session_by_token_hash
        return await self._as_token_user(token, delete, read_only=False) == 1

    async def revoke_all_sessions(self, user_id: str) -> int:
        """End every session of the user; returns how many there were."""
        revoke = self.q.auth.delete_sessions_by_user
        return await self.writing(user_id).run(revoke, user_id=user_id)

    async def delete_expired_sessions(self, *, batch_size: int = EXPIRED_SESSIONS_BATCH) -> int:
        """Purge expired sessions in batches of ``batch_size``, one short transaction each.

        Returns how many were deleted. Concurrent purges skip each other's rows. A
        maintenance job over every user's sessions: it runs as the worker role, through its
        path (``app_delete_expired_sessions``, batches of 1..10000), with no acting user.
        """
        purge = self.q.auth.delete_expired_sessions
        return await in_batches(batch_size, lambda n: self.working().run(purge, batch_size=n))

    async def _as_token_user(
        self, token: str, query: _ByTokenHash[T], *, read_only: bool
    ) -> T | None:
        """``query`` of the token's hash, in one unit where the token's user acts (the session
        lookup path names it); None, and ``query`` does not run, when it names nobody (no live
        session has the token)."""
        token_hash = secret_hash(token)
        async with self.db.transaction(read_only=read_only) as conn:
            named = self.q.auth.get_session_user_by_token_hash
            if await self._named_user_acts(conn, named, token_hash=token_hash) is None:
                return None
            return await run_secret(query, conn, token_hash=token_hash)
