"""The README's Python snippets run as written, on a migrated database of the test's own."""

from __future__ import annotations

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
    ],
    ids=["sync", "async", "unit-of-work"],
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
