"""What both pools (:mod:`~plainsql.runtime.pool_async` and its sync twin) share."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_attempts, conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from plainsql.config import Settings, describe_target
from plainsql.errors import DatabaseUnavailable
from plainsql.server import session_options, through_pooler, unavailable, with_session_options

# Pools opened and closed, and each connection a pool adds (its growth); psycopg_pool's own
# records (under psycopg.pool, at INFO for every checkout) say when it shrinks.
logger = logging.getLogger("plainsql.pool")

# A connection idle for longer than this is checked (one round trip) before it is handed out.
IDLE_CHECK_AFTER = 5.0


def pool_arguments(settings: Settings, conninfo: str, name: str) -> dict[str, Any]:
    return {
        "conninfo": conninfo,
        "kwargs": session_options(settings, through_pooler(settings, conninfo)),
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "max_idle": settings.pool_max_idle,
        "timeout": settings.pool_timeout,
        "name": name,
        "open": False,
    }


def probe(settings: Settings, conninfo: str) -> DatabaseUnavailable | None:
    """Connect once outside the pool, within ``connect-timeout`` seconds in all: why the pool
    could not open, or None when a connection can be made.

    psycopg gives each address of a host name its own connect timeout (``localhost`` is two),
    so the probe tries the addresses itself, each with what is left of the one budget (libpq's
    minimum, 2 s, aside): a server that accepts and never answers costs the caller the
    connect timeout, not a multiple of it.
    """
    try:
        attempts = conninfo_attempts(conninfo_to_dict(with_session_options(settings, conninfo)))
    except psycopg.Error as exc:
        return unavailable(conninfo, exc)
    deadline = time.monotonic() + settings.connect_timeout
    error: BaseException = TimeoutError("connection timeout expired")
    for attempt in attempts:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempt["connect_timeout"] = max(2, math.ceil(remaining))
        try:
            conn = psycopg.connect(make_conninfo("", **attempt))
        except psycopg.Error as exc:
            error = exc
        else:
            with conn:
                warn_if_superuser(settings, conn)
            return None
    failure = unavailable(conninfo, error)
    failure.__cause__ = error
    return failure


_warned: set[tuple[str, str]] = set()


def warn_if_superuser(settings: Settings, conn: psycopg.Connection[Any]) -> None:
    """Warn once per process (per login role and transaction role) when the login role is a
    superuser while ``transaction-role`` is set: ``SET LOCAL ROLE`` is not a sandbox for a
    superuser, since any SQL on the connection can say ``RESET ROLE`` (or ``SET ROLE
    postgres``) and leave row-level security behind. The server reports ``is_superuser`` at
    login, so this costs no query."""
    role = settings.transaction_role
    if role is None or conn.info.parameter_status("is_superuser") != "on":
        return
    login = conn.info.parameter_status("session_authorization") or "?"
    if (login, role) in _warned:
        return
    _warned.add((login, role))
    logger.warning(
        "the login role %r is a superuser and transaction-role is %r: SQL run on these "
        "connections can leave the role (RESET ROLE) and bypass row-level security; in "
        "production, log in as a role that is only a member of %r (docs/production-roles.md)",
        login,
        role,
        role,
    )


def probe_failure(settings: Settings, conninfo: str) -> Exception:
    """Why the pool could not open a connection in time (see :func:`probe`)."""
    return probe(settings, conninfo) or unavailable(
        conninfo, TimeoutError("the pool could not open a connection in time")
    )


def log_open(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> None:
    target = describe_target(pool.conninfo) if isinstance(pool.conninfo, str) else "?"
    logger.info(
        "pool %r open on %s: %d to %d connections",
        pool.name,
        target,
        pool.min_size,
        pool.max_size,
    )


def log_closed(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> None:
    stats = pool.get_stats()
    logger.info(
        "pool %r closed: %d connections made, %d lost, %d requests (%d waited, %d timed out)",
        pool.name,
        stats.get("connections_num", 0),
        stats.get("connections_lost", 0),
        stats.get("requests_num", 0),
        stats.get("requests_queued", 0),
        stats.get("requests_errors", 0),
    )


def pool_statistics(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> dict[str, int]:
    """psycopg_pool's counters (pool_size, pool_available, requests_num, ...) without resetting."""
    return dict(pool.get_stats())
