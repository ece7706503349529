"""The studio's transactions: as the login role, or as the application runs a unit of work.

A read "as a user" opens its transaction with the runtime's own statement
(:func:`plainsql.runtime._unit.begin_statement`, the string ``Database.transaction`` sends):
``BEGIN ...; SET LOCAL ROLE <transaction-role>; SET LOCAL <acting-user-setting> = '<user>'``,
so the policies see what they see when the application runs. Inside, the unit reads back
``current_user`` and the setting: the page says what the server says, not what was asked.
Without ``write`` the unit is ``READ ONLY``; it is rolled back unless the caller keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from plainsql.config import Settings
from plainsql.runtime._libpq import run_command
from plainsql.runtime._unit import DEFAULT_ISOLATION, ROLLBACK, begin_statement


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a unit ran as, read inside it: the role, and the acting user's setting."""

    role: str
    setting: str
    acting_user: str | None  # the setting's value; None when the unit runs as the login role
    read_only: bool

    @property
    def as_user(self) -> bool:
        return self.acting_user is not None


@dataclass(slots=True)
class Unit:
    """An open studio transaction; ``keep()`` commits it when the block ends."""

    conn: psycopg.Connection[Any]
    identity: Identity
    committed: bool = False
    _keep: bool = False

    def keep(self) -> None:
        self._keep = True


@dataclass(frozen=True, slots=True)
class AsUser:
    """A read to run as the application runs it, for this acting user."""

    settings: Settings
    acting_user: str


def acting_user_of(raw: str | None) -> str | None:
    """A form's or a URL's acting user: None (the login role) when empty."""
    value = (raw or "").strip()
    return value or None


@contextmanager
def unit(
    conn: psycopg.Connection[Any],
    settings: Settings,
    acting_user: str | None = None,
    *,
    write: bool = False,
) -> Iterator[Unit]:
    """A transaction on ``conn`` (an autocommit connection of the studio's pool): as the login
    role when ``acting_user`` is None, else as the application's units of work run (the
    ``transaction-role`` and the acting user). READ ONLY unless ``write``; always rolled back
    unless the block calls ``keep()`` (and ``write`` is on) and ends without an error."""
    role = settings.transaction_role if acting_user is not None else None
    begin = begin_statement(
        DEFAULT_ISOLATION, not write, settings.acting_user_setting, acting_user, role
    )
    done = Unit(conn, Identity("?", settings.acting_user_setting, None, not write))
    try:
        run_command(conn, begin)
        row = conn.execute(
            "SELECT current_user::text, current_setting(%s, true)",
            (settings.acting_user_setting,),
        ).fetchone()
        assert row is not None
        done.identity = Identity(
            row[0],
            settings.acting_user_setting,
            row[1] if acting_user is not None else None,
            not write,
        )
        yield done
        if done._keep and write:
            conn.execute("COMMIT")
            done.committed = True
    finally:
        if not done.committed and conn.info.transaction_status != TransactionStatus.IDLE:
            run_command(conn, ROLLBACK)
