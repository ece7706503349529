"""What every service holds: the database handle, with its declared constraint errors, and the
application's typed queries, built once and shared (see README.md, "Conventions")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import ClassVar, Final

from plainsql import AsyncDatabase, AsyncUnit, ConstraintErrors
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services import bounds
from reference_apps.services.crypto import KeyRing, load_key_ring

WORKER_ROLE: Final = "reference_worker"
"""The role of cross-user work (queue workers, purges): it holds the worker paths, which the
application role cannot execute (migration 20261207022304_worker_role). The login role must
be a member of it (a superuser is too)."""


async def in_batches(batch_size: int, run_batch: Callable[[int], Awaitable[int]]) -> int:
    """Call ``run_batch(batch_size)``, one unit of work handling at most that many rows, until
    a call handles fewer; returns how many all calls handled. Each batch commits on its own: no
    transaction holds many row locks for long, and a job stopped half-way keeps what it did.

    ``await in_batches(n, lambda size: self.working().run(purge, batch_size=size))``
    """
    size = bounds.batch_size(batch_size, "batch_size")
    total = 0
    while True:
        count = await run_batch(size)
        total += count
        if count < size:
            return total


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
