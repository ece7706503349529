"""Backups across clusters of the test's own: a restore into a cluster that has never seen the
project's roles, and a backup with a password that no process's argv may show.

A second embedded cluster is started (as the runtime fault tests do), so these tests run once,
in ``make test-standalone``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from plainsql import embedded

from ..fixtures import SHOP_READER, back_up, counts, fill_shop, ledger, run

pytestmark = [pytest.mark.standalone, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")]

LOGIN = "plainsql_test_backup_login"
PASSWORD = "s3cret:pass\\word-in-no-argv"  # a colon and a backslash: the passfile escapes both


@pytest.fixture(scope="module")
def bare() -> Iterator[Path]:
    """A new embedded cluster: only its bootstrap superuser, none of the project's roles."""
    folder = Path(tempfile.mkdtemp(prefix="plainsql-backup-"))
    folder.chmod(0o755)
    pgdata = folder / "pgdata"
    embedded.start(pgdata)
    try:
        yield pgdata
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(folder, ignore_errors=True)


def url(pgdata: Path, dbname: str, user: str = "postgres", password: str | None = None) -> str:
    state = embedded.status(pgdata)
    assert state.socket_dir is not None
    login = quote(user) + (f":{quote(password, safe='')}" if password else "")
    host = quote(str(state.socket_dir), safe="/")
    return f"postgresql://{login}@/{dbname}?host={host}&port={state.port or 5432}"


def admin(pgdata: Path, *statements: str) -> None:
    with psycopg.connect(url(pgdata, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def test_a_restore_into_a_cluster_without_the_roles_creates_them(
    bare: Path, project: Path, source: str, tmp_path: Path
) -> None:
    backup = back_up(project, source, tmp_path)
    admin(bare, "CREATE DATABASE shop")
    target = url(bare, "shop")
    with psycopg.connect(url(bare, "postgres")) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s", (SHOP_READER,)
        ).fetchone() == (0,)

    restored = run(project, target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert f"created role {SHOP_READER} (NOLOGIN)" in restored.output
    assert counts(target) == counts(source)
    assert ledger(target) == ledger(source)
    with psycopg.connect(target) as conn:
        assert conn.execute(
            "SELECT rolcanlogin, has_table_privilege(rolname, 'items', 'SELECT')"
            " FROM pg_roles WHERE rolname = %s",
            (SHOP_READER,),
        ).fetchone() == (False, True)
    status = json.loads(run(project, target, "status", "--json").output)
    assert all(m["applied"] and not m["edited"] and not m["dirty"] for m in status["migrations"])

    # Another login, not a superuser: it cannot give the objects to their owner, so the
    # restore refuses, naming the way out; with --no-owner it owns them itself.
    admin(
        bare,
        "CREATE ROLE plainsql_test_restorer LOGIN CREATEROLE",
        "CREATE DATABASE shop_other OWNER plainsql_test_restorer",
    )
    other = url(bare, "shop_other", user="plainsql_test_restorer")
    refused = run(project, other, "restore", str(backup))
    assert refused.exit_code == 1
    assert "the backup's objects are owned by" in refused.output
    assert "--no-owner" in refused.output
    assert counts(other) == {}
    owned = run(project, other, "restore", "--no-owner", str(backup))
    assert owned.exit_code == 0, owned.output
    assert counts(other) == counts(source)
    with psycopg.connect(other) as conn:
        assert conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'items'"
        ).fetchone() == ("plainsql_test_restorer",)


def _pg_dumps_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"pg_dump" in cmdline:
            found.append(int(entry.name))
    return found


def _every_cmdline() -> bytes:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" "))
            except OSError:
                continue
    return b"\n".join(lines)


def test_the_password_is_in_no_process_argv_during_a_backup(
    bare: Path, project: Path, tmp_path: Path
) -> None:
    admin(
        bare,
        f"CREATE ROLE {LOGIN} LOGIN SUPERUSER PASSWORD '{PASSWORD}'",
        f"CREATE DATABASE shop_secret OWNER {LOGIN}",
    )
    hba = bare / "pg_hba.conf"
    hba.write_text(f"local all {LOGIN} scram-sha-256\n" + hba.read_text())
    admin(bare, "SELECT pg_reload_conf()")
    with pytest.raises(psycopg.OperationalError):  # the password is needed: none, no login
        psycopg.connect(url(bare, "shop_secret", user=LOGIN)).close()
    secret_url = url(bare, "shop_secret", user=LOGIN, password=PASSWORD)
    assert run(project, secret_url, "migrate").exit_code == 0
    fill_shop(secret_url)

    # A transaction holding a lock on items keeps pg_dump waiting, so it is seen running.
    with psycopg.connect(url(bare, "shop_secret")) as holder:
        holder.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        process = subprocess.Popen(
            [sys.executable, "-m", "plainsql", "--project-dir", str(project), "backup",
             "--out", str(tmp_path)],
            env={**os.environ, "DATABASE_URL": secret_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60  # a guard against a hang, not a timing assertion
            dumps: list[int] = []
            while not dumps and process.poll() is None and time.monotonic() < deadline:
                dumps = _pg_dumps_of(process.pid)
                time.sleep(0.05)
            assert dumps, "pg_dump was never seen running"
            seen = _every_cmdline()
            environ = Path(f"/proc/{dumps[0]}/environ").read_bytes()
        finally:
            holder.rollback()
            out, err = process.communicate(timeout=120)
    assert b"pg_dump" in seen
    for form in (PASSWORD, quote(PASSWORD, safe="")):
        assert form.encode() not in seen
        assert form.encode() not in environ
        assert form.encode() not in out + err
    assert b"PGPASSFILE=" in environ
    assert process.returncode == 0, err.decode()
    assert Path(out.decode().splitlines()[-1]).is_file()
