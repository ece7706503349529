"""seed.py: seed files run in one transaction, twice without change, and fail naming the file."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from plainsql.config import Settings
from plainsql.errors import SeedError
from plainsql.seed import run_seeds


def _row_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT LIKE '%yoyo%' ORDER BY 1"
            )
        ]
        return {
            t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])  # type: ignore[index]
            for t in tables
        }


def test_seeding_twice_leaves_the_same_rows(
    plainsql_settings: Settings, plainsql_database_url: str
) -> None:
    run = run_seeds(plainsql_settings)
    assert run.files, "the project ships seed files"
    first = _row_counts(plainsql_database_url)
    assert first["users"] >= 3
    run_seeds(plainsql_settings)
    assert _row_counts(plainsql_database_url) == first


def test_a_failing_seed_file_is_named_and_keeps_nothing(
    plainsql_settings: Settings, plainsql_database_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(plainsql_settings.project_dir / "migrations", project / "migrations")
    (project / "seeds").mkdir()
    (project / "seeds" / "0001_good.sql").write_text(
        "INSERT INTO users (id, name, email) VALUES ('u1', 'U', 'u1@example.com');\n"
    )
    (project / "seeds" / "0002_bad.sql").write_text(
        "-- a comment\nINSERT INTO users (id, name, email)\nVALUES ('u2', 'U', nonsense);\n"
    )
    settings = replace(plainsql_settings, project_dir=project)
    with pytest.raises(SeedError) as caught:
        run_seeds(settings)
    assert "0002_bad.sql:3" in str(caught.value)
    with psycopg.connect(plainsql_database_url) as conn:
        count = conn.execute("SELECT count(*) FROM users WHERE id = 'u1'").fetchone()
    assert count == (0,)


def test_seed_says_what_it_wrote_and_that_a_second_run_changed_nothing(
    tmp_path: Path, plainsql_empty_database_url: str
) -> None:
    from click.testing import CliRunner

    from plainsql.cli import cli

    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_t.sql").write_text(
        "-- 0001_t: a table.\nCREATE TABLE t (id int PRIMARY KEY, name text);\n"
    )
    (tmp_path / "migrations" / "0001_t.rollback.sql").write_text("DROP TABLE t;\n")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "0001_t.sql").write_text(
        "INSERT INTO t VALUES (1, 'a'), (2, 'b') ON CONFLICT DO NOTHING;\n"
    )

    def run(*args: str) -> str:
        result = CliRunner().invoke(
            cli,
            ["--project-dir", str(tmp_path), *args],
            env={"DATABASE_URL": plainsql_empty_database_url},
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    run("migrate")
    first = run("seed")
    assert "seeded seeds/0001_t.sql: 2 row(s) written" in first
    assert "nothing changed" not in first
    second = run("seed")
    assert "seeded seeds/0001_t.sql: no change" in second
    assert "seed: nothing changed" in second
