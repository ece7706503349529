"""What both runtimes (:mod:`~plainsql.runtime.database_async` and its sync twin) share."""

from __future__ import annotations

import functools

from psycopg import IsolationLevel, sql

from plainsql.errors import InvalidInput

# Code here is written for READ COMMITTED; a unit that needs more says so.
DEFAULT_ISOLATION = IsolationLevel.READ_COMMITTED


COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"


@functools.lru_cache(maxsize=64)
def _begin(isolation: IsolationLevel, read_only: bool) -> str:
    mode = " READ ONLY" if read_only else ""
    return f"BEGIN ISOLATION LEVEL {isolation.name.replace('_', ' ')}{mode}"


@functools.lru_cache(maxsize=4096)
def begin_statement(
    isolation: IsolationLevel,
    read_only: bool,
    setting: str,
    acting_user: str | None,
    role: str | None = None,
    statement_timeout_ms: int | None = None,
) -> str:
    """``BEGIN ISOLATION LEVEL ... [READ ONLY]; SET LOCAL ROLE "<role>"; SET LOCAL "<setting>"
    = '<user>'``: one simple-protocol string, so a unit's start costs one round trip, and the
    server runs no query for the role or the setting (``SET LOCAL`` is a utility command:
    nothing to plan). Both end with the transaction: nothing is session state. The values are
    quoted by psycopg (``sql.Identifier``, ``sql.quote``); the string is built once per
    distinct acting user and role (cached), without a connection. Through a transaction pooler
    (which does not forward a connection's startup options) it also carries ``SET LOCAL
    statement_timeout``, so the server enforces the unit's timeout there too.

    An acting user PostgreSQL cannot be sent is refused first (:func:`check_acting_user`);
    only a valid one is cached, so a unit pays for the check once per distinct user."""
    check_acting_user(acting_user)
    parts = [_begin(isolation, read_only)]
    if role is not None:
        parts.append(f"SET LOCAL ROLE {sql.Identifier(role).as_string()}")
    if statement_timeout_ms is not None:
        parts.append(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}")
    if acting_user is not None:
        name = sql.Identifier(setting).as_string()
        parts.append(f"SET LOCAL {name} = {sql.quote(acting_user)}")
    return "; ".join(parts)


def check_acting_user(acting_user: str | None) -> None:
    """Refuse an acting user id PostgreSQL cannot be sent (a NUL byte, text that is not valid
    UTF-8) as :class:`~plainsql.errors.InvalidInput`, before a connection is taken; the
    message never quotes the value."""
    if not isinstance(acting_user, str):
        return
    if "\x00" in acting_user:
        reason = "holds a NUL byte, which PostgreSQL text cannot"
    else:
        try:
            acting_user.encode("utf-8")
            return
        except UnicodeEncodeError:
            reason = "is not valid UTF-8 text (a lone surrogate)"
    raise InvalidInput(f"the acting user id {reason} (value hidden)", query_name="transaction")


def unit_isolation(requested: IsolationLevel | None) -> IsolationLevel:
    """The level a unit of work runs at: the one asked for, else READ COMMITTED, pinned."""
    return DEFAULT_ISOLATION if requested is None else requested
