"""embedded.py: the embedded server starts on demand, is reused, stops, and keeps its data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from plainsql import embedded


@pytest.fixture
def pgdata(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "pgdata"
    yield folder
    embedded.stop(folder)


@pytest.mark.slow
def test_started_server_is_reused_and_keeps_data_across_restarts(pgdata: Path) -> None:
    assert not embedded.status(pgdata).running

    first = embedded.start(pgdata)
    assert first.running
    with psycopg.connect(embedded.url_for(first), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")

    again = embedded.start(pgdata)
    assert again.pid == first.pid, "a running server must be reused, not started twice"

    assert embedded.stop(pgdata) is True
    assert not embedded.status(pgdata).running
    assert first.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(first.pid, 0)

    restarted = embedded.start(pgdata)
    assert restarted.pid != first.pid
    with psycopg.connect(embedded.url_for(restarted)) as conn:
        row = conn.execute("SELECT note FROM kept").fetchone()
    assert row == ("still here",)


def test_stopping_a_server_that_is_not_running_says_so(tmp_path: Path) -> None:
    assert embedded.stop(tmp_path / "never-started") is False
