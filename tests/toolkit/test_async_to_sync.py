"""tools/async_to_sync.py: the sync adapter is derived from the async one, and CI notices drift."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "async_to_sync.py"
SOURCE = "src/plainsql/runtime/_adapter_async.py"
DERIVED = "src/plainsql/runtime/_adapter.py"

pytestmark = pytest.mark.standalone

KEYWORDS = {"async", "await", "Awaitable"}


def _twins() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("async_to_sync", TOOL)
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    twins: dict[str, str] = tool.TWINS
    return twins


def _copy(tmp_path: Path) -> Path:
    for name in [n for pair in _twins().items() for n in pair]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_checked_in_sync_adapter_is_derived_from_the_async_one() -> None:
    result = _check(REPO)
    assert result.returncode == 0, result.stderr


def _tokens(path: Path) -> list[tokenize.TokenInfo]:
    with path.open() as f:
        return list(tokenize.generate_tokens(f.readline))


@pytest.mark.parametrize("source", sorted(_twins()))
def test_a_derived_file_keeps_the_comments_of_its_source(source: str) -> None:
    derived = _tokens(REPO / _twins()[source])
    kept = {t.string for t in derived if t.type == tokenize.COMMENT}
    wanted = [
        t.string.replace("an async ", "a sync ")
        for t in _tokens(REPO / source)
        if t.type == tokenize.COMMENT
    ]
    assert [c for c in wanted if c not in kept] == []
    assert not [t.string for t in derived if t.type == tokenize.NAME and t.string in KEYWORDS]


@pytest.mark.parametrize("source", sorted(_twins()))
def test_a_hand_edit_of_any_derived_file_fails_the_check(source: str, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    derived_name = _twins()[source]
    derived = root / derived_name
    derived.write_text(derived.read_text() + "# a hand edit\n")
    result = _check(root)
    assert result.returncode == 1
    assert f"{derived_name} differs from what tools/async_to_sync.py derives" in result.stderr


def test_a_hand_edit_of_the_derived_file_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    derived = root / DERIVED
    derived.write_text(derived.read_text().replace("return int(cur.rowcount)", "return 0", 1))
    result = _check(root)
    assert result.returncode == 1
    assert f"{DERIVED} differs from what tools/async_to_sync.py derives" in result.stderr


def test_an_edit_of_the_source_alone_fails_the_check_until_regenerated(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    source = root / SOURCE
    source.write_text(source.read_text().replace("return int(cur.rowcount)", "return -1", 1))
    assert _check(root).returncode == 1
    subprocess.run([sys.executable, str(TOOL), "--root", str(root)], check=True)
    assert _check(root).returncode == 0
    assert "return -1" in (root / DERIVED).read_text()
    assert "await" not in (root / DERIVED).read_text()
