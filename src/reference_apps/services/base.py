"""What every service holds: the database handle, with its declared constraint errors, and the
application's typed queries, built once and shared (see README.md, "Conventions")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import ClassVar, Concatenate, Final, ParamSpec, Protocol, TypedDict, TypeVar

from plainsql import AsyncConn, AsyncDatabase, AsyncUnit, ConstraintErrors
from plainsql.errors import InvalidInput, PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRow
from reference_apps.services import bounds
from reference_apps.services.crypto import KeyRing, load_key_ring
from reference_apps.services.errors import NotAnAdministrator, TooManyRows, run_secret

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

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


def whole(rows: list[R], cap: int, refused: TooManyRows) -> list[R]:
    """``rows``, read by a query whose ``LIMIT`` is ``cap + 1``, when they are at most ``cap``;
    more is ``refused``: a list returned whole is never silently cut at its cap.

    ``nest_tree(whole(rows, MAX_TREE_ROWS, TooManyRows(f"... more than {MAX_TREE_ROWS:,} ...")))``
    """
    if len(rows) > cap:
        raise refused
    return rows


class Unset(Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET
"""The default of an optional argument that may also be None: leave the column as it is (None
would write NULL). ``AuthService.update_profile``, ``ProjectsService.set_preview``."""


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

    async def administering(
        self,
        acting_user_id: str,
        what: str,
        query: Callable[Concatenate[AsyncConn, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run one typed query that calls an administrators' path, acting as
        ``acting_user_id``: the path's refusal (insufficient_privilege: the acting user is no
        administrator) becomes :class:`NotAnAdministrator`, saying only one may do ``what``."""
        try:
            return await self.writing(acting_user_id).run(query, *args, **kwargs)
        except PermissionDenied as exc:
            raise NotAnAdministrator(f"only an administrator may {what}") from exc


class ClaimQuery(Protocol[R]):
    """A queue's claim: the typed query over its SECURITY DEFINER claim path."""

    def __call__(
        self,
        conn: AsyncConn,
        /,
        *,
        worker: str,
        batch_size: int,
        lease_seconds: int,
        max_attempts: int,
    ) -> Awaitable[list[R]]: ...


class WorkerQueue(Service):
    """A work queue as one worker sees it (the video and the meeting queues): ``worker_id``
    names it in the lease (diagnostics); a claim holds what it took for ``lease_seconds``, and
    nothing is claimed more than ``max_attempts`` times. Every unit acts as :data:`WORKER_ROLE`
    (:meth:`Service.working`)."""

    max_batch_size: ClassVar[int] = 100

    def __init__(
        self,
        db: AsyncDatabase,
        q: AsyncTypedQueries,
        worker_id: str,
        *,
        lease_seconds: int = 300,
        max_attempts: int = 3,
    ) -> None:
        if lease_seconds < 1:
            raise InvalidInput(
                f"lease_seconds must be at least 1, got {lease_seconds}", query_name=""
            )
        if max_attempts < 1:
            raise InvalidInput(
                f"max_attempts must be at least 1, got {max_attempts}", query_name=""
            )
        super().__init__(db, q)
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts

    async def claiming(self, query: ClaimQuery[T], batch_size: int) -> list[T]:
        """What ``query`` claims for this worker: at most ``batch_size`` (1 to
        :attr:`max_batch_size`) items, leased to it when this returns (one committed unit)."""
        if not 1 <= batch_size <= self.max_batch_size:
            raise InvalidInput(
                f"batch_size must be between 1 and {self.max_batch_size}, got {batch_size}",
                query_name="",
            )
        return await self.working().run(
            query,
            worker=self.worker_id,
            batch_size=batch_size,
            lease_seconds=self.lease_seconds,
            max_attempts=self.max_attempts,
        )


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
