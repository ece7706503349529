"""plainsql.testing: server choice falls back cleanly, and per-test databases are independent."""

from __future__ import annotations

import time

import psycopg
import pytest

from plainsql.testing import TestServer, _docker_answers, cloned_database


def test_no_docker_engine_is_detected_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    started = time.monotonic()
    assert _docker_answers() is False
    assert time.monotonic() - started < 10


def test_clones_of_the_template_are_independent(
    plainsql_server: TestServer, plainsql_template: str
) -> None:
    with (
        cloned_database(plainsql_server, plainsql_template) as first,
        cloned_database(plainsql_server, plainsql_template) as second,
    ):
        with psycopg.connect(plainsql_server.conninfo(first), autocommit=True) as conn:
            conn.execute("CREATE TABLE only_in_first (id int)")
        with psycopg.connect(plainsql_server.conninfo(second)) as conn:
            row = conn.execute("SELECT to_regclass('only_in_first')").fetchone()
            migrated = conn.execute("SELECT to_regclass('users')").fetchone()
    assert row == (None,)
    assert migrated == ("users",)
    with plainsql_server.admin() as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (first,))
        assert left.fetchone() == (0,), "a clone is dropped when its test ends"
