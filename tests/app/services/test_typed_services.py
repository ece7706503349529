"""The services stand on the generated types: no dict-row lookup, no record written twice, no
``Any``; a renamed column is a mypy error in the service that uses it."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reference_apps.db.records as records
import reference_apps.services as services

REPO = Path(__file__).resolve().parents[3]
SERVICES_DIR = REPO / "src" / "reference_apps" / "services"
SERVICE_FILES = sorted(SERVICES_DIR.glob("*.py"))


def _generated_records() -> dict[str, set[str]]:
    return {
        name: {f.name for f in dataclasses.fields(cls)}
        for name, cls in vars(records).items()
        if inspect.isclass(cls) and dataclasses.is_dataclass(cls)
    }


def test_no_service_looks_a_column_up_by_name_in_a_row() -> None:
    found = []
    for path in SERVICE_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Subscript):
                continue
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.append(f"{path.name}:{node.lineno}: [{key.value!r}]")
    assert found == [], "services read records' attributes, not dict rows"


def test_no_service_defines_a_dataclass_mirroring_a_generated_record() -> None:
    generated = _generated_records()
    mirrors = []
    for module_info in pkgutil.iter_modules(services.__path__):
        module = importlib.import_module(f"{services.__name__}.{module_info.name}")
        for name, cls in vars(module).items():
            if not (inspect.isclass(cls) and dataclasses.is_dataclass(cls)):
                continue
            if cls.__module__ != module.__name__:
                continue  # a generated record re-exported under a domain name is fine
            fields = {f.name for f in dataclasses.fields(cls)}
            for record, record_fields in generated.items():
                if fields == record_fields or (len(record_fields) >= 3 and record_fields <= fields):
                    mirrors.append(f"{module_info.name}.{name} mirrors {record}")
    assert mirrors == []


def test_the_services_spell_no_any_cast_or_getattr() -> None:
    pattern = re.compile(r"\bAny\b|\bcast\(|\bgetattr\(")
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in SERVICE_FILES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def _mypy(*args: str, cwd: Path, mypypath: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "MYPYPATH": mypypath},
        check=False,
        timeout=600,
    )


@pytest.mark.standalone
def test_mypy_finds_no_any_expression_in_the_services(tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = _mypy(
        "--any-exprs-report", str(report), str(SERVICES_DIR), cwd=REPO, mypypath=str(REPO / "src")
    )
    assert result.returncode == 0, result.stdout
    total = (report / "any-exprs.txt").read_text().splitlines()[-1].split()
    assert total[0] == "Total"
    assert int(total[1]) == 0, (report / "any-exprs.txt").read_text()
    assert int(total[2]) > 1000, "the report counted the services' expressions"


@pytest.mark.standalone
def test_renaming_a_record_field_is_a_mypy_error_in_the_service_using_it(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "src" / "reference_apps"
    shutil.copytree(REPO / "src" / "reference_apps", copy, ignore=shutil.ignore_patterns("__py*"))
    generated = copy / "db" / "records.py"
    text = generated.read_text()
    user_row = text.index("class UserRow:")
    renamed = text[:user_row] + text[user_row:].replace("    id: str\n", "    user_id: str\n", 1)
    assert renamed != text
    generated.write_text(renamed)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    result = _mypy(
        "--config-file",
        str(tmp_path / "pyproject.toml"),
        "-p",
        "reference_apps.services",
        cwd=tmp_path,
        mypypath=os.pathsep.join([str(tmp_path / "src"), str(REPO / "src")]),
    )
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert errors, result.stdout
    assert all("reference_apps/services/" in line for line in errors), errors
    assert any('"UserRow" has no attribute "id"' in line for line in errors), errors
