"""cli.py: the real `plainsql` command, run as a subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

REPO = Path(__file__).resolve().parents[2]


def plainsql(
    *args: str, database_url: str | None = None, cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_URL"))}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "plainsql", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def migration_ids() -> list[str]:
    return sorted(
        p.name.removesuffix(".sql")
        for p in (REPO / "migrations").glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )


def test_migrate_lists_what_it_applied_then_has_nothing_to_do(
    plainsql_empty_database_url: str,
) -> None:
    first = plainsql("migrate", database_url=plainsql_empty_database_url)
    assert first.returncode == 0, first.stderr
    applied = [line.split()[1] for line in first.stdout.splitlines() if line.startswith("applied")]
    assert applied == migration_ids()

    second = plainsql("migrate", database_url=plainsql_empty_database_url)
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout


def test_rollback_undoes_the_last_and_migrate_reapplies_it(
    plainsql_empty_database_url: str,
) -> None:
    assert plainsql("migrate", database_url=plainsql_empty_database_url).returncode == 0
    last = migration_ids()[-1]

    rolled = plainsql("rollback", database_url=plainsql_empty_database_url)
    assert rolled.returncode == 0, rolled.stderr
    assert f"rolled back {last}" in rolled.stdout

    status = json.loads(
        plainsql("status", "--json", database_url=plainsql_empty_database_url).stdout
    )
    states = {m["id"]: m["applied"] for m in status["migrations"]}
    assert states[last] is False
    assert all(applied for mid, applied in states.items() if mid != last)

    again = plainsql("migrate", database_url=plainsql_empty_database_url)
    assert f"applied {last}" in again.stdout


def test_rollback_all_and_dry_runs(plainsql_empty_database_url: str) -> None:
    assert plainsql("migrate", database_url=plainsql_empty_database_url).returncode == 0
    dry = plainsql("rollback", "--all", "--dry-run", database_url=plainsql_empty_database_url)
    said = [line.split()[4] for line in dry.stdout.splitlines() if line.startswith("-- would")]
    assert [mid.rstrip(":") for mid in said] == list(reversed(migration_ids()))
    last = migration_ids()[-1]
    assert (REPO / "migrations" / f"{last}.rollback.sql").read_text().strip() in dry.stdout
    everything = plainsql("rollback", "--all", database_url=plainsql_empty_database_url)
    assert everything.returncode == 0, everything.stderr
    status = json.loads(
        plainsql("status", "--json", database_url=plainsql_empty_database_url).stdout
    )
    assert not any(m["applied"] for m in status["migrations"])


def test_migrate_to_stops_at_the_given_migration(plainsql_empty_database_url: str) -> None:
    first_id = migration_ids()[0]
    result = plainsql("migrate", "--to", first_id[:4], database_url=plainsql_empty_database_url)
    assert result.returncode == 0, result.stderr
    status = json.loads(
        plainsql("status", "--json", database_url=plainsql_empty_database_url).stdout
    )
    assert [m["id"] for m in status["migrations"] if m["applied"]] == [first_id]


def test_status_json_lists_every_migration(plainsql_empty_database_url: str) -> None:
    result = plainsql("status", "--json", database_url=plainsql_empty_database_url)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [m["id"] for m in payload["migrations"]] == migration_ids()
    assert all(m["applied"] is False for m in payload["migrations"])
    assert all(m["rollback"] for m in payload["migrations"])


def test_wrong_password_dsn_fails_fast_names_host_and_hides_secret() -> None:
    started = time.monotonic()
    result = plainsql("status", database_url="postgresql://u:s3cret@127.0.0.1:1/x", timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "127.0.0.1:1" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert elapsed < 10


def test_db_url_masks_the_password() -> None:
    result = plainsql("db", "url", database_url="postgresql://u:s3cret@db.example:5432/app")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql://u:***@db.example:5432/app"


def test_db_status_reports_the_configured_server(plainsql_database_url: str) -> None:
    result = plainsql("db", "status", database_url=plainsql_database_url)
    assert result.returncode == 0, result.stderr
    assert "answers (PostgreSQL" in result.stdout


def test_new_writes_timestamped_pairs_that_never_clash(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_first.sql").write_text("-- first\nSELECT 1;\n")
    (tmp_path / "migrations" / "0001_first.rollback.sql").write_text("-- undo\nSELECT 1;\n")
    created = []
    for _ in range(2):  # twice in a row: usually the same second
        result = plainsql("--project-dir", str(tmp_path), "new", "Add orders table")
        assert result.returncode == 0, result.stderr
        created.append(result.stdout.split()[1])
    first, second = (Path(name).name.removesuffix(".sql") for name in created)
    assert first != second
    for migration_id in (first, second):
        number, slug = migration_id.split("_", 1)
        assert len(number) == 14, migration_id
        assert number.startswith("20"), migration_id
        assert slug == "add_orders_table"
        forward = tmp_path / "migrations" / f"{migration_id}.sql"
        backward = tmp_path / "migrations" / f"{migration_id}.rollback.sql"
        assert forward.read_text().startswith(f"-- {migration_id}:")
        assert backward.read_text().startswith(f"-- {migration_id} rollback:")
    from plainsql.migrate.files import discover

    assert [m.id for m in discover(tmp_path / "migrations")] == ["0001_first", first, second]


def test_a_failing_migration_names_its_file_and_keeps_nothing(
    tmp_path: Path, plainsql_empty_database_url: str
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_broken.sql").write_text(
        "-- broken on purpose\nCREATE TABLE kept_if_buggy (id int);\nCREATE TABLE oops (id nope);\n"
    )
    (folder / "0001_broken.rollback.sql").write_text("-- undo\nDROP TABLE kept_if_buggy;\n")
    result = plainsql(
        "--project-dir", str(tmp_path), "migrate", database_url=plainsql_empty_database_url
    )
    assert result.returncode == 1
    assert "0001_broken.sql" in result.stderr
    assert "nope" in result.stderr
    status = plainsql(
        "--project-dir", str(tmp_path), "status", database_url=plainsql_empty_database_url
    )
    assert "[pending] 0001_broken" in status.stdout
    import psycopg

    with psycopg.connect(plainsql_empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('kept_if_buggy')").fetchone() == (None,)


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["rollback", "--help"]])
def test_help_pages(args: list[str]) -> None:
    result = plainsql(*args)
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_conflicting_rollback_options_are_a_usage_error(plainsql_empty_database_url: str) -> None:
    result = plainsql("rollback", "--all", "--steps", "2", database_url=plainsql_empty_database_url)
    assert result.returncode == 2
    assert "only one of" in result.stderr


@pytest.mark.standalone
def test_db_psql_keeps_the_password_out_of_the_process_list(tmp_path: Path) -> None:
    server = "127.0.0.1:5432"
    try:
        psycopg.connect(f"postgresql://postgres@{server}/postgres", connect_timeout=3).close()
    except psycopg.Error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have PostgreSQL at {server}", pytrace=False)
        pytest.skip(f"no PostgreSQL answers at {server}")
    if shutil.which("psql") is None:
        pytest.skip("no psql on this machine")
    (tmp_path / "migrations").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres:s3cret-pw@{server}/postgres",
        "PLAINSQL_PROJECT_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "plainsql", "db", "psql", "-c", "SELECT pg_sleep(2)"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.0)  # plainsql has exec'd psql by now, in the same process
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    finally:
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert b"psql" in cmdline
    assert b"s3cret-pw" not in cmdline
    assert b"s3cret-pw" not in out + err


def test_dash_h_is_help() -> None:
    shown = plainsql("-h")
    assert shown.returncode == 0
    assert "Usage:" in shown.stdout
    assert "migrate" in shown.stdout


def test_migrate_to_an_applied_id_says_what_is_still_pending(
    plainsql_empty_database_url: str,
) -> None:
    first = migration_ids()[0]
    assert (
        plainsql("migrate", "--to", first, database_url=plainsql_empty_database_url).returncode == 0
    )
    again = plainsql("migrate", "--to", first, database_url=plainsql_empty_database_url)
    assert again.returncode == 0, again.stderr
    later = len(migration_ids()) - 1
    assert f"nothing to apply up to {first}: it is applied; {later} later migration(s)" in (
        again.stdout
    )


def test_an_unknown_id_suggests_the_closest_ones(plainsql_empty_database_url: str) -> None:
    wrong = migration_ids()[0].replace("_", "-", 1)
    result = plainsql("migrate", "--to", wrong, database_url=plainsql_empty_database_url)
    assert result.returncode == 1
    assert f"no migration {wrong!r}; did you mean {migration_ids()[0]}" in result.stderr
    assert "[" not in result.stderr, "no Python list of every id"


# -- output: aligned status, --quiet, colour, projects before servers, db status -------------


def _project(folder: Path) -> Path:
    (folder / "migrations").mkdir(parents=True)
    for migration_id, extra in (("0001_a", ""), ("20261128093000_a_longer_name", "")):
        (folder / "migrations" / f"{migration_id}.sql").write_text(
            f"-- {migration_id}: a table.\nCREATE TABLE t_{migration_id[:4]} ();\n{extra}"
        )
        (folder / "migrations" / f"{migration_id}.rollback.sql").write_text(
            f"DROP TABLE t_{migration_id[:4]};\n"
        )
    return folder


def test_status_columns_line_up_whatever_the_id_lengths(
    tmp_path: Path, plainsql_empty_database_url: str
) -> None:
    project = _project(tmp_path)
    migrate = plainsql(
        "--project-dir", str(project), "migrate", database_url=plainsql_empty_database_url
    )
    assert migrate.returncode == 0, migrate.stderr
    (project / "migrations" / "20261128100000_later.sql").write_text(
        "-- later.\n-- irreversible: test\nSELECT 1;\n"
    )
    result = plainsql(
        "--project-dir", str(project), "status", database_url=plainsql_empty_database_url
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("  [")]
    assert len(rows) == 3
    applied_at = [row.index("Z") for row in rows[:2]]  # the end of the timestamp column
    assert applied_at[0] == applied_at[1]
    assert rows[2].index("[irreversible]") == applied_at[0] + 3  # past an empty timestamp


def test_quiet_prints_nothing_but_results_and_errors(
    tmp_path: Path, plainsql_empty_database_url: str
) -> None:
    project = _project(tmp_path)
    quiet = plainsql(
        "--project-dir", str(project), "-q", "migrate", database_url=plainsql_empty_database_url
    )
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    loud = plainsql(
        "--project-dir", str(project), "rollback", database_url=plainsql_empty_database_url
    )
    assert "rolled back 20261128093000_a_longer_name" in loud.stdout
    (project / "migrations" / "0001_a.sql").write_text("-- edited\n")
    failed = plainsql(
        "--project-dir", str(project), "-q", "migrate", database_url=plainsql_empty_database_url
    )
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert "0001_a.sql changed after 0001_a was applied" in failed.stderr


def _in_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """stdout of ``plainsql args`` run with a pseudo-terminal as its stdout."""
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "plainsql", *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert done.returncode == 0, done.stderr
        return b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_colour_only_on_a_terminal_and_never_with_no_color(
    tmp_path: Path, plainsql_empty_database_url: str
) -> None:
    project = _project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "NO_COLOR"))}
    env["DATABASE_URL"] = plainsql_empty_database_url
    args = ["--project-dir", str(project), "status"]
    assert "\x1b[33m  [pending] 0001_a" in _in_a_terminal(args, env)  # yellow: pending
    assert "\x1b[" not in _in_a_terminal(args, {**env, "NO_COLOR": "1"})
    piped = plainsql(*args, database_url=plainsql_empty_database_url)
    assert "[pending] 0001_a" in piped.stdout
    assert "\x1b[" not in piped.stdout


@pytest.mark.parametrize(
    "command", [("migrate",), ("status",), ("seed",), ("verify",), ("db", "url"), ("baseline",)]
)
def test_a_folder_that_is_no_project_fails_before_any_server_starts(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = plainsql("--project-dir", str(tmp_path), *command)  # no DATABASE_URL: embedded
    assert result.returncode == 1
    assert f"{tmp_path.resolve()} is not a plainsql project" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no .plainsql/pgdata was created


@pytest.mark.slow
def test_db_status_lists_the_embedded_servers_started_from_the_checkout(tmp_path: Path) -> None:
    checkout, nested = tmp_path / "checkout", tmp_path / "checkout" / "examples" / "demo"
    (checkout / "migrations").mkdir(parents=True)
    (nested / "migrations").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_URL"))}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")

    def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "plainsql", "--project-dir", str(project), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    started = cli(nested, "db", "start")
    assert started.returncode == 0, started.stderr
    try:
        status = cli(checkout, "db", "status")
        assert status.returncode == 0, status.stderr
        assert "embedded PostgreSQL stopped" in status.stdout  # the checkout's own
        assert "started from this checkout, still running:" in status.stdout
        assert str(nested / ".plainsql" / "pgdata") in status.stdout
    finally:
        stopped = cli(nested, "db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert str(nested) not in cli(checkout, "db", "status").stdout


@pytest.mark.parametrize("command", [["status"], ["migrate"], ["rollback"]])
def test_a_login_role_that_cannot_use_the_migration_tables_gets_one_line(
    plainsql_database_url: str, command: list[str]
) -> None:
    role = f"plainsql_reader_{os.getpid()}_{command[0]}"
    with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        url = make_conninfo(plainsql_database_url, user=role)
        result = plainsql(*command, database_url=url)
    finally:
        with psycopg.connect(plainsql_database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: permission denied for table ")
    assert "migration tables" in errors[0]
