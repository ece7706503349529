"""`plainsql backup`, `restore` and `backup --verify` on the shop project, on the test server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psycopg
import pytest

from plainsql.backup.tools import find_tools, table_progress
from plainsql.errors import BackupError

from ..fixtures import back_up, counts, ledger, run


def test_backup_then_restore_gives_the_same_rows_and_ledger_and_status_all_applied(
    project: Path, source: str, empty: str, tmp_path: Path
) -> None:
    before = counts(source), ledger(source)
    backup = back_up(project, source, tmp_path / "out")
    assert (counts(source), ledger(source)) == before, "the backup wrote into the database"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    manifest = backup.with_name(backup.name + ".manifest.json")
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600

    restored = run(project, empty, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert "restoring public.orders" in restored.output  # progress, table by table
    assert counts(empty) == counts(source)
    assert counts(empty)["public.orders"] == 90
    assert ledger(empty) == ledger(source)

    status = run(project, empty, "status", "--json")
    assert status.exit_code == 0, status.output
    shown = json.loads(status.output)
    assert [m["id"] for m in shown["migrations"]] == ["0001_shop", "0002_reader"]
    assert all(m["applied"] and not m["edited"] and not m["dirty"] for m in shown["migrations"])
    assert shown["applied_without_file"] == []


def test_directory_format_in_parallel_and_verified(
    project: Path, source: str, tmp_path: Path
) -> None:
    result = run(
        project, source, "backup", "--out", str(tmp_path), "--format", "directory", "--jobs", "2",
        "--verify",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "every table's row count and the migration ledger match" in result.output
    backup = Path(result.output.splitlines()[-1])
    assert backup.is_dir()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    files = [p for p in backup.iterdir() if p.is_file()]
    assert files
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    again = run(project, source, "backup", "--verify", str(backup))
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == str(backup)


def test_a_backup_with_one_byte_changed_is_refused_by_verify_and_restore(
    project: Path, source: str, empty: str, tmp_path: Path
) -> None:
    backup = back_up(project, source, tmp_path)
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup.write_bytes(bytes(data))

    verified = run(project, source, "backup", "--verify", str(backup))
    assert verified.exit_code == 1
    assert f"{backup} does not match its manifest" in verified.output
    restored = run(project, empty, "restore", str(backup))
    assert restored.exit_code == 1
    assert "does not match its manifest" in restored.output
    assert "nothing was restored" in restored.output
    assert counts(empty) == {}

    backup.with_name(backup.name + ".manifest.json").unlink()
    unlisted = run(project, empty, "restore", str(backup))
    assert unlisted.exit_code == 1
    assert "has no manifest" in unlisted.output


def test_restore_refuses_a_database_that_is_not_empty_unless_clean(
    project: Path, source: str, tmp_path: Path
) -> None:
    expected = counts(source)
    backup = back_up(project, source, tmp_path)
    with psycopg.connect(source) as conn:
        conn.execute("DELETE FROM orders WHERE item_id < 10")
    refused = run(project, source, "restore", str(backup))
    assert refused.exit_code == 1
    assert "is not empty" in refused.output
    assert "table public.items" in refused.output
    assert "--clean" in refused.output

    cleaned = run(project, source, "restore", "--clean", str(backup))
    assert cleaned.exit_code == 0, cleaned.output
    assert counts(source) == expected


def test_keep_prunes_the_older_backups_of_the_database(
    project: Path, source: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    made = [back_up(project, source, out, "--keep", "2") for _ in range(3)]
    assert len(set(made)) == 3  # names of backups taken in the same second differ
    left = sorted(p.name for p in out.iterdir())
    expected = sorted(n for p in made[1:] for n in (p.name, p.name + ".manifest.json"))
    assert left == expected


def test_the_default_folder_is_in_the_project_and_git_ignored(project: Path, source: str) -> None:
    result = run(project, source, "-q", "backup")
    assert result.exit_code == 0, result.output
    backup = Path(result.output.strip())  # quiet: the path alone
    assert backup.parent == project / "backups"
    assert (project / "backups" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_progress_counts_the_tables_a_tool_announces_and_nothing_else() -> None:
    said: list[str] = []
    on_line = table_progress("dumping contents of table ", "dumping", 2, said.append)
    for line in (
        'dumping contents of table "public.a"',
        "reading indexes",
        "dumping contents of table b",
    ):
        on_line(line)
    assert said == ["dumping public.a (1/2)", "dumping b (2/2)"]


def test_tools_older_than_the_server_are_refused() -> None:
    tools = find_tools(15)
    assert tools.major >= 15
    assert tools.pg_dump.parent == tools.pg_restore.parent
    with pytest.raises(BackupError, match=r"of one major version, 99 or newer") as caught:
        find_tools(99)
    assert f"pg_dump {tools.major}, pg_restore {tools.major}" in str(caught.value)


def test_the_pair_closest_to_the_server_is_taken() -> None:
    # A newer pg_dump's output may not load into an older server (pg_dump 17 and later write
    # SET transaction_timeout): a PostgreSQL 15 server gets PostgreSQL 15's tools where the
    # distribution installed them, else the oldest pair new enough.
    newest = find_tools(18)
    assert newest.major >= 18
    if Path("/usr/lib/postgresql/15/bin/pg_restore").is_file():
        assert find_tools(15).major == 15
    else:
        assert find_tools(15).major <= newest.major


def test_verify_fails_when_what_it_restored_differs_from_the_manifest(
    project: Path, source: str, tmp_path: Path
) -> None:
    backup = back_up(project, source, tmp_path)
    manifest = backup.with_name(backup.name + ".manifest.json")
    held = json.loads(manifest.read_text())
    held["row_counts"]["public.orders"] += 1
    held["ledger"]["_yoyo_migration"] = "2:" + "0" * 64
    manifest.write_text(json.dumps(held))

    verified = run(project, source, "backup", "--verify", str(backup))
    assert verified.exit_code == 1
    assert "public.orders: 91 rows in the backup, 90 restored" in verified.output
    assert "the migration ledger differs (_yoyo_migration)" in verified.output
