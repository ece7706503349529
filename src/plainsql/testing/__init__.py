"""Test support on a real PostgreSQL: pick a server, build the schema once, clone it per test.

The pytest fixtures live in :mod:`plainsql.testing.plugin` (registered through the
``pytest11`` entry point); this module holds the machinery they use, usable without pytest.

Server choice, first that applies:

1. ``PLAINSQL_TEST_DATABASE_URL`` (the role needs CREATEDB);
2. the server the CLI uses when one is configured explicitly: ``DATABASE_URL`` in the
   environment or in ``.env``, or libpq's ``PG*`` variables (see :mod:`plainsql.config`);
   its ``DIRECT_URL`` when set (tests create databases: never through a transaction pooler);
3. a throwaway ``postgres:16-alpine`` container via testcontainers, when it is installed and a
   Docker engine answers (``PLAINSQL_TEST_DOCKER=off`` skips it);
4. the project's embedded PostgreSQL (``.plainsql/pgdata``).

The schema is built once per session by the real migrations into a template database;
each test gets its own ``CREATE DATABASE ... TEMPLATE`` copy, dropped afterwards, so tests
may commit, open many connections, and run in any order.

:func:`streaming_pair` makes a primary and a streaming standby of it (embedded servers of
their own), for tests of read replicas.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from plainsql import embedded
from plainsql._extras import require
from plainsql.config import DatabaseSource, Settings, load_settings, mask_url
from plainsql.migrate.runner import Migrator
from plainsql.server import server_conninfo

_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class TestServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    __test__ = False  # not a pytest test class

    admin_conninfo: str
    kind: str  # where it came from: "DATABASE_URL", ".env", ..., "docker" or "embedded"
    settings: Settings

    def conninfo(self, dbname: str) -> str:
        return make_conninfo(self.admin_conninfo, dbname=dbname)

    def admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.admin_conninfo, autocommit=True, connect_timeout=10)

    def settings_for(self, dbname: str) -> Settings:
        """Settings whose DATABASE_URL is ``dbname`` on this server (directly, no pooler)."""
        return replace(
            self.settings,
            database_url=self.conninfo(dbname),
            source=DatabaseSource.ENVIRONMENT,
            transaction_pooler=False,
            direct_url=None,
        )


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
    except Exception:
        return False
    return True


def _choice(settings: Settings) -> tuple[str, str | None]:
    """(kind, conninfo): the server the tests use, conninfo None where it is yet to start."""
    explicit = os.environ.get("PLAINSQL_TEST_DATABASE_URL")
    if explicit:
        return "PLAINSQL_TEST_DATABASE_URL", explicit
    if settings.direct_url:
        return "DIRECT_URL", settings.direct_url
    if not settings.uses_embedded:
        return settings.source.value, settings.database_url or ""
    if os.environ.get("PLAINSQL_TEST_DOCKER", "auto") != "off" and _docker_answers():
        return "docker", None
    return "embedded", None


def describe_server_choice(settings: Settings | None = None) -> str:
    """One line for the test header: which server the tests run on, password masked."""
    settings = settings or load_settings()
    kind, conninfo = _choice(settings)
    if kind == "docker":
        return "tests run on a throwaway postgres:16-alpine (testcontainers)"
    if kind == "embedded":
        return f"tests run on the embedded PostgreSQL in {settings.pgdata_dir}"
    shown = mask_url(conninfo) if conninfo else "libpq's PG* variables"
    return f"tests run on {shown} (from {kind}, as the CLI)"


@contextmanager
def open_test_server(settings: Settings | None = None) -> Iterator[TestServer]:
    """The server for this test session (see the module docstring for the order)."""
    base = settings or load_settings()
    kind, conninfo = _choice(base)
    if conninfo is not None:
        yield TestServer(conninfo, kind, base)
    elif kind == "docker":
        containers = require("testcontainers.postgres", "a Docker test server")
        with containers.PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield TestServer(container.get_connection_url(), kind, base)
    else:
        embedded_settings = replace(base, database_url=None, source=DatabaseSource.EMBEDDED)
        conninfo = server_conninfo(embedded_settings)
        # Before the session connects: a server started before it preloaded pg_stat_statements
        # (plainsql stats) is restarted once, as `plainsql db start` would.
        embedded.ensure_preloaded(embedded_settings.pgdata_dir)
        yield TestServer(conninfo, kind, base)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}_{secrets.token_hex(3)}"


def create_database(server: TestServer, name: str, template: str | None = None) -> None:
    with server.admin() as admin:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        admin.execute(statement)


def drop_database(server: TestServer, name: str) -> None:
    with server.admin() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def build_template(server: TestServer) -> str:
    """A database migrated to the latest schema, marked as a template; returns its name."""
    name = unique_name("plainsql_tpl")
    create_database(server, name)
    try:
        with Migrator(server.settings, server.conninfo(name)) as migrator:
            migrator.migrate()
        with server.admin() as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true").format(sql.Identifier(name))
            )
    except BaseException:
        drop_database(server, name)
        raise
    return name


def drop_template(server: TestServer, name: str) -> None:
    with suppress(psycopg.Error), server.admin() as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
        )
    drop_database(server, name)


@contextmanager
def cloned_database(server: TestServer, template: str) -> Iterator[str]:
    """A fresh copy of ``template`` for one test; dropped afterwards. Yields its name."""
    name = unique_name("plainsql_test")
    create_database(server, name, template)
    try:
        yield name
    finally:
        drop_database(server, name)


@dataclass(frozen=True, slots=True)
class StreamingPair:
    """An embedded primary and a streaming standby of it (:func:`streaming_pair`)."""

    folder: Path  # holds both data folders; removed afterwards
    primary: Path  # the primary's data folder
    standby: Path  # the standby's
    primary_url: str  # the database on each
    standby_url: str

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        """The standby's replay paused for the block (``pg_wal_replay_pause()``: it still
        receives WAL, it does not apply it), resumed afterwards."""
        with psycopg.connect(self.standby_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            with psycopg.connect(self.standby_url, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_resume()")


@contextmanager
def streaming_pair(
    settings: Settings | None = None, dbname: str = "plainsql"
) -> Iterator[StreamingPair]:
    """A primary and a standby of it, made for the block and removed after (read replicas'
    tests and benchmarks): an embedded server of its own in a temporary folder, a database
    ``dbname`` on it migrated by the migrations of ``settings``' project (none: no migration),
    then a standby made by ``pg_basebackup -R`` (:func:`plainsql.embedded.start_standby`).
    Both run as the embedded wheel's unprivileged user when this runs as root."""
    folder = Path(tempfile.mkdtemp(prefix="plainsql-pair-"))
    folder.chmod(0o755)  # the servers' user enters it
    primary, standby = folder / "primary", folder / "standby"
    try:
        state = embedded.start(primary, started_from=folder)
        with psycopg.connect(embedded.url_for(state), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        primary_url = embedded.url_for(state, dbname)
        if settings is not None and settings.migrations_dir.is_dir():
            with Migrator(settings, primary_url) as migrator:
                migrator.migrate()
        standby_url = embedded.url_for(embedded.start_standby(primary, standby), dbname)
        yield StreamingPair(folder, primary, standby, primary_url, standby_url)
    finally:
        embedded.stop(standby)
        embedded.stop(primary)
        shutil.rmtree(folder, ignore_errors=True)
