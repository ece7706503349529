"""Every recipe of docs/zero-downtime.md, as written there: applied on a filled table, linted
(squawk and plainsql's rules, ``blocking-scan`` among them) and verified (rollbacks proven).

A recipe is a ``## `` section of the page; its migrations are the fenced blocks whose info
string is ``sql migrations/<file>``; the blocks of "The starting point" come first in each.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plainsql.config import Settings, load_settings
from plainsql.migrate.lint import lint_migrations
from plainsql.migrate.runner import Migrator
from plainsql.migrate.verify import verify_migrations
from plainsql.testing import TestServer

PAGE = Path(__file__).resolve().parents[3] / "docs" / "zero-downtime.md"
START = "The starting point"
_BLOCK = re.compile(r"^```sql (migrations/\S+)\n(.*?)^```$", re.M | re.S)


def recipes() -> dict[str, dict[str, str]]:
    """Section title -> {path: text} of its migration files, in page order."""
    found: dict[str, dict[str, str]] = {}
    for section in re.split(r"^## ", PAGE.read_text(), flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        found[title] = {m.group(1): m.group(2) for m in _BLOCK.finditer(section)}
    return found


RECIPES = [title for title in recipes() if title != START]


def test_the_page_has_the_five_recipes() -> None:
    assert RECIPES == [
        "Add a column",
        "Add NOT NULL",
        "Add a foreign key",
        "Change a type",
        "Add a unique constraint",
    ]
    assert all(len(recipes()[title]) >= 2 for title in RECIPES)


@pytest.fixture
def project(
    plainsql_server: TestServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    title = request.param
    pages = recipes()
    for path, text in {**pages[START], **pages[title]}.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(text)
    return load_settings(
        {"DATABASE_URL": plainsql_server.admin_conninfo, "PLAINSQL_PROJECT_DIR": str(tmp_path)}
    )


@pytest.mark.parametrize("project", RECIPES, indirect=True)
def test_each_recipe_applies_lints_clean_and_rolls_back(
    project: Settings, plainsql_empty_database_url: str
) -> None:
    with Migrator(project, plainsql_empty_database_url) as migrator:
        applied = migrator.migrate()
    assert len(applied) == len(migrator.files) >= 3
    assert [f.text() for f in lint_migrations(project)] == []
    report = verify_migrations(project)
    assert report.ok, [p.describe() for p in report.problems]
    assert all(not entry.scans for entry in report.locks)
