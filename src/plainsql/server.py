"""Find the server to talk to, start the embedded one when needed, open plain connections, and
make scratch databases.

Every connection opened here has ``application_name`` and ``statement_timeout`` set and a
connect timeout, and a failure becomes :class:`DatabaseUnavailable` naming host and port,
never the password.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from plainsql import embedded
from plainsql._masking import hide_password
from plainsql.config import Settings, describe_target
from plainsql.errors import DatabaseUnavailable, ScratchDatabaseError, scrub_secrets


def server_conninfo(settings: Settings, dbname: str | None = None) -> str:
    """The connection string of the configured server, starting the embedded one if needed.

    ``dbname`` replaces the database of the configured URL (used for scratch and test
    databases on the same server).
    """
    base = _embedded_conninfo(settings) if settings.uses_embedded else settings.database_url or ""
    if dbname is None:
        return base
    return make_conninfo(base, dbname=dbname)


def session_options(settings: Settings) -> dict[str, str | int]:
    """libpq keywords every plainsql connection carries.

    Over TCP, keepalives notice a peer that vanished, and ``tcp_user_timeout`` a server that
    stopped acknowledging (frozen, or its host gone) while a statement is in flight: the
    server cannot enforce its own ``statement_timeout`` then, so the client gives up 10 s
    after it would have. libpq ignores both on a unix socket.
    """
    options: dict[str, str | int] = {
        "application_name": settings.application_name,
        "client_encoding": "UTF8",
        "connect_timeout": settings.connect_timeout,
        "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if settings.statement_timeout_ms > 0:
        options["tcp_user_timeout"] = settings.statement_timeout_ms + 10_000
    return options


def with_session_options(settings: Settings, conninfo: str) -> str:
    """``conninfo`` plus plainsql's session options (values already in it are overridden)."""
    return make_conninfo(conninfo, **session_options(settings))


def connect(
    settings: Settings, conninfo: str | None = None, *, autocommit: bool = False
) -> psycopg.Connection[tuple[object, ...]]:
    """Open one connection (outside any pool) with plainsql's session options."""
    target = server_conninfo(settings) if conninfo is None else conninfo
    try:
        conn = psycopg.connect(with_session_options(settings, target), autocommit=autocommit)
    except psycopg.Error as exc:
        raise unavailable(target, exc) from exc
    if not settings.prepared_statements:
        conn.prepare_threshold = None
    return conn


def unavailable(conninfo: str, exc: BaseException) -> DatabaseUnavailable:
    """A :class:`DatabaseUnavailable` naming the target, with the cause's reason scrubbed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = hide_password(scrub_secrets(lines[0] if lines else repr(exc)), conninfo)
    target = describe_target(conninfo)
    return DatabaseUnavailable(f"cannot connect to {target}: {reason}", target=target)


def database_name(conninfo: str) -> str:
    """The database a connection string points at (libpq's default: the user name)."""
    params = conninfo_to_dict(conninfo)
    return str(params.get("dbname") or params.get("user") or "postgres")


def _embedded_conninfo(settings: Settings) -> str:
    """Start the embedded server if needed and make sure its database exists."""
    state = embedded.start(settings.pgdata_dir, started_from=settings.project_dir)
    admin = embedded.url_for(state, "postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=settings.connect_timeout) as c:
            exists = c.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (settings.embedded_database,)
            ).fetchone()
            if not exists:
                c.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.embedded_database))
                )
    except psycopg.errors.DuplicateDatabase:
        pass  # another process created it between our check and our CREATE
    except psycopg.Error as exc:
        raise unavailable(admin, exc) from exc
    return embedded.url_for(state, settings.embedded_database)


@contextmanager
def scratch_database(
    settings: Settings, purpose: str = "scratch", *, conninfo: str | None = None
) -> Iterator[str]:
    """An empty database on the configured server (or the server of ``conninfo``); yields its
    connection string and drops it whatever happens.

    ``verify``, ``lint``, ``schema dump``, ``drift``, ``typegen``, ``check`` and the test
    plugin build what they need in one of these, never touching the configured database. It is
    made from template0, the pristine template, so nothing put into template1 leaks in; its
    name (``plainsql_<purpose>_<pid>_<random>``) is unique, so runs from several checkouts or
    processes at once never meet.
    """
    base = server_conninfo(settings) if conninfo is None else conninfo
    name = f"plainsql_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
    with connect(settings, base, autocommit=True) as admin:
        try:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        except psycopg.Error as exc:
            reason = hide_password(
                scrub_secrets((exc.diag.message_primary or str(exc)).strip()), base
            )
            raise ScratchDatabaseError(
                f"cannot create a scratch database on {describe_target(base)}: {reason}"
            ) from exc
    try:
        yield make_conninfo(base, dbname=name)
    finally:
        with suppress(psycopg.Error), connect(settings, base, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
