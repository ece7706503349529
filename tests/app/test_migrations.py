"""The reference applications' migrations, checked by plainsql's own tools (not re-implemented).

- ``plainsql verify``: every migration applies, rolls back to exactly the catalog before it
  (functions, triggers, grants and comments included) and applies again;
- ``plainsql lint``: squawk and plainsql's rules, among them every foreign key indexed,
  ``updated_at`` kept by its trigger, timestamptz only;
- the lock report (``plainsql migrate --dry-run``, ``verify``): every lock PostgreSQL's
  documentation says a statement takes is listed;
- ``plainsql check``: every named query in sql/ prepares on the migrated schema, its
  parameters typed by the server alone.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from plainsql import Settings
from plainsql.config import DatabaseSource
from plainsql.migrate.files import discover, split_statements
from plainsql.migrate.lint import code_only, lint_migrations
from plainsql.migrate.lockreport import lock_report
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


# What PostgreSQL's documentation says each statement takes ("Explicit Locking", and each
# command's page): the lock report, read from pg_locks, must list each of them.
# A table may be schema-qualified (the query cache's migration names public.teams).
_AE, _SRE, _T = "AccessExclusiveLock", "ShareRowExclusiveLock", r"((?:\w+\.)?\w+)"
_DOCUMENTED_LOCKS = [
    (rf"^create\s+table\s+(?:if\s+not\s+exists\s+)?{_T}", _AE),
    (rf"^create\s+(?:unique\s+)?index\s+(?!concurrently)\S+\s+on\s+(?:only\s+)?{_T}", "ShareLock"),
    (rf"^create\s+(?:constraint\s+)?trigger\s+.*?\bon\s+{_T}", _SRE),
    (rf"^create\s+policy\s+\w+\s+on\s+{_T}", _AE),
    (rf"^alter\s+table\s+{_T}\s+(?:enable|force)\s+row\s+level", _AE),
    (rf"^alter\s+table\s+{_T}\s+add\s+column", _AE),
    (rf"\breferences\s+{_T}", _SRE),
]


def test_the_lock_report_lists_every_documented_lock(settings: Settings) -> None:
    migrations = discover(settings.migrations_dir)
    report = lock_report(settings, [m.id for m in migrations])
    assert {e.migration_id for e in report} == {m.id for m in migrations}
    checked = 0
    for migration in migrations:
        entries = [e for e in report if e.migration_id == migration.id]
        statements = split_statements(code_only(migration.text))
        assert len(entries) == len(statements), migration.id
        for statement, entry in zip(statements, entries, strict=True):
            for pattern, mode in _DOCUMENTED_LOCKS:
                for table in re.findall(pattern, statement.text.strip(), re.I | re.S):
                    # Listed at the statement that first takes it: this one or one above.
                    taken = {
                        (lock.relation.removeprefix("public."), lock.mode)
                        for e in entries[: entry.index + 1]
                        for lock in e.locks
                    }
                    name = table.lower().removeprefix("public.")
                    assert (name, mode) in taken, (migration.id, entry.describe())
                    checked += 1
    assert checked > 100
