"""What both runtimes (:mod:`plainsql.runtime_async`, :mod:`plainsql.runtime_sync`) share."""

from __future__ import annotations

import functools

from psycopg import IsolationLevel, sql

# Code here is written for READ COMMITTED; a unit that needs more says so.
DEFAULT_ISOLATION = IsolationLevel.READ_COMMITTED


COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"


@functools.lru_cache(maxsize=64)
def _begin(isolation: IsolationLevel, read_only: bool) -> str:
    mode = " READ ONLY" if read_only else ""
    return f"BEGIN ISOLATION LEVEL {isolation.name.replace('_', ' ')}{mode}"


def begin_statement(
    isolation: IsolationLevel, read_only: bool, setting: str, acting_user: str | None
) -> str:
    """``BEGIN ISOLATION LEVEL ... [READ ONLY]; SELECT set_config(setting, user, true)``: one
    simple-protocol string, so a unit's start costs one round trip. The values are quoted by
    psycopg (``sql.quote``); the string is built per unit, without a connection."""
    begin = _begin(isolation, read_only)
    if acting_user is None:
        return begin
    return f"{begin}; SELECT set_config({sql.quote(setting)}, {sql.quote(acting_user)}, true)"


def unit_isolation(requested: IsolationLevel | None) -> IsolationLevel:
    """The level a unit of work runs at: the one asked for, else READ COMMITTED, pinned."""
    return DEFAULT_ISOLATION if requested is None else requested
