"""Find the server to talk to, start the embedded one when needed, open plain connections, and
make scratch databases.

Every connection opened here has ``application_name`` and ``statement_timeout`` set and a
connect timeout, and a failure becomes :class:`DatabaseUnavailable` naming host and port,
never the password. Through a declared transaction pooler (``transaction-pooler``) a
connection carries no startup ``options`` (PgBouncer does not forward them; the runtime sends
the statement timeout with each unit's ``BEGIN``) and prepares nothing unless
``pooler-prepared-statements`` says the pooler keeps them; work that needs a session of its
own goes to :func:`session_conninfo`, the direct URL.
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
from plainsql.errors import (
    DatabaseUnavailable,
    ScratchDatabaseError,
    SessionRequired,
    scrub_secrets,
)


def server_conninfo(settings: Settings, dbname: str | None = None) -> str:
    """The connection string of the configured server, starting the embedded one if needed.

    ``dbname`` replaces the database of the configured URL (used for scratch and test
    databases on the same server).
    """
    base = _embedded_conninfo(settings) if settings.uses_embedded else settings.database_url or ""
    if dbname is None:
        return base
    return make_conninfo(base, dbname=dbname)


def session_conninfo(settings: Settings, purpose: str, *, required: bool = True) -> str:
    """The connection string for work that needs a server session of its own (migrations and
    their lock, scratch databases, ``LISTEN``, session advisory locks, statistics): the direct
    URL (``DIRECT_URL``) when set, else the configured server.

    Through a declared transaction pooler without a direct URL, ``purpose`` is refused with
    :class:`SessionRequired` saying what to set; ``required=False`` (reads that are safe
    through the pooler, such as ``plainsql status``) falls back to the configured server.
    """
    if settings.direct_url:
        return settings.direct_url
    if settings.transaction_pooler and required:
        raise SessionRequired.explain(purpose)
    return server_conninfo(settings)


def _host_port(conninfo: str) -> tuple[str, str]:
    params = conninfo_to_dict(conninfo)
    host = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "")
    return host, str(params.get("port") or os.environ.get("PGPORT") or "5432")


def through_pooler(settings: Settings, conninfo: str) -> bool:
    """Whether ``conninfo`` goes through the declared transaction pooler: the application's
    URL, or another database on the same host and port (never the direct URL)."""
    if not settings.transaction_pooler or settings.database_url is None:
        return False
    if settings.direct_url and conninfo == settings.direct_url:
        return False
    return _host_port(conninfo) == _host_port(settings.database_url)


def prepares(settings: Settings, pooled: bool) -> bool:
    """Whether psycopg may prepare statements on a connection (through the pooler or not)."""
    return settings.prepared_statements and (not pooled or settings.pooler_prepared_statements)


def session_options(settings: Settings, pooled: bool = False) -> dict[str, str | int]:
    """libpq keywords every plainsql connection carries (``pooled``: through the pooler).

    Over TCP, keepalives notice a peer that vanished, and ``tcp_user_timeout`` a server that
    stopped acknowledging (frozen, or its host gone) while a statement is in flight: the
    server cannot enforce its own ``statement_timeout`` then, so the client gives up 10 s
    after it would have. libpq ignores both on a unix socket.
    """
    options: dict[str, str | int] = {
        "application_name": settings.application_name,
        "client_encoding": "UTF8",
        "connect_timeout": settings.connect_timeout,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if not pooled:  # a pooler does not forward startup options (PgBouncer refuses them)
        options["options"] = f"-c statement_timeout={settings.statement_timeout_ms}"
    if settings.statement_timeout_ms > 0:
        options["tcp_user_timeout"] = settings.statement_timeout_ms + 10_000
    return options


def with_session_options(settings: Settings, conninfo: str) -> str:
    """``conninfo`` plus plainsql's session options (values already in it are overridden)."""
    return make_conninfo(conninfo, **session_options(settings, through_pooler(settings, conninfo)))


def connect(
    settings: Settings, conninfo: str | None = None, *, autocommit: bool = False
) -> psycopg.Connection[tuple[object, ...]]:
    """Open one connection (outside any pool) with plainsql's session options."""
    target = server_conninfo(settings) if conninfo is None else conninfo
    try:
        conn = psycopg.connect(with_session_options(settings, target), autocommit=autocommit)
    except psycopg.Error as exc:
        raise unavailable(target, exc) from exc
    if not prepares(settings, through_pooler(settings, target)):
        conn.prepare_threshold = None
    return conn


def unavailable(conninfo: str, exc: BaseException) -> DatabaseUnavailable:
    """A :class:`DatabaseUnavailable` naming the target, with the cause's reason scrubbed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = hide_password(scrub_secrets(lines[0] if lines else repr(exc)), conninfo)
    target = describe_target(conninfo)
    if "unsupported startup parameter" in reason:  # PgBouncer, refusing libpq's `options`
        reason += (
            " (a connection pooler such as PgBouncer: declare it with "
            "PLAINSQL_TRANSACTION_POOLER=true or ?pgbouncer=true on DATABASE_URL, and plainsql "
            "sends no startup options; see docs/pgbouncer.md)"
        )
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
    if conninfo is None:  # a scratch database is made over a session (CREATE DATABASE, ...)
        conninfo = session_conninfo(settings, f"plainsql {purpose} (on a scratch database)")
    base = conninfo
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
