"""pool.py: pools open and close as context managers, carry session settings, fail clearly."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from plainsql import open_async_pool, open_pool
from plainsql.config import DatabaseSource, Settings
from plainsql.errors import DatabaseUnavailable, QueryCanceled
from plainsql.queries import load_queries
from plainsql.runtime import _pool_common
from plainsql.runtime.pool import pool_statistics

UNREACHABLE = "postgresql://u:s3cret@127.0.0.1:1/nowhere"


def test_sync_pool_opens_serves_and_closes(plainsql_settings: Settings) -> None:
    with open_pool(plainsql_settings) as pool:
        with pool.connection() as conn:
            row = conn.execute("SELECT 1").fetchone()
        assert row == (1,)
        assert pool_statistics(pool)["pool_max"] == plainsql_settings.pool_max_size
    assert pool.closed


async def test_async_pool_opens_serves_and_closes(plainsql_settings: Settings) -> None:
    async with open_async_pool(plainsql_settings) as pool, pool.connection() as conn:
        cur = await conn.execute("SELECT 2")
        assert await cur.fetchone() == (2,)
    assert pool.closed


def test_connections_carry_application_name_and_statement_timeout(
    plainsql_settings: Settings,
) -> None:
    settings = replace(plainsql_settings, application_name="orders-api", statement_timeout_ms=1234)
    with open_pool(settings) as pool, pool.connection() as conn:
        name = conn.execute("SHOW application_name").fetchone()
        timeout = conn.execute("SHOW statement_timeout").fetchone()
    assert name == ("orders-api",)
    assert timeout == ("1234ms",)


def test_statement_timeout_cancels_a_long_query_as_query_canceled(
    plainsql_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path
    (folder / "slow.sql").write_text("-- name: get_slow()$\n-- Sleeps.\nSELECT pg_sleep(5);\n")
    queries = load_queries(folder)
    settings = replace(plainsql_settings, statement_timeout_ms=100)
    with (
        open_pool(settings) as pool,
        pool.connection() as conn,
        pytest.raises(QueryCanceled) as caught,
    ):
        queries.get_slow(conn)
    assert caught.value.query_name == "get_slow"


def test_unreachable_server_fails_fast_naming_host_and_port(plainsql_settings: Settings) -> None:
    settings = replace(
        plainsql_settings,
        database_url=UNREACHABLE,
        source=DatabaseSource.ENVIRONMENT,
        connect_timeout=2,
    )
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as caught, open_pool(settings):
        pass
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "s3cret" not in message
    assert time.monotonic() - started < 10


async def test_async_pool_on_unreachable_server_raises_database_unavailable(
    plainsql_settings: Settings,
) -> None:
    settings = replace(
        plainsql_settings,
        database_url=UNREACHABLE,
        source=DatabaseSource.ENVIRONMENT,
        connect_timeout=2,
    )
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:1"):
        async with open_async_pool(settings):
            pass


def test_tcp_connections_carry_keepalives_and_a_user_timeout_past_the_statement_timeout(
    plainsql_settings: Settings,
) -> None:
    from plainsql.server import session_options

    options = session_options(replace(plainsql_settings, statement_timeout_ms=2_000))
    assert options["keepalives"] == 1
    assert options["tcp_user_timeout"] == 12_000
    assert "tcp_user_timeout" not in session_options(
        replace(plainsql_settings, statement_timeout_ms=0)
    )


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a server frozen, or
    something that is not PostgreSQL): the connect timeout is all that ends a wait on it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes the handshakes; nobody ever reads
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_a_server_that_never_answers_fails_open_pool_with_plainsql_error(
    plainsql_settings: Settings, silent_server: int, flavour: str
) -> None:
    settings = replace(
        plainsql_settings,
        database_url=f"postgresql://u:s3cret@localhost:{silent_server}/nowhere",
        source=DatabaseSource.ENVIRONMENT,
        connect_timeout=2,
        pool_min_size=2,
    )

    async def open_it() -> None:
        if flavour == "sync":
            with open_pool(settings):
                pass
        else:
            async with open_async_pool(settings):
                pass

    with pytest.raises(DatabaseUnavailable) as caught:
        # The test's own bound is generous: what is asserted is the error, not a time.
        await asyncio.wait_for(open_it(), timeout=120)
    assert f"localhost:{silent_server}" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_superuser_login_with_a_transaction_role_is_warned_about_once(
    plainsql_settings: Settings,
    plainsql_database_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pool_common, "_warned", set())
    member, group = f"plainsql_member_{os.getpid()}", f"plainsql_group_{os.getpid()}"
    with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
        superuser = admin.info.parameter_status("is_superuser") == "on"
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                sql.Identifier(member), sql.Identifier(group)
            )
        )
    try:
        acting = replace(plainsql_settings, transaction_role=group)
        with caplog.at_level(logging.WARNING, logger="plainsql.pool"):
            # The production setup: a login role that is only a member of the group role.
            member_url = make_conninfo(plainsql_database_url, user=member)
            with open_pool(acting, member_url):
                pass
            assert not [r for r in caplog.records if "superuser" in r.getMessage()]
            for _ in range(2):
                with open_pool(acting):
                    pass
    finally:
        with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
            dropped = sql.SQL("DROP ROLE {}, {}")
            admin.execute(dropped.format(sql.Identifier(member), sql.Identifier(group)))
    warned = [r.getMessage() for r in caplog.records if "superuser" in r.getMessage()]
    if not superuser:
        pytest.skip("the test server's login role is no superuser: nothing to warn about")
    assert len(warned) == 1, warned
    assert "RESET ROLE" in warned[0]
    assert group in warned[0]
