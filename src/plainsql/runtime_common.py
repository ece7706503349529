"""What both runtimes (:mod:`plainsql.runtime_async`, :mod:`plainsql.runtime_sync`) share."""

from __future__ import annotations

import psycopg
from psycopg import IsolationLevel
from psycopg import errors as pgerrors

# Code here is written for READ COMMITTED; a unit that needs more says so.
DEFAULT_ISOLATION = IsolationLevel.READ_COMMITTED

_BROKEN = (
    pgerrors.ConnectionException,
    pgerrors.AdminShutdown,
    pgerrors.CrashShutdown,
    pgerrors.CannotConnectNow,
)


def unit_isolation(requested: IsolationLevel | None) -> IsolationLevel:
    """The level a unit of work runs at: the one asked for, else READ COMMITTED, pinned."""
    return DEFAULT_ISOLATION if requested is None else requested


def connection_broken(exc: psycopg.Error) -> bool:
    """True when ``exc`` means the connection is gone (not that a statement failed)."""
    if isinstance(exc, _BROKEN):
        return True
    return isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None
