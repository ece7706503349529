"""What every service holds: the database handle, with its declared constraint errors, and the
application's typed queries, built once and shared (see README.md, "Conventions")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar, Concatenate, Final, ParamSpec, TypedDict

from plainsql import AsyncConn, AsyncDatabase, AsyncUnit, ConstraintErrors
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRow
from reference_apps.services.crypto import KeyRing, load_key_ring
from reference_apps.services.errors import run_secret

P = ParamSpec("P")

WORKER_ROLE: Final = "reference_worker"
"""The role of cross-user work (queue workers, purges): it holds the worker paths, which the
application role cannot execute (migration 20261207022304_worker_role). The login role must
be a member of it (a superuser is too)."""


class BeforeCreated(TypedDict):
    """The cursor arguments of the lists newest first, by ``(created_at, id)`` with a text id
    (``plainsql.KeysetList``'s ``arguments``): where the page starts, and its row limit."""

    before_created_at: datetime | None
    before_id: str | None
    page_size: int


class Service:
    """A service: ``Service(db, q)`` with ``q = AsyncTypedQueries(load_async_queries(sql))``
    built once per application. ``constraint_errors`` declares which constraint's refusal
    becomes which domain error; every unit of work of the service applies it."""

    constraint_errors: ClassVar[ConstraintErrors] = MappingProxyType({})

    def __init_subclass__(cls, *, constraint_errors: ConstraintErrors | None = None) -> None:
        """``class TeamService(Service, constraint_errors={"teams_slug_key": SlugTaken})``:
        the declaration, once per service."""
        super().__init_subclass__()
        if constraint_errors is not None:
            cls.constraint_errors = MappingProxyType(dict(constraint_errors))

    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries) -> None:
        self.db = (
            db.with_constraint_errors(self.constraint_errors) if self.constraint_errors else db
        )
        self.q = q

    def reading(self, acting_user_id: str | None) -> AsyncUnit:
        """A read-only unit of work acting as ``acting_user_id``, for one typed query."""
        return self.db.unit(acting_user=acting_user_id, read_only=True)

    def writing(self, acting_user_id: str | None) -> AsyncUnit:
        """A unit of work acting as ``acting_user_id``, for one typed query."""
        return self.db.unit(acting_user=acting_user_id)

    def working(self) -> AsyncUnit:
        """A unit of work of cross-user work, as :data:`WORKER_ROLE` with no acting user."""
        return self.db.with_transaction_role(WORKER_ROLE).unit()

    async def _named_user_acts(
        self,
        conn: AsyncConn,
        path: Callable[Concatenate[AsyncConn, P], Awaitable[str | None]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> str | None:
        """The id of the user ``path`` names (a path that finds the user of a secret: a
        session token, a value sent by email), who acts for the rest of the unit on ``conn``;
        None, and nobody acts, when it names none. The secret's hash is a parameter: a failure
        never quotes it (:func:`~reference_apps.services.errors.run_secret`)."""
        user_id = await run_secret(path, conn, *args, **kwargs)
        if user_id is not None:
            await self.q.audit.set_acting_user(conn, user_id=user_id)
        return user_id

    async def _named_user(
        self,
        path: Callable[Concatenate[AsyncConn, P], Awaitable[str | None]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> UserRow | None:
        """One unit: the user ``path`` names (as :meth:`_named_user_acts`: a path that uses
        up a value sent by email) reads its own row back; None when it names none."""
        async with self.db.transaction() as conn:
            user_id = await self._named_user_acts(conn, path, *args, **kwargs)
            if user_id is None:
                return None
            return await self.q.auth.get_user_by_id(conn, user_id=user_id)


class EncryptingService(Service):
    """A service that stores secrets encrypted (:mod:`reference_apps.services.crypto`).

    ``keys`` encrypt them; by default they are loaded from the configuration
    (:func:`~reference_apps.services.crypto.load_key_ring`) the first time a secret is written
    or read, so a service that never touches one needs none.
    """

    def __init__(
        self, db: AsyncDatabase, q: AsyncTypedQueries, *, keys: KeyRing | None = None
    ) -> None:
        super().__init__(db, q)
        self._keys = keys

    @property
    def keys(self) -> KeyRing:
        """The encryption keys (loaded from the configuration once)."""
        if self._keys is None:
            self._keys = load_key_ring(self.db.settings)
        return self._keys
