"""Shared test helpers. The database fixtures come from plainsql's pytest plugin, and the
tests use them under the plugin's own names (``plainsql_conn``, ``plainsql_async_db`` ...);
``pgbouncer`` (standalone tests only) puts the distribution's PgBouncer in front of a cluster
of the test session's own."""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ForwardRef, Literal, Union, get_args, get_origin, get_type_hints

import psycopg
import pytest
from psycopg import sql

from plainsql import embedded
from plainsql.testing import unique_name

Conforms = Callable[[object, Any, Mapping[str, Any]], bool]


@pytest.fixture
def server_folder() -> Iterator[Path]:
    """A folder for a cluster a test starts itself, which the server's unprivileged user can
    enter: outside pytest's own temporary folders, which any pytest started meanwhile (another
    checkout's) makes private to root."""
    made = Path(tempfile.mkdtemp(prefix="plainsql-cluster-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def conforms() -> Conforms:
    """``conforms(value, hint, namespace)``: whether a value fits a generated annotation, for
    the soundness tests of typegen's test project and of the application alike."""
    return _conforms


def _conforms(value: object, hint: Any, namespace: Mapping[str, Any]) -> bool:
    """Whether ``value`` is of type ``hint`` (the subset of typing the generator writes); names
    in ``hint`` are looked up in ``namespace`` (the generated records and queries)."""
    if isinstance(hint, str | ForwardRef):
        hint = eval(hint if isinstance(hint, str) else hint.__forward_arg__, dict(namespace))
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg, namespace) for arg in get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if origin is Literal:
        return value in get_args(hint)
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_conforms(v, item, namespace) for v in value)
    if origin is dict:
        key, item = get_args(hint)
        return isinstance(value, dict) and all(
            _conforms(k, key, namespace) and _conforms(v, item, namespace) for k, v in value.items()
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = get_type_hints(hint, dict(namespace))
        return type(value) is hint and all(
            _conforms(getattr(value, f), t, namespace) for f, t in fields.items()
        )
    if hint is int:
        return type(value) is int  # not a bool
    return isinstance(hint, type) and isinstance(value, hint)


# -- PgBouncer in transaction mode, in front of an embedded cluster of the session's own ------

BOUNCER_POOL_SIZE = 4  # server connections per database: fewer than the tests' clients


@dataclasses.dataclass(frozen=True)
class _Bouncer:
    port: int
    pgdata: Path
    pid: int

    def admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(embedded.url_for(embedded.status(self.pgdata)), autocommit=True)


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def _pgbouncer_server() -> Iterator[_Bouncer]:
    """An embedded cluster (as the fault tests start one) and PgBouncer (Debian's package,
    ``.ci/run`` installs it) in transaction mode in front of it, on a TCP port of its own, run
    as the cluster's unprivileged owner (PgBouncer refuses root; the owner can reach the
    server's socket inside its data folder). Every database of the cluster is reachable
    through it (``* =``), each with a pool of BOUNCER_POOL_SIZE server connections."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if binary is None:
        _missing("pgbouncer is not installed (apt-get install pgbouncer)")
    assert binary is not None
    # Outside pytest's tmp_path, whose parents are closed to other users.
    folder = Path(tempfile.mkdtemp(prefix="plainsql-bouncer-"))
    folder.chmod(0o755)
    pgdata = folder / "pgdata"
    state = embedded.start(pgdata)
    config = folder / "bouncer"
    config.mkdir()
    port = _free_port()
    (config / "users.txt").write_text('"postgres" ""\n')
    (config / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={state.socket_dir} port={state.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {config}/users.txt\n"
        f"pool_mode = transaction\ndefault_pool_size = {BOUNCER_POOL_SIZE}\n"
        "max_client_conn = 200\n"
        f"logfile = {config}/pgbouncer.log\npidfile = {config}/pgbouncer.pid\n"
    )
    for path in (config, *config.iterdir()):
        path.chmod(0o777)
    as_owner = ["-u", pwd.getpwuid(pgdata.stat().st_uid).pw_name] if os.geteuid() == 0 else []
    process = subprocess.Popen(
        [binary, *as_owner, str(config / "pgbouncer.ini")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
                ).close()
                break
            except psycopg.Error:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = config / "pgbouncer.log"
                    text = log.read_text()[-2000:] if log.exists() else ""
                    pytest.fail(f"pgbouncer did not start: {text}", pytrace=False)
                time.sleep(0.2)
        yield _Bouncer(port, pgdata, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
        embedded.stop(pgdata)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pgbouncer(_pgbouncer_server: _Bouncer) -> Iterator[tuple[str, str]]:
    """(URL through PgBouncer, direct URL) of an empty database of this test's own."""
    name = unique_name("plainsql_bouncer")
    with _pgbouncer_server.admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    direct = embedded.url_for(embedded.status(_pgbouncer_server.pgdata), name)
    try:
        yield f"postgresql://postgres@127.0.0.1:{_pgbouncer_server.port}/{name}", direct
    finally:
        with _pgbouncer_server.admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def pgbouncer_pid(_pgbouncer_server: _Bouncer) -> int:
    """The process id of the session's PgBouncer (a test may SIGSTOP it, and must SIGCONT it)."""
    return _pgbouncer_server.pid
