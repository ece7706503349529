"""The backup tests' fixtures: the shop project, a database it built with rows, an empty one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plainsql.server import scratch_database
from plainsql.testing import TestServer

from ..fixtures import fill_shop, run, write_shop_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_shop_project(tmp_path / "shop")


@pytest.fixture
def source(plainsql_server: TestServer, project: Path) -> Iterator[str]:
    """A database built by the shop project's migrations, with rows."""
    with scratch_database(
        plainsql_server.settings, "test", conninfo=plainsql_server.admin_conninfo
    ) as conninfo:
        migrated = run(project, conninfo, "migrate")
        assert migrated.exit_code == 0, migrated.output
        fill_shop(conninfo)
        yield conninfo


@pytest.fixture
def empty(plainsql_server: TestServer) -> Iterator[str]:
    """A fresh database: nothing restored into it yet."""
    with scratch_database(
        plainsql_server.settings, "test", conninfo=plainsql_server.admin_conninfo
    ) as conninfo:
        yield conninfo
