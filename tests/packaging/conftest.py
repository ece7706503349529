"""Fixtures of the packaging tests: plainsql's wheel, built once, and fresh virtual environments.

These tests build and install plainsql as a user would; they do not depend on which server the
main suite runs on, so they carry the ``standalone`` marker, are left out of ``make test`` and
run once, in their own CI step (``make test-standalone``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure, fail the test with its output (never a silent pass)."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    return result.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no database settings, no virtualenv of ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "PLAINSQL_", "DATABASE_URL", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """plainsql's wheel, built from this checkout as a release would be."""
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, REPO)
    (built,) = out.glob("plainsql-*.whl")
    return built


class Packaging:
    """What the packaging tests share: the built wheel, command running, fresh venvs."""

    run = staticmethod(run)
    clean_env = staticmethod(clean_env)

    def __init__(self, wheel: Path) -> None:
        self.wheel = wheel

    def fresh_venv(self, folder: Path, extras: str = "") -> Path:
        """A new virtual environment with plainsql (and ``extras``) installed from the wheel;
        returns its python."""
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
        python = folder / "bin" / "python"
        wheel = self.wheel
        requirement = f"plainsql[{extras}] @ {wheel.as_uri()}" if extras else str(wheel)
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement)
        return python


@pytest.fixture(scope="session")
def packaging(wheel: Path) -> Packaging:
    return Packaging(wheel)
