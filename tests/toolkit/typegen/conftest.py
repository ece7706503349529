"""Fixtures of typegen's tests: a small project of its own (tests/typegen/project) on the server.

The project has its own migrations (a library schema made to exercise nullability), its own
sql/ and its generated package ``library_types``, which the tests import (as
``.project.library_types``) and ``make lint`` type-checks.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from plainsql.cli import cli
from plainsql.config import DatabaseSource, Settings
from plainsql.testing import TestServer
from plainsql.typegen.describe import load_sources
from plainsql.typegen.generate import describe_queries, migrated_scratch
from plainsql.typegen.model import Model

PROJECT = Path(__file__).parent / "project"

RunCli = Callable[..., Result]


def project_settings(server: TestServer, project_dir: Path) -> Settings:
    """Settings for ``project_dir`` whose server is the test server (scratch databases on it)."""
    return replace(
        server.settings,
        project_dir=project_dir,
        database_url=server.admin_conninfo,
        source=DatabaseSource.ENVIRONMENT,
    )


@pytest.fixture(scope="session")
def library_settings(plainsql_server: TestServer) -> Settings:
    return project_settings(plainsql_server, PROJECT)


@pytest.fixture(scope="session")
def library_model(library_settings: Settings) -> Model:
    """What typegen makes of the library project's queries (described once per session)."""
    model, failures = describe_queries(library_settings, load_sources(library_settings.sql_dir))
    assert failures == []
    return model


@pytest.fixture(scope="module")
def library_url(library_settings: Settings) -> Iterator[str]:
    """A database migrated by the library project's migrations, for this test module."""
    with migrated_scratch(library_settings) as conninfo:
        yield conninfo


@pytest.fixture
def library_conn(library_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the library database; everything it does is rolled back."""
    with psycopg.connect(library_url) as conn:
        yield conn
        conn.rollback()


@pytest.fixture
async def library_aconn(library_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(library_url) as conn:
        yield conn
        await conn.rollback()


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the library project to edit (SQL, migrations, generated package)."""
    target = tmp_path / "project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns(".plainsql", "__pycache__"))
    return target


@pytest.fixture
def run_cli(plainsql_server: TestServer) -> RunCli:
    """``run_cli(project_dir, "typegen", "--check")``: the real command, on the test server."""

    def run(project_dir: Path, *args: str) -> Result:
        runner = CliRunner()
        env = {"DATABASE_URL": plainsql_server.admin_conninfo, "PLAINSQL_PROJECT_DIR": ""}
        return runner.invoke(cli, ["--project-dir", str(project_dir), *args], env=env)

    return run
