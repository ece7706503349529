"""The README's Python snippets run as written, on a migrated database of the test's own."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)


def test_the_readme_has_a_sync_and_an_async_snippet() -> None:
    assert len(SNIPPETS) >= 2
    assert any("asyncio.run(" in s for s in SNIPPETS)
    assert any("asyncio" not in s for s in SNIPPETS)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (SNIPPETS[0], "Ada MEMBER\n"),
        (SNIPPETS[1], "Grace False\ntaken: users_email_key\n"),
        (SNIPPETS[2], "('read committed', 'ops')\n"),
        (SNIPPETS[3], "[] 2 1\n1 1\n"),
    ],
    ids=["sync", "async", "unit-of-work", "cache"],
)
def test_a_readme_snippet_runs_as_written(
    snippet: str, expected: str, plainsql_database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PLAINSQL_"))}
    env["DATABASE_URL"] = plainsql_database_url
    result = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


PUBLIC_MODULES = {"plainsql.errors", "plainsql.testing"}  # besides `plainsql` itself


def _doc_snippets() -> list[tuple[str, str]]:
    """(file, snippet) for every Python snippet of the README and docs/."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for snippet in re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL):
            found.append((path.relative_to(REPO).as_posix(), snippet))
    return found


def _non_public_imports(snippet: str) -> list[str]:
    """Each import of plainsql in ``snippet`` that reaches past its public names."""
    import plainsql

    wrong = []
    for node in ast.walk(ast.parse(snippet)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("plainsql"):
            module = node.module or ""
            if module in PUBLIC_MODULES:
                continue
            names = [alias.name for alias in node.names]
            if module != "plainsql" or not set(names) <= set(plainsql.__all__):
                wrong.append(f"from {module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            wrong += [
                f"import {alias.name}"
                for alias in node.names
                if alias.name.startswith("plainsql.") and alias.name not in PUBLIC_MODULES
            ]
    return wrong


def test_readme_and_docs_snippets_import_only_public_names() -> None:
    snippets = _doc_snippets()
    assert any("from plainsql import" in snippet for _, snippet in snippets)
    wrong = {f"{where}: {line}" for where, s in snippets for line in _non_public_imports(s)}
    assert not wrong, "snippets must import from plainsql's __all__ only"


def test_the_snippet_check_refuses_an_internal_import() -> None:
    assert _non_public_imports("from plainsql.runtime.pool import open_pool\n") == [
        "from plainsql.runtime.pool import open_pool"
    ]
    assert _non_public_imports("from plainsql import _moved\n") == ["from plainsql import _moved"]
    assert _non_public_imports("import plainsql.queries\n") == ["import plainsql.queries"]
    assert _non_public_imports("from plainsql import AsyncDatabase, errors\n") == []
