"""Base classes of the services' domain errors, and the errors more than one service raises.

DomainError (plainsql.errors)
├── NotFound            the row does not exist, or belongs to another user
│   └── UserNotFound    no active user with this id, email or username
├── AlreadyExists       a unique fact is already taken (email, slug, youtube id, ...)
│   └── SlugTaken       a team's or a workspace's slug is taken
├── Conflict            the row is not in a state that allows the change (a lost race,
│   │                   an illegal transition, the last owner leaving)
│   └── LastOwner       the change would leave a team without an OWNER
├── Forbidden           the acting user sees the row but its role does not allow the change
│   └── NotAnAdministrator  an administrators' path refused the acting user
└── TooManyRows         a list read whole (a project with its files, a page's tree) is longer
                        than the service returns at once: refused, never cut short

Every other domain error is defined once, in the module of the service that raises it. A
service declares which constraint becomes which of its errors (``CONSTRAINT_ERRORS``) and
hands the mapping to its database handle: the unit of work translates the refusal.

:func:`run_secret` runs a query one of whose parameters is a secret (a password hash, a
token's hash, an encrypted token or deploy key): a failure loses the server's DETAIL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import psycopg

from plainsql.errors import DomainError, IntegrityError, InvalidInput, QueryError

_P = ParamSpec("_P")
_T = TypeVar("_T")


class NotFound(DomainError):
    """The row does not exist, or is not visible to the caller."""


class AlreadyExists(DomainError):
    """A unique value is already taken."""


class Conflict(DomainError):
    """The current state of the data does not allow the change."""


class Forbidden(DomainError):
    """The acting user may see the row, but not change it (a MEMBER managing its team)."""


class NotAnAdministrator(Forbidden):
    """The acting user is not an administrator (an active user with global role OWNER): a
    user's role, a shared tag or category (``Service.administering``)."""


class TooManyRows(DomainError):
    """A list the service returns whole has more rows than it returns at once (its query asks
    for one row past the cap, :func:`~reference_apps.services.base.whole`): refused rather than
    cut short. The message says the cap and, where there is one, the paged read to use."""


class UserNotFound(NotFound):
    """No active user with this id, email or username."""


class SlugTaken(AlreadyExists):
    """Another team (for a team's slug) or workspace (for a workspace's) has this slug; a
    soft-deleted team keeps its slug until the purge."""


class LastOwner(Conflict):
    """The change would leave a team without an OWNER (demotion, removal, user deletion).

    Raised by the database (pseudo-constraint ``team_members_last_owner``).
    """


def _redacted(error: QueryError) -> QueryError:
    """The same error without anything that may quote the parameters (DETAIL, bad input)."""
    cause = error.__cause__
    primary = None
    if isinstance(cause, psycopg.Error) and cause.diag.message_primary:
        primary = cause.diag.message_primary
    if isinstance(error, InvalidInput) or primary is None:
        # "invalid input syntax for type ...: <value>" would quote the value itself.
        primary = f"the server refused the input (SQLSTATE {error.sqlstate or 'unknown'})"
    message = f"{primary} [values hidden: the statement carries a secret]"
    if isinstance(error, IntegrityError):
        return type(error)(
            message,
            query_name=error.query_name,
            sqlstate=error.sqlstate,
            constraint=error.constraint,
            table=error.table,
            column=error.column,
        )
    return type(error)(message, query_name=error.query_name, sqlstate=error.sqlstate)


async def run_secret(query: Callable[_P, Awaitable[_T]], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run a query one of whose parameters is a secret; a failure loses the secret.

    PostgreSQL's DETAIL ("Failing row contains (...)", "Key (...)=(...)") quotes the row, so
    plainsql keeps it on the psycopg cause only; here even the cause goes. The replacement
    error is raised outside the ``except`` block, so it carries neither a ``__cause__`` nor a
    ``__context__`` holding the original message. Its attributes (class, query name,
    SQLSTATE, constraint, table, column) keep what a caller needs.
    """
    try:
        return await query(*args, **kwargs)
    except QueryError as exc:
        failure = _redacted(exc)
    raise failure


def secret_query(query: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """``query`` run through :func:`run_secret`, to give a unit of work:
    ``await self.writing(user).run(secret_query(q.auth.create_session), ...)``."""

    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await run_secret(query, *args, **kwargs)

    return run
