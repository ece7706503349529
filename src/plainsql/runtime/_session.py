"""Session-level statements, refused on a connection that goes through a transaction pooler.

Through PgBouncer in transaction mode, each transaction may run on another server connection:
a ``LISTEN`` hears nothing once its transaction ends, a session ``SET`` or advisory lock stays
behind for whichever client gets that server connection next. Such statements sent on a
pooled plainsql connection (``transaction-pooler``) fail at once with
:class:`~plainsql.errors.SessionRequired`, naming the direct URL, instead of misbehaving
later. Transaction-scoped forms (``SET LOCAL``, ``pg_advisory_xact_lock``) pass. Only text
queries are looked at (aiosql's and ``conn.execute("...")``), and only on pooled connections.
"""

from __future__ import annotations

import re

from psycopg.abc import Query

from plainsql.errors import SessionRequired

_LEADING = r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*"
_STATEMENT = re.compile(
    _LEADING + r"(?P<what>LISTEN|UNLISTEN|RESET|DISCARD|PREPARE|LOAD"
    r"|SET(?!\s+(?:LOCAL|TRANSACTION|CONSTRAINTS)\b)"
    r"|DECLARE\b[^;]*?\bWITH\s+HOLD)\b",
    re.IGNORECASE | re.DOTALL,
)
_ADVISORY = re.compile(r"\b(?P<what>pg_(?:try_)?advisory_(?:un)?lock(?:_shared|_all)?)\s*\(", re.I)


def session_level(query: str) -> str | None:
    """What in ``query`` needs a session of its own (``LISTEN``, ...), or None."""
    statement = _STATEMENT.match(query)
    if statement:
        return statement.group("what").split()[0].upper()
    function = _ADVISORY.search(query)
    return f"{function.group('what').lower()}()" if function else None


def refuse_session_level(query: Query) -> None:
    """Raise :class:`SessionRequired` when ``query`` is session-level work."""
    if isinstance(query, str):
        what = session_level(query)
        if what is not None:
            raise SessionRequired.explain(f"{what} (a session-level statement)")
