"""The reference applications' migrations, checked by plainsql's own tools (not re-implemented).

- ``plainsql verify``: every migration applies, rolls back to exactly the catalog before it
  (functions, triggers, grants and comments included) and applies again;
- ``plainsql lint``: squawk and plainsql's rules, among them every foreign key indexed,
  ``updated_at`` kept by its trigger, timestamptz only;
- ``plainsql check``: every named query in sql/ prepares on the migrated schema, its
  parameters typed by the server alone.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from plainsql import Settings
from plainsql.config import DatabaseSource
from plainsql.migrate.files import discover
from plainsql.migrate.lint import lint_migrations
from plainsql.migrate.verify import verify_migrations
from plainsql.testing import TestServer
from plainsql.typegen.generate import run_check


@pytest.fixture
def settings(plainsql_server: TestServer) -> Settings:
    """The repository's settings, scratch databases on the test server."""
    return replace(
        plainsql_server.settings,
        database_url=plainsql_server.admin_conninfo,
        source=DatabaseSource.ENVIRONMENT,
    )


def test_every_migration_rolls_back_to_the_schema_before_it(settings: Settings) -> None:
    report = verify_migrations(settings)
    assert report.ok, [p.describe() for p in report.problems]
    assert len(report.checked) == len(discover(settings.migrations_dir))


def test_the_migrations_pass_lint(settings: Settings) -> None:
    assert [f.text() for f in lint_migrations(settings)] == []


def test_every_named_query_prepares(settings: Settings) -> None:
    result = run_check(settings)
    assert result.failures == []
    assert result.queries > 100
