"""What both pools (:mod:`~plainsql.runtime.pool_async` and its sync twin) share."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from plainsql.config import Settings, describe_target
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


def probe_failure(settings: Settings, conninfo: str) -> Exception:
    """Connect once outside the pool to learn why the pool could not."""
    try:
        psycopg.connect(with_session_options(settings, conninfo)).close()
    except psycopg.Error as exc:
        return unavailable(conninfo, exc)
    return unavailable(conninfo, TimeoutError("the pool could not open a connection in time"))


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
