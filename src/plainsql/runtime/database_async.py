"""The runtime path: a database handle over a pool, and its units of work.

    db = AsyncDatabase(pool, settings)
    async with db.transaction(acting_user=user_id) as conn:   # BEGIN ... COMMIT
        await q.teams.create_team(conn, ...)
    async with db.connection() as conn:                        # one statement, no BEGIN
        await q.auth.get_user_by_id(conn, user_id=user_id)

This is the source of :mod:`plainsql.runtime.database` (derived by ``tools/async_to_sync.py``).

- **A unit of work** commits when its block ends and rolls back on any error. It can be
  read-only, and it carries an *acting user*: a transaction-local setting
  (``SET LOCAL "<acting-user-setting>" = 'user'``), which row-level security policies and
  audit triggers read. With a ``transaction-role`` configured it also acts as that role
  (``SET LOCAL ROLE``), so the policies apply even when the login role owns the tables or is
  a superuser. Nothing is session state: the isolation level and read-only flag go
  into the ``BEGIN`` itself (psycopg writes ``BEGIN ISOLATION LEVEL ...``), the acting user
  ends with the transaction, so a transaction-mode pooler (PgBouncer) is safe. Through a
  declared one (``transaction-pooler``) the ``BEGIN`` also carries ``SET LOCAL
  statement_timeout``: PgBouncer does not forward the connection's startup options.
- **The isolation level is pinned** to READ COMMITTED (or ``isolation`` per unit), whatever
  the database's ``default_transaction_isolation`` says: code written for one level does not
  silently run at another.
- **Round trips**: a unit sends ``BEGIN ISOLATION LEVEL ...``, its ``SET LOCAL ROLE`` and the
  acting user's ``SET LOCAL`` as one simple-protocol string (one round trip), its statements,
  then ``COMMIT``: the same three round trips as psycopg's own BEGIN, statement, COMMIT. BEGIN and
  COMMIT are sent by :mod:`plainsql.runtime._libpq` at the least client CPU each runtime allows.
  Inside a unit, ``conn.transaction()`` makes a savepoint.
- **A client-side deadline** (:mod:`plainsql.runtime._deadline`): every statement on a plainsql
  pooled connection fails with :class:`~plainsql.errors.DeadlineExceeded` when the server has not
  answered within ``statement_timeout`` plus a grace (a frozen server cannot enforce its own
  timeout). Such a unit is not retried.
- **Every failure is plainsql's**, with the driver error as ``__cause__``: no free connection
  in time is :class:`~plainsql.errors.PoolExhausted` (naming the pool and its size); a
  server that cannot be reached, :class:`~plainsql.errors.DatabaseUnavailable`; a connection
  lost inside a unit, :class:`~plainsql.errors.ConnectionLost`, or
  :class:`~plainsql.errors.CommitUncertain` when it was lost during COMMIT (the commit may or
  may not have happened); SQL errors are mapped as query errors are.
- **A dead connection is retried once** where nothing had been sent yet (its BEGIN failed):
  the pool discards it and the unit starts again on another one, so a server restart costs
  the callers no error once the server is back.
- **Read replicas** (``replicas=``, :mod:`plainsql.runtime.replicas_async`): a unit opened
  with ``replica=True`` (read-only), or a one-query unit of a query marked ``-- plainsql:
  replica-safe``, runs READ ONLY on a replica when one may serve it, else on the primary; a
  replica found dead at BEGIN sends the unit to the primary, no error. Inside an active
  :class:`~plainsql.runtime._replicas.Scope`, a unit that may write (not read-only) commits
  with ``COMMIT; SELECT pg_current_wal_insert_lsn()`` (one round trip, as COMMIT alone) and
  the scope keeps the position; a replica serves the scope's reads only once it has replayed
  past it. Units outside a scope, and read-only ones, pay nothing. SERIALIZABLE units always
  run on the primary (a standby refuses them).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import psycopg
from psycopg import IsolationLevel
from psycopg.pq import TransactionStatus
from psycopg_pool import PoolTimeout

from plainsql.config import Settings
from plainsql.errors import (
    CommitUncertain,
    ConfigError,
    ConnectionLost,
    DatabaseUnavailable,
    DeadlineExceeded,
    DomainError,
    IntegrityError,
    PoolExhausted,
    SerializationFailure,
    connection_lost,
    map_error,
    prepared_statement_lost,
)
from plainsql.runtime._adapter_common import AdapterBase
from plainsql.runtime._deadline import deadline_seconds
from plainsql.runtime._libpq import async_commit_at, async_run_command
from plainsql.runtime._replicas import current_scope, marked_replica_safe
from plainsql.runtime._reuse import (
    CACHES_OPEN,
    MISSING,
    SCOPE,
    NotReused,
    ReuseProbe,
    written,
)
from plainsql.runtime._unit import (
    COMMIT,
    DEFAULT_ISOLATION,
    ROLLBACK,
    begin_statement,
    unit_isolation,
)
from plainsql.runtime.connection_async import AsyncPlainConnection
from plainsql.runtime.pool_async import AsyncConn, AsyncPool
from plainsql.runtime.replicas_async import AsyncReplica, AsyncReplicas
from plainsql.server import through_pooler, unavailable

T = TypeVar("T")
P = ParamSpec("P")

# Constraint name -> the domain error a unit of work raises when that constraint refuses a
# write (see AsyncDatabase.with_constraint_errors).
ConstraintErrors = Mapping[str, type[DomainError]]

# "No row": the error to raise, or a function that reads in the same unit which one.
Missing = Exception | Callable[[AsyncConn], Awaitable[Exception]]

# A unit retried (its connection found dead at BEGIN, or a serialization failure): never a
# parameter, a statement or a connection string, only what happened and to which pool.
logger = logging.getLogger("plainsql.database")


class AsyncDatabase:
    """What a service is given: the pool, and units of work over it.

    ``constraint_errors`` declares the domain error of each constraint name: an
    :class:`~plainsql.errors.IntegrityError` on one of them leaves a unit of work as that
    error (the integrity error as its cause), whether a statement or the COMMIT tripped it.
    ``replicas`` (:func:`~plainsql.runtime.replicas_async.open_async_replicas`) may serve the
    reads that say they may; without them (or with none configured) everything runs on
    ``pool``.
    """

    def __init__(
        self,
        pool: AsyncPool,
        settings: Settings,
        *,
        constraint_errors: ConstraintErrors | None = None,
        replicas: AsyncReplicas | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.replicas = replicas if replicas else None
        # Through a transaction pooler, the statement timeout travels with each BEGIN.
        pooled = isinstance(pool.conninfo, str) and through_pooler(settings, pool.conninfo)
        self._unit_timeout = settings.statement_timeout_ms if pooled else None
        # The wait for a free connection is bounded by the statement deadline too: a caller
        # queued behind a frozen server gets its error no later than one stuck in a statement.
        deadline = deadline_seconds(settings)
        self._checkout_timeout = min(pool.timeout, deadline) if deadline else pool.timeout
        self.constraint_errors: ConstraintErrors = dict(constraint_errors or {})

    def with_constraint_errors(self, constraint_errors: ConstraintErrors) -> AsyncDatabase:
        """A handle on the same pool whose units also translate ``constraint_errors``."""
        merged = {**self.constraint_errors, **constraint_errors}
        return AsyncDatabase(
            self.pool, self.settings, constraint_errors=merged, replicas=self.replicas
        )

    def with_transaction_role(self, role: str | None) -> AsyncDatabase:
        """A handle on the same pool whose units of work act as ``role`` (``SET LOCAL ROLE``)
        instead of the configured ``transaction-role``; None: as the login role itself.

        One pool can serve callers of different privileges: an application's units act as its
        own role, a public site's as a read-only one, a worker's as one holding its explicit
        paths. The login role must be a member of each role (or a superuser). Nothing is
        session state: the role ends with each unit, as the configured one does.
        """
        if role is not None and (not role or "\x00" in role):
            raise ConfigError(f"a role name must be non-empty text without NUL, got {role!r}")
        settings = replace(self.settings, transaction_role=role)
        logger.debug("pool %r: a handle acting as role %r", self.pool.name, role)
        return AsyncDatabase(
            self.pool, settings, constraint_errors=self.constraint_errors, replicas=self.replicas
        )

    def unit(
        self,
        *,
        acting_user: str | None = None,
        read_only: bool = False,
        isolation: IsolationLevel | None = None,
        replica: bool = False,
    ) -> AsyncUnit:
        """A unit of work that runs one typed query: ``await db.unit(acting_user=u,
        read_only=True).one(NotFound("..."), q.get_thing, thing_id=i)``. A query marked
        ``-- plainsql: replica-safe`` runs READ ONLY, on a replica when one may serve it;
        ``replica=True`` lets any query of the unit go to one (read-only)."""
        return AsyncUnit(self, acting_user, read_only, isolation, replica)

    def _failure(self, error: Exception, cause: BaseException) -> tuple[Exception, BaseException]:
        """What a failed unit raises, and from what: ``error`` from ``cause``, or the domain
        error declared for its constraint from ``error`` (itself from ``cause``)."""
        domain = self._domain_error(error)
        if domain is None:
            return error, cause
        error.__cause__ = cause
        return domain, error

    def _domain_error(self, exc: BaseException) -> DomainError | None:
        """The declared domain error of a constraint's refusal, or None."""
        if not isinstance(exc, IntegrityError) or exc.constraint is None:
            return None
        domain_class = self.constraint_errors.get(exc.constraint)
        return None if domain_class is None else domain_class(str(exc))

    def _begin(
        self,
        level: IsolationLevel,
        read_only: bool,
        acting_user: str | None,
        unit_timeout: int | None,
    ) -> str:
        """A unit's ``BEGIN ...; SET LOCAL ...`` string with this handle's role and acting-user
        setting (cached per distinct value; a bad acting user is refused here)."""
        settings = self.settings
        return begin_statement(
            level,
            read_only,
            settings.acting_user_setting,
            acting_user,
            settings.transaction_role,
            unit_timeout,
        )

    async def _checkout(
        self, replica: AsyncReplica | None
    ) -> tuple[AsyncConn, AsyncReplica | None]:
        """A connection of ``replica`` when it has one free, else of the primary."""
        if replica is not None and self.replicas is not None:
            conn = await self.replicas.getconn(replica)
            if conn is not None:
                return conn, replica
        return await self._getconn(), None

    async def _getconn(self) -> AsyncConn:
        timeout = self._checkout_timeout
        try:
            return await self.pool.getconn(timeout=timeout)
        except PoolTimeout as exc:
            pool, size = self.pool.name, self.pool.max_size
            message = f"no free connection in pool {pool!r} (size {size}) within {timeout:g} s"
            raise PoolExhausted(message, pool=pool, size=size) from exc
        except psycopg.OperationalError as exc:
            target = self.pool.conninfo if isinstance(self.pool.conninfo, str) else ""
            raise unavailable(target, exc) from exc

    @asynccontextmanager
    async def connection(self, *, acting_user: str | None = None) -> AsyncIterator[AsyncConn]:
        """A connection for statements that each commit on their own (no BEGIN/COMMIT), as the
        login role.

        With an ``acting_user`` the call needs a transaction (the role and the setting are
        transaction-local): its statements run as one unit of work, as :meth:`transaction`
        runs them, with the ``transaction-role`` and the acting user.
        """
        if acting_user is not None:
            async with self.transaction(acting_user=acting_user) as unit:
                yield unit
            return
        conn = await self._getconn()
        try:
            restore = not conn.autocommit
            if restore:
                await conn.set_autocommit(True)
            try:
                yield conn
            except psycopg.Error as exc:
                failure, cause = self._failure(_mapped(exc, committing=False), exc)
                raise failure from cause
            except IntegrityError as exc:
                domain = self._domain_error(exc)
                if domain is None:
                    raise
                raise domain from exc
            finally:
                if restore and not conn.closed:
                    await conn.set_autocommit(False)
        finally:
            await self.pool.putconn(conn)

    @asynccontextmanager
    async def transaction(
        self,
        *,
        acting_user: str | None = None,
        read_only: bool = False,
        isolation: IsolationLevel | None = None,
        replica: bool = False,
    ) -> AsyncIterator[AsyncConn]:
        """A unit of work: commits when the block ends, rolls back on any error.

        ``replica=True``: the unit only reads (READ ONLY) and may run on a replica that has
        replayed the active scope's last commit; else, or when none may, on the primary.

        A read-only READ COMMITTED unit on the primary stamps its connection while it runs, so
        that a read's result may be reused (a deduplicating scope, the query cache:
        docs/caching.md); a read-write unit empties the open scope when it ends. A replica's
        results are never kept: the cache's invalidations follow the primary's commits."""
        level = unit_isolation(isolation)
        read_only = read_only or replica
        # the primary's BEGIN; built (and a bad acting user refused) before any connection
        primary_begin = self._begin(level, read_only, acting_user, self._unit_timeout)
        scope = current_scope()
        capture = scope is not None and not read_only  # a unit that may write, in a scope
        target: AsyncReplica | None = None
        if replica and self.replicas is not None and level is not IsolationLevel.SERIALIZABLE:
            target = self.replicas.pick(0 if scope is None else scope.position)
        reusable = read_only and level is DEFAULT_ISOLATION
        retried = False
        while True:
            if target is None:  # the primary: no detour on the path of every unit
                conn = await self._getconn()
            else:
                conn, target = await self._checkout(target)
            if target is None:
                pool, begin, stamped = self.pool, primary_begin, reusable
            else:
                pool, stamped = target.pool, False
                begin = self._begin(level, read_only, acting_user, target.unit_timeout)
            try:
                restore = not conn.autocommit  # plainsql's own pools hand out autocommit ones
                if restore:
                    await conn.set_autocommit(True)
                try:
                    try:
                        await async_run_command(conn, begin)
                    except psycopg.Error as exc:
                        if target is not None and connection_lost(exc):
                            # a replica gone: the unit goes to the primary, nothing was sent
                            if self.replicas is not None:
                                self.replicas.failed(target, exc)
                            target = None
                            continue
                        if not retried and connection_lost(exc):
                            # a dead connection: nothing of the unit was sent
                            retried = True
                            logger.warning(
                                "pool %r: a dead connection was discarded (%s at BEGIN); "
                                "the unit is retried on another connection",
                                pool.name,
                                type(exc).__name__,
                            )
                            continue
                        raise _mapped(exc, committing=False) from exc
                    if stamped and isinstance(conn, AsyncPlainConnection):
                        conn.reuse_stamp = (self.pool, begin)
                    try:
                        yield conn
                    except BaseException as exc:
                        await _roll_back(conn)
                        if isinstance(exc, psycopg.Error):
                            failure, cause = self._failure(_mapped(exc, committing=False), exc)
                            raise failure from cause
                        domain = self._domain_error(exc)
                        if domain is not None:
                            raise domain from exc
                        lost = _lost_in_unit(exc)
                        if lost is not None:
                            raise lost from exc.__cause__
                        raise
                    try:
                        if capture and scope is not None:
                            position = await async_commit_at(conn)
                            if position is None:
                                logger.warning(
                                    "pool %r: the unit committed, but its WAL position could "
                                    "not be read: its scope reads from the primary until its "
                                    "next commit",
                                    pool.name,
                                )
                            scope.note(position)
                        else:
                            await async_run_command(conn, COMMIT)
                    except (psycopg.Error, DeadlineExceeded) as exc:
                        # A read-only unit changed nothing: it cannot be uncertain.
                        failure, cause = self._failure(_mapped(exc, committing=not read_only), exc)
                        raise failure from cause
                finally:
                    if stamped and isinstance(conn, AsyncPlainConnection):
                        conn.reuse_stamp = None
                    elif not read_only:
                        written()
                    if restore and not conn.closed:
                        await conn.set_autocommit(False)
            finally:
                await pool.putconn(conn)
            return

    async def _reused(
        self, unit: AsyncUnit, query: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """What the read-only ``unit`` of the one query ``query`` returns, taken from a result
        kept by the open scope or query cache, or from an identical read under way, before
        any connection is (plainsql's query functions, loaded or typed, only: they hand the
        connection to their adapter); MISSING when none answers. When the look leads the
        identical reads that come meanwhile (they wait for it), the unit runs here, and
        whatever it did not land lands empty when it ends. See
        plainsql.runtime._reuse.ReuseProbe and Lead."""
        level = unit_isolation(unit.isolation)
        owner = getattr(query, "__self__", None)
        adapter = getattr(owner, "driver_adapter", None) or getattr(owner, "_a", None)
        if level is not DEFAULT_ISOLATION or not isinstance(adapter, AdapterBase):
            return MISSING
        begin = self._begin(level, True, unit.acting_user, self._unit_timeout)
        # A unit that may run on a replica never leads: its result is never kept.
        may_lead = not unit.replica and (self.replicas is None or not marked_replica_safe(query))
        try:
            return await query(ReuseProbe((self.pool, begin), may_lead), *args, **kwargs)
        except NotReused as not_reused:
            lead = not_reused.lead
        if lead is None:
            return MISSING
        with lead:
            async with unit._of(query) as conn:
                return await query(conn, *args, **kwargs)

    async def retry(self, unit: Callable[[], Awaitable[T]], *, attempts: int = 3) -> tuple[T, int]:
        """Run ``unit`` (which opens its own transaction) again after a serialization failure
        or a deadlock, at most ``attempts`` times; returns its result and the retries made."""
        for retries in range(attempts):
            try:
                return await unit(), retries
            except SerializationFailure as exc:
                if retries == attempts - 1:
                    raise
                logger.info(
                    "unit %s failed with SQLSTATE %s (serialization failure or deadlock); "
                    "retry %d of %d",
                    getattr(unit, "__qualname__", type(unit).__name__),
                    exc.sqlstate,
                    retries + 1,
                    attempts - 1,
                )
        raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class AsyncUnit:
    """A unit of work of one typed query (:meth:`AsyncDatabase.unit`): the query's own
    signature checks its parameters, and "no row" is declared once, as the error to raise."""

    db: AsyncDatabase
    acting_user: str | None
    read_only: bool
    isolation: IsolationLevel | None
    replica: bool = False

    def _of(self, query: Callable[..., object]) -> AbstractAsyncContextManager[AsyncConn]:
        """The unit for ``query``: READ ONLY and replica-eligible when its SQL file marks it
        replica-safe."""
        replica = self.replica or marked_replica_safe(query)
        return self.db.transaction(
            acting_user=self.acting_user,
            read_only=self.read_only,
            isolation=self.isolation,
            replica=replica,
        )

    async def run(
        self,
        query: Callable[Concatenate[AsyncConn, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """What ``query(conn, *args, **kwargs)`` returns, run in this unit of work (or, in a
        read-only unit, kept from an earlier run by the open scope or query cache, or that of
        an identical read under way, without a connection: docs/caching.md)."""
        if self.read_only and (CACHES_OPEN[0] or SCOPE.get() is not None):
            found = await self.db._reused(self, query, args, kwargs)
            if found is not MISSING:
                return cast(T, found)
        async with self._of(query) as conn:
            return await query(conn, *args, **kwargs)

    async def one(
        self,
        missing: Missing,
        query: Callable[Concatenate[AsyncConn, P], Awaitable[T | None]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """The row ``query`` returns; when it returns none, ``missing`` is raised and the unit
        rolled back (``missing`` may be a function of the connection that reads, in the same
        unit, which error to raise: a conditional UPDATE tells why it changed nothing)."""
        # A kept "no row" is answered early only when the error needs no connection to tell.
        if (
            isinstance(missing, Exception)
            and self.read_only
            and (CACHES_OPEN[0] or SCOPE.get() is not None)
        ):
            found = await self.db._reused(self, query, args, kwargs)
            if found is None:
                raise missing
            if found is not MISSING:
                return cast(T, found)
        async with self._of(query) as conn:
            row = await query(conn, *args, **kwargs)
            if row is None:
                raise await _explained(missing, conn)
            return row

    async def affected(
        self,
        missing: Missing,
        query: Callable[Concatenate[AsyncConn, P], Awaitable[int]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> int:
        """The count of rows ``query`` changed; ``missing`` raised (as by :meth:`one`) when it
        changed none."""
        async with self._of(query) as conn:
            count = await query(conn, *args, **kwargs)
            if count == 0:
                raise await _explained(missing, conn)
            return count


async def _explained(missing: Missing, conn: AsyncConn) -> Exception:
    """The error of "no row": ``missing`` itself, or what it reads on ``conn``."""
    if isinstance(missing, Exception):
        return missing
    return await missing(conn)


def exactly_one(row: T | None, missing: Exception) -> T:
    """``row``, or ``missing`` raised when there is none: "exactly one row or this error"."""
    if row is None:
        raise missing
    return row


def at_least_one(count: int, missing: Exception) -> int:
    """``count`` (of the rows an UPDATE or DELETE changed), or ``missing`` raised when it
    changed none: :func:`exactly_one` for a statement's count."""
    if count == 0:
        raise missing
    return count


async def _roll_back(conn: AsyncConn) -> None:
    """End the failed unit; a connection already gone is discarded by the pool anyway."""
    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        await async_run_command(conn, ROLLBACK)
    except (psycopg.Error, DeadlineExceeded):
        await conn.close()  # the pool will replace it


def _lost_in_unit(exc: BaseException) -> ConnectionLost | None:
    """A query error that says the connection is gone (a named query maps it to
    DatabaseUnavailable, not knowing it ran inside a unit) as the unit's ConnectionLost."""
    cause = exc.__cause__
    if (
        isinstance(exc, DatabaseUnavailable)
        and not isinstance(exc, ConnectionLost | PoolExhausted)
        and isinstance(cause, psycopg.Error)
        and connection_lost(cause)
    ):
        return ConnectionLost(ConnectionLost.explain(cause))
    return None


def _mapped(exc: psycopg.Error | DeadlineExceeded, *, committing: bool) -> Exception:
    if isinstance(exc, DeadlineExceeded):
        return CommitUncertain(CommitUncertain.explain(exc)) if committing else exc
    if connection_lost(exc) and not prepared_statement_lost(exc):
        cls = CommitUncertain if committing else ConnectionLost
        return cls(cls.explain(exc))
    return map_error(exc, query_name="transaction")
