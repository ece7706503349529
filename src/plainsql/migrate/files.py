"""The migrations on disk: discovery, header directives, checksums, and where an offset lies.

Layout: ``migrations/<number>_slug.sql`` with ``<number>_slug.rollback.sql`` beside it; the id
of a migration is its file name without ``.sql``. The number is either four digits (``0007``,
the sequence plainsql used first) or a UTC timestamp of fourteen (``20261128093000``, what
``plainsql new`` writes: two branches adding a migration each do not pick the same one).
Migrations run in the order of their number read as an integer, so every ``NNNN`` file
comes before every timestamped one (see :func:`order_key`). Two files with the same number
are refused, naming both. Directives live in the leading comment block of
the forward file (yoyo reads the same block):

- ``-- transactional: false``: run statement by statement outside a transaction (yoyo's own
  directive; needed for ``CREATE INDEX CONCURRENTLY``);
- ``-- irreversible: <reason>``: the migration has no rollback file on purpose; rolling it
  back is refused with the reason. A migration with neither a rollback file nor this
  directive is refused by ``plainsql migrate``;
- ``-- squashes: ID ID ...``: written by ``plainsql squash``: this migration replaced those
  (a database that applied them all records this one as applied instead).

Statement splitting here is for *reporting* and for non-transactional migrations only: a
transactional migration is sent to the server as one unit (see :mod:`plainsql.migrate.runner`).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

from plainsql._sqltext import TokenKind, tokenize
from plainsql.errors import MigrationError, UnterminatedError

MIGRATION_NAME = re.compile(r"^(?P<number>\d{4}|\d{14})_(?P<slug>[a-z0-9_]+)$")
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
ROLLBACK_SUFFIX = ".rollback.sql"

_DIRECTIVE = re.compile(r"^\s*--\s*(?P<name>[a-z_]+)\s*:\s*(?P<value>.*?)\s*$")
_COMMENT_OR_BLANK = re.compile(r"^\s*(--.*)?$")
# Inside a statement, these open and close a block whose semicolons do not end it:
# BEGIN ATOMIC ... END (SQL-standard function bodies) and CASE ... END.
_BLOCK_WORDS = re.compile(r"(;)|\b(begin\s+atomic|case|end)\b", re.IGNORECASE)
_TRANSACTION_CONTROL = re.compile(
    r"^(begin|commit|rollback|end|abort|start\s+transaction|savepoint|release)\b(?!\s+atomic)",
    re.IGNORECASE,
)
_CONCURRENTLY = re.compile(
    r"^(create\s+(unique\s+)?index\s+concurrently|drop\s+index\s+concurrently"
    r"|reindex\s+(\(.*?\)\s*)?(index|table|schema|database|system)\s+concurrently"
    r"|alter\s+table\s+.*\s+detach\s+partition\s+.*\s+concurrently)\b",
    re.IGNORECASE | re.DOTALL,
)


def number_of(migration_id: str) -> str:
    """The number an id starts with: ``0007`` of ``0007_users``, the timestamp of a new one."""
    return migration_id.split("_", 1)[0]


def order_key(migration_id: str) -> tuple[int, str]:
    """Where a migration sorts: its number as an integer, then its id.

    As integers, ``0001``..``9999`` sort before every fourteen-digit timestamp, so a project
    that started with sequential numbers keeps its order when it moves to timestamps. An id
    that is not a migration name (a row yoyo wrote by other means) sorts last.
    """
    number = number_of(migration_id)
    return (int(number), migration_id) if number.isdigit() else (10**15, migration_id)


def sha256_of(path: Path | None) -> str | None:
    """Hex sha256 of a file's bytes, None for no file."""
    if path is None:
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class Statement:
    """One top-level statement of a file: ``start``/``end`` are offsets into the file text."""

    index: int
    start: int
    end: int
    text: str

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""


def without_concurrently(text: str) -> str:
    """``text`` with the CONCURRENTLY of each statement that has one dropped (``CREATE INDEX
    CONCURRENTLY`` becomes ``CREATE INDEX``), so that it can run inside one transaction: the
    squash's rollback of a migration that ran outside one (the rollback undoes the whole early
    schema, where building without blocking writes buys nothing)."""
    parts: list[str] = []
    pos = 0
    for statement in split_statements(text):
        head = statement.text.lstrip()
        match = _CONCURRENTLY.match(head)
        if match is None:
            continue
        end = statement.start + (len(statement.text) - len(head)) + match.end()
        start = end - len("concurrently")
        parts.append(text[pos:start].rstrip(" \t"))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def split_statements(text: str) -> list[Statement]:
    """The top-level statements of ``text``, comments before a statement excluded.

    Quotes, dollar quotes and comments are skipped by :func:`plainsql._sqltext.tokenize`;
    semicolons inside ``BEGIN ATOMIC ... END`` and ``CASE ... END`` do not split.
    """
    statements: list[Statement] = []
    start: int | None = None
    depth = 0

    def close(end: int) -> None:
        nonlocal start
        if start is not None:
            statements.append(Statement(len(statements), start, end, text[start:end]))
        start = None

    for token in tokenize(text):
        if token.kind in (TokenKind.LINE_COMMENT, TokenKind.BLOCK_COMMENT):
            continue
        if token.kind is not TokenKind.CODE:
            if start is None:
                start = token.start
            continue
        pos = 0
        body = token.text
        for match in _BLOCK_WORDS.finditer(body):
            if start is None:
                lead = body[pos : match.start()]
                stripped = len(lead) - len(lead.lstrip())
                if lead.strip():
                    start = token.start + pos + stripped
            if match.group(1):  # a semicolon
                if depth == 0:
                    close(token.start + match.end())
            else:
                if start is None:
                    start = token.start + match.start()
                word = match.group(2).lower()
                if word == "end":
                    depth = max(0, depth - 1)
                else:
                    depth += 1
            pos = match.end()
        rest = body[pos:]
        if start is None and rest.strip():
            start = token.start + pos + (len(rest) - len(rest.lstrip()))
    close(len(text))
    return [s for s in statements if s.text.strip().strip(";").strip()]


def location(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def statement_at(statements: list[Statement], offset: int) -> Statement | None:
    """The statement holding character ``offset`` (or the one just before it)."""
    found: Statement | None = None
    for statement in statements:
        if statement.start <= offset:
            found = statement
        else:
            break
    return found


@dataclass(frozen=True)
class MigrationFile:
    """One migration on disk."""

    id: str
    path: Path
    rollback_path: Path | None

    @property
    def number(self) -> str:
        return number_of(self.id)

    @property
    def order(self) -> tuple[int, str]:
        return order_key(self.id)

    @cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def rollback_text(self) -> str | None:
        if self.rollback_path is None:
            return None
        return self.rollback_path.read_text(encoding="utf-8")

    @cached_property
    def directives(self) -> dict[str, str]:
        """``-- name: value`` lines of the leading comment block (before the first SQL)."""
        found: dict[str, str] = {}
        for line in self.text.splitlines():
            if not _COMMENT_OR_BLANK.match(line):
                break
            match = _DIRECTIVE.match(line)
            if match:
                name = match.group("name").lower()
                value = match.group("value")
                found[name] = f"{found[name]} {value}" if name in found else value
        return found

    @property
    def transactional(self) -> bool:
        value = self.directives.get("transactional", "true").strip().lower()
        if value not in ("true", "false"):
            raise MigrationError(
                f"{self.path.name}: '-- transactional: {value}' must be true or false"
            )
        return value == "true"

    @property
    def irreversible(self) -> str | None:
        """The reason given by ``-- irreversible: <reason>``, or None."""
        if "irreversible" not in self.directives:
            return None
        return self.directives["irreversible"].strip()

    @property
    def squashes(self) -> tuple[str, ...]:
        """The ids ``-- squashes: ID ID ...`` names: the migrations this one replaced."""
        return tuple(self.directives.get("squashes", "").split())

    def sha256(self) -> str:
        digest = sha256_of(self.path)
        assert digest is not None
        return digest

    def rollback_sha256(self) -> str | None:
        return sha256_of(self.rollback_path)

    def statements(self) -> list[Statement]:
        return split_statements(self.text)

    def rollback_statements(self) -> list[Statement]:
        return split_statements(self.rollback_text or "")

    def problems(self) -> list[tuple[int, str, str]]:
        """Why the runner must refuse this file, as (line, rule, message); empty when fine."""
        found: list[tuple[int, str, str]] = []
        reason = self.irreversible
        if reason is not None and not reason:
            found.append((1, "rollback-present", "'-- irreversible:' needs a reason after it"))
        if reason is not None and self.rollback_path is not None:
            found.append(
                (
                    1,
                    "rollback-present",
                    f"declared irreversible but {self.rollback_path.name} exists: "
                    "remove one of the two",
                )
            )
        if reason is None and self.rollback_path is None:
            found.append(
                (
                    1,
                    "rollback-present",
                    f"no rollback file {self.id}{ROLLBACK_SUFFIX}: write one, or declare "
                    "'-- irreversible: <reason>' in the header",
                )
            )
        try:
            transactional = self.transactional
        except MigrationError as exc:
            found.append((1, "header", str(exc)))
            transactional = True
        texts = [(self.path, self.text)]
        if self.rollback_path is not None and self.rollback_text is not None:
            texts.append((self.rollback_path, self.rollback_text))
        for path, text in texts:
            try:
                statements = split_statements(text)
            except UnterminatedError as exc:
                line, _ = location(text, exc.offset)
                found.append((line, "syntax", f"{path.name}: {exc}"))
                continue
            for statement in statements:
                line, _ = location(text, statement.start)
                head = statement.text.lstrip()
                if _TRANSACTION_CONTROL.match(head):
                    found.append(
                        (
                            line,
                            "transaction-control",
                            f"{path.name}: '{statement.first_line}': plainsql runs each "
                            "migration in its own transaction (or none with "
                            "'-- transactional: false'); no BEGIN/COMMIT in the file",
                        )
                    )
                if transactional and _CONCURRENTLY.match(head):
                    found.append(
                        (
                            line,
                            "concurrently-non-transactional",
                            f"{path.name}: '{statement.first_line}' cannot run in a "
                            "transaction: put it in a migration headed "
                            "'-- transactional: false'",
                        )
                    )
        return found


def discover(migrations_dir: Path, *, unique: bool = True) -> list[MigrationFile]:
    """Every migration under ``migrations_dir`` in order; misnamed files are an error, and so
    are two files with one number (unless ``unique`` is False: ``plainsql new`` works then)."""
    if not migrations_dir.is_dir():
        raise MigrationError(f"no migrations folder at {migrations_dir}")
    found: list[MigrationFile] = []
    forward_ids: set[str] = set()
    for path in sorted(migrations_dir.iterdir()):
        if not path.is_file() or path.suffix != ".sql" or path.name.endswith(ROLLBACK_SUFFIX):
            continue
        migration_id = path.name.removesuffix(".sql")
        if not MIGRATION_NAME.match(migration_id):
            raise MigrationError(
                f"{path}: a migration is named <number>_slug.sql: a number of four digits "
                "(0007) or a fourteen-digit UTC timestamp (20261128093000), then a lower-case "
                "slug of letters, digits and underscores"
            )
        rollback = path.with_name(migration_id + ROLLBACK_SUFFIX)
        found.append(MigrationFile(migration_id, path, rollback if rollback.is_file() else None))
        forward_ids.add(migration_id)
    for path in sorted(migrations_dir.glob("*" + ROLLBACK_SUFFIX)):
        if path.name.removesuffix(ROLLBACK_SUFFIX) not in forward_ids:
            raise MigrationError(f"{path}: rollback file without its migration")
    found.sort(key=lambda m: m.order)
    if unique:
        check_unique(migrations_dir, found)
    return found


def check_unique(migrations_dir: Path, found: list[MigrationFile]) -> None:
    """Refuse two migrations with one number, naming both and the commands that fix it."""
    by_number: dict[str, list[MigrationFile]] = {}
    for migration in found:
        by_number.setdefault(migration.number, []).append(migration)
    for number, same in sorted(by_number.items()):
        if len(same) > 1:
            names = " and ".join(m.path.name for m in same)
            fresh = next_number(found)
            folder = migrations_dir.name
            moves = " or ".join(
                f"`git mv {folder}/{m.id}.sql {folder}/{fresh}_{m.id.split('_', 1)[1]}.sql` "
                "(and its rollback file)"
                for m in same
            )
            raise MigrationError(
                f"{names} share the number {number}: the number is a migration's place in the "
                "order, so it must be unique (usually two branches each added one). Give the "
                f"one that no database has applied yet a new number: {moves}"
            )


def resolve_id(files: list[MigrationFile], wanted: str) -> str:
    """A migration id from its full id or its number (``0003``)."""
    for migration in files:
        if wanted in (migration.id, migration.number):
            return migration.id
    names = [m.id for m in files] + [m.number for m in files]
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f" ({len(files)} on disk)"
    raise MigrationError(f"no migration {wanted!r}{hint}")


def next_number(files: list[MigrationFile], now: datetime | None = None) -> str:
    """A UTC timestamp for a new migration: now, or one second after the newest timestamp on
    disk when that is not earlier (two ``plainsql new`` in the same second, a clock behind)."""
    stamp = (now or datetime.now(UTC)).replace(microsecond=0, tzinfo=None)
    stamps = [m.number for m in files if len(m.number) == 14]
    if stamps:
        newest = datetime.strptime(max(stamps), TIMESTAMP_FORMAT)
        stamp = max(stamp, newest + timedelta(seconds=1))
    return stamp.strftime(TIMESTAMP_FORMAT)


def new_migration(
    migrations_dir: Path, slug: str, now: datetime | None = None
) -> tuple[Path, Path]:
    """Write ``<UTC timestamp>_slug.sql`` and its rollback, each with a header to fill in.

    The files are created exclusively: a file that appeared meanwhile (another ``plainsql
    new`` at the same moment) is never overwritten; the next second is taken instead.
    """
    clean = re.sub(r"[^a-z0-9]+", "_", slug.lower()).strip("_")
    if not clean:
        raise MigrationError(f"a migration slug needs letters or digits, got {slug!r}")
    migrations_dir.mkdir(parents=True, exist_ok=True)
    existing = discover(migrations_dir, unique=False)
    number = next_number(existing, now)
    while True:
        migration_id = f"{number}_{clean}"
        forward = migrations_dir / f"{migration_id}.sql"
        rollback = migrations_dir / f"{migration_id}{ROLLBACK_SUFFIX}"
        taken = any(p.name.startswith(number + "_") for p in migrations_dir.iterdir())
        if not taken:
            try:
                with forward.open("x", encoding="utf-8") as handle:
                    handle.write(
                        f"-- {migration_id}: say what this migration does and why.\n"
                        "-- Name every constraint and index; every foreign key gets an index.\n\n"
                    )
                break
            except FileExistsError:
                pass
        following = datetime.strptime(number, TIMESTAMP_FORMAT) + timedelta(seconds=1)
        number = following.strftime(TIMESTAMP_FORMAT)
    rollback.write_text(
        f"-- {migration_id} rollback: undo everything {forward.name} creates, in reverse order.\n"
        "-- No way back? Delete this file and head the migration with "
        "'-- irreversible: <reason>'.\n\n"
    )
    return forward, rollback
