"""Lint for review: squawk plus plainsql's own rules over migrations/, as ``file:line: rule: msg``.

Rules (every finding fails the lint; silence squawk on one statement with squawk's own
``-- squawk-ignore <rule>`` comment):

- ``squawk/<rule>``: squawk (the ``squawk-cli`` package, plainsql's ``lint`` extra) on every
  forward file. The rules in ``squawk-exclude`` (``[tool.plainsql]``) are off; by default
  those plainsql's runner makes redundant (it sets ``lock_timeout`` itself, and
  ``statement_timeout = 0`` on purpose). A project's own ``.squawk.toml`` is passed to
  squawk too, when there is one. Transactional files are checked with
  ``--assume-in-transaction``, ``-- transactional: false`` ones without it. Rollback files
  are not given to squawk: they drop things by design, and ``plainsql verify`` proves them.
- ``rollback-present``: a rollback file with statements, or ``-- irreversible: <reason>``.
- ``rollback-drops``: every table, type, domain, view, sequence, schema, extension, function
  and, on a table the migration did not create, index, trigger, policy, column and
  constraint the forward file creates by name is named by a DROP in the rollback file.
  This replaces "forward and rollback statement counts agree": plainsql runs each file as
  one unit (never pairing statements by position), so counts say nothing about
  correctness, while a created object missing from the rollback is what a reviewer must
  catch. It reads the text, so it is a pointer; ``plainsql verify`` is the proof.
- ``header-comment``: the file opens with a comment saying what and why.
- ``transaction-control``: no BEGIN/COMMIT/ROLLBACK in a file (the runner owns transactions).
- ``concurrently-non-transactional``: ``CREATE INDEX CONCURRENTLY`` (and the other
  CONCURRENTLY forms) only in a migration headed ``-- transactional: false``.
- ``updated-at-trigger``: only when ``updated-at-function`` is configured: every table with
  ``updated_at`` has a ``BEFORE UPDATE ... FOR EACH ROW`` trigger ``<table>_<function>``
  calling that function.
- ``blocking-scan``: a statement that holds a lock blocking writes (SHARE or stronger) or
  reads (ACCESS EXCLUSIVE) on a table that has rows at the time while it scans or rewrites
  it (a validated constraint, a rewrite, a non-concurrent index, SET NOT NULL unproved),
  with the fix; read from ``pg_locks`` and the catalog as each statement runs on the scratch
  database (:mod:`plainsql.migrate.lockreport`). A table has rows there when an earlier
  migration put them in (a data migration, a backfill); the object of an ignore is the table.
- ``fk-indexed``, ``updated-at-trigger``, ``timestamptz-only``: checked on the catalog of a
  scratch database after each migration is applied, so they see what PostgreSQL built, not
  what a regular expression guessed. A finding still true after the last migration is
  reported against the migration that introduced it, at the first line naming the object.
  One of them is accepted, for one object, by a comment in any migration saying why:
  ``-- plainsql-ignore <rule> <object>: <reason>`` (the object as the message names it: the
  foreign key, the table, or ``table.column``). An ignore without a reason, or one that no
  finding matches (the object was renamed, or the finding fixed), is itself a finding
  (``ignore``): a stale exception must not outlive its reason silently.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from plainsql._sqltext import TokenKind, tokenize
from plainsql.config import Settings
from plainsql.errors import LintError, MigrationError, UnterminatedError
from plainsql.migrate.files import MigrationFile, discover, location, split_statements
from plainsql.migrate.ledger import BOOKKEEPING_TABLES
from plainsql.migrate.lockreport import Scan, StatementLocks, measure
from plainsql.migrate.runner import Migrator
from plainsql.server import connect, scratch_database

SQUAWK_CONFIG = ".squawk.toml"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def text(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"

    def github(self) -> str:
        """A GitHub Actions workflow command: an annotation on the pull request."""

        def data(value: str) -> str:
            return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

        def prop(value: str) -> str:
            return data(value).replace(":", "%3A").replace(",", "%2C")

        return (
            f"::error file={prop(self.path)},line={self.line},title={prop(self.rule)}"
            f"::{data(self.message)}"
        )


def lint_migrations(settings: Settings, *, squawk: bool = True) -> list[Finding]:
    """Every finding over migrations/, sorted by file and line."""
    files = discover(settings.migrations_dir)
    findings: list[Finding] = []
    for migration in files:
        findings += _file_rules(settings, migration)
    if squawk:
        findings += _squawk(settings, files)
    findings += _catalog_rules(settings, files)
    return sorted(set(findings))


# -- helpers ------------------------------------------------------------------------------------


def code_only(text: str) -> str:
    """``text`` with comments, string literals and dollar-quoted bodies blanked (same offsets)."""
    try:
        tokens = list(tokenize(text))
    except UnterminatedError:
        return text
    out = []
    for token in tokens:
        if token.kind in (
            TokenKind.LINE_COMMENT,
            TokenKind.BLOCK_COMMENT,
            TokenKind.STRING,
            TokenKind.DOLLAR,
        ):
            out.append(re.sub(r"[^\n]", " ", token.text))
        else:
            out.append(token.text)
    return "".join(out)


def _line_naming(text: str, names: Iterable[str]) -> int:
    """Line of the first code mention of any of ``names`` (tried in order); 1 when none."""
    code = code_only(text)
    for name in names:
        match = re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", code, re.IGNORECASE)
        if match:
            return location(code, match.start())[0]
    return 1


# -- rules on the files -------------------------------------------------------------------------

_NAME = r'((?:"[^"]+"|[\w$]+)(?:\s*\.\s*(?:"[^"]+"|[\w$]+))?)'
_CREATES = [
    (
        "table",
        re.compile(
            rf"^create\s+(?:(?:global\s+|local\s+)?(?:temporary|temp|unlogged)\s+)?table\s+"
            rf"(?:if\s+not\s+exists\s+)?{_NAME}",
            re.I,
        ),
    ),
    ("type", re.compile(rf"^create\s+type\s+{_NAME}", re.I)),
    ("domain", re.compile(rf"^create\s+domain\s+{_NAME}", re.I)),
    (
        "view",
        re.compile(
            rf"^create\s+(?:materialized\s+|recursive\s+)?view\s+(?:if\s+not\s+exists\s+)?{_NAME}",
            re.I,
        ),
    ),
    ("sequence", re.compile(rf"^create\s+sequence\s+(?:if\s+not\s+exists\s+)?{_NAME}", re.I)),
    ("schema", re.compile(rf"^create\s+schema\s+(?:if\s+not\s+exists\s+)?{_NAME}", re.I)),
    ("extension", re.compile(rf"^create\s+extension\s+(?:if\s+not\s+exists\s+)?{_NAME}", re.I)),
    ("function", re.compile(rf"^create\s+(?:function|procedure)\s+{_NAME}", re.I)),
]
_ON_TABLE = [
    (
        "index",
        re.compile(
            rf"^create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?"
            rf"{_NAME}\s+on\s+(?:only\s+)?{_NAME}",
            re.I,
        ),
    ),
    (
        "trigger",
        re.compile(
            rf"^create\s+(?:constraint\s+)?trigger\s+{_NAME}\s+.*?\bon\s+{_NAME}", re.I | re.S
        ),
    ),
    ("policy", re.compile(rf"^create\s+policy\s+{_NAME}\s+on\s+{_NAME}", re.I)),
]
_ALTER_TABLE = re.compile(rf"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?{_NAME}", re.I)
_ADD_CONSTRAINT = re.compile(rf"\badd\s+constraint\s+{_NAME}", re.I)
_ADD_COLUMN = re.compile(rf"\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?{_NAME}", re.I)
_NOT_COLUMNS = {"constraint", "primary", "unique", "check", "foreign", "exclude", "value"}


def _bare(name: str) -> str:
    """``public."Users"`` -> ``Users``; ``Public.users`` -> ``users``."""
    last = re.split(r"\s*\.\s*(?=(?:\"[^\"]+\"|[\w$]+)$)", name.strip())[-1]
    return last[1:-1] if last.startswith('"') else last.lower()


def created_objects(text: str) -> list[tuple[int, str, str, str | None]]:
    """(offset, kind, name, table) for each object the text creates by name."""
    code = code_only(text)
    found: list[tuple[int, str, str, str | None]] = []
    for statement in split_statements(code):
        body = statement.text.strip()
        offset = statement.start
        if re.match(r"^create\s+or\s+replace\b", body, re.I):
            continue  # may redefine an object an earlier migration owns
        for kind, pattern in _CREATES:
            match = pattern.match(body)
            if match:
                found.append((offset, kind, _bare(match.group(1)), None))
        for kind, pattern in _ON_TABLE:
            match = pattern.match(body)
            if match:
                found.append((offset, kind, _bare(match.group(1)), _bare(match.group(2))))
        alter = _ALTER_TABLE.match(body)
        if alter:
            table = _bare(alter.group(1))
            for match in _ADD_CONSTRAINT.finditer(body):
                found.append((offset, "constraint", _bare(match.group(1)), table))
            for match in _ADD_COLUMN.finditer(body):
                column = _bare(match.group(1))
                if column.lower() not in _NOT_COLUMNS:
                    found.append((offset, "column", column, table))
    return found


def _dropped_names(rollback_text: str) -> tuple[set[str], set[str]]:
    """Names mentioned in the rollback's DROP statements, and the tables it drops."""
    names: set[str] = set()
    tables: set[str] = set()
    for statement in split_statements(code_only(rollback_text)):
        body = statement.text
        if not re.search(r"\bdrop\b", body, re.I):
            continue
        for token in re.findall(r'"[^"]+"|[\w$]+', body):
            names.add(token[1:-1] if token.startswith('"') else token.lower())
        match = re.match(
            r"^\s*drop\s+table\s+(?:if\s+exists\s+)?(.*?)(?:\s+cascade|\s+restrict)?"
            r"\s*;?\s*$",
            body,
            re.I | re.S,
        )
        if match:
            for part in match.group(1).split(","):
                tables.add(_bare(part))
    return names, tables


def _file_rules(settings: Settings, migration: MigrationFile) -> list[Finding]:
    shown = settings.shown(migration.path)
    findings = [Finding(shown, line, rule, message) for line, rule, message in migration.problems()]
    leading: list[str] = []
    for text_line in (t for t in migration.text.splitlines() if t.strip()):
        if not text_line.lstrip().startswith("--"):
            break
        leading.append(text_line)
    directive = re.compile(r"^\s*--\s*(transactional|depends|irreversible)\s*:", re.I)
    if not any(not directive.match(t) and t.strip("- \t") for t in leading):
        findings.append(
            Finding(shown, 1, "header-comment", "open with a comment saying what this does and why")
        )
    if migration.rollback_path is None or migration.irreversible is not None:
        return findings
    rollback_text = migration.rollback_text or ""
    rollback_shown = settings.shown(migration.rollback_path)
    try:
        if not split_statements(rollback_text):
            findings.append(
                Finding(
                    rollback_shown,
                    1,
                    "rollback-present",
                    "the rollback file has no statements: undo the migration, or declare "
                    "'-- irreversible: <reason>' in its header and delete this file",
                )
            )
            return findings
        created = created_objects(migration.text)
        names, dropped_tables = _dropped_names(rollback_text)
    except UnterminatedError:
        return findings  # reported by problems() as a syntax finding
    created_tables = {name for _, kind, name, _ in created if kind == "table"}
    for offset, kind, name, table in created:
        if name in names:
            continue
        if table is not None and (table in dropped_tables or table in created_tables):
            continue
        line, _ = location(migration.text, offset)
        on = f" on {table}" if table else ""
        findings.append(
            Finding(
                shown,
                line,
                "rollback-drops",
                f"creates {kind} {name}{on}, which {migration.rollback_path.name} never drops",
            )
        )
    return findings


def _squawk_binary() -> str:
    beside = Path(sys.executable).parent / "squawk"
    if beside.is_file():
        return str(beside)
    found = shutil.which("squawk")
    if found is None:
        raise LintError("squawk is not installed: `pip install 'plainsql[lint]'` (or squawk-cli)")
    return found


def _squawk(settings: Settings, files: list[MigrationFile]) -> list[Finding]:
    binary = _squawk_binary()
    config = settings.project_dir / SQUAWK_CONFIG
    findings: list[Finding] = []
    groups = {
        "--assume-in-transaction": [m for m in files if m.transactional],
        "--no-assume-in-transaction": [m for m in files if not m.transactional],
    }
    for flag, group in groups.items():
        if not group:
            continue
        args = [binary, "--reporter", "json", flag]
        if config.is_file():
            args += ["--config", str(config)]
        args += [f"--exclude={rule}" for rule in settings.squawk_exclude]
        if settings.squawk_pg_version:
            args += ["--pg-version", settings.squawk_pg_version]
        args += [settings.shown(m.path) for m in group]
        result = subprocess.run(
            args, cwd=settings.project_dir, capture_output=True, text=True, check=False
        )
        try:
            violations: list[dict[str, Any]] = json.loads(result.stdout or "[]")
        except json.JSONDecodeError:
            violations = []
            if result.returncode not in (0, 1) or result.stdout.strip():
                raise LintError(
                    f"squawk failed (exit {result.returncode}): "
                    f"{(result.stderr or result.stdout).strip()[:500]}"
                ) from None
        if result.returncode not in (0, 1):
            raise LintError(f"squawk failed (exit {result.returncode}): {result.stderr.strip()}")
        for violation in violations:
            help_text = f" ({violation['help']})" if violation.get("help") else ""
            findings.append(
                Finding(
                    str(violation["file"]),
                    int(violation["line"]) + 1,  # squawk's JSON lines are 0-based
                    f"squawk/{violation['rule_name']}",
                    f"{violation['message']}{help_text}",
                )
            )
    return findings


# -- rules on the catalog -----------------------------------------------------------------------

_FK_NOT_INDEXED = """
SELECT k.conname, c.relname,
       array_agg(a.attname::text ORDER BY u.ord) AS columns
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
WHERE k.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT (c.relname = ANY(%(bookkeeping)s))
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = k.conrelid AND i.indpred IS NULL
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)]
            @> k.conkey
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)]
            <@ k.conkey)
GROUP BY k.conname, c.relname
"""

_UPDATED_AT = """
SELECT c.relname,
       (SELECT string_agg(g.tgname, ', ' ORDER BY g.tgname)
          FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
         WHERE g.tgrelid = c.oid AND NOT g.tgisinternal AND p.proname = %(function)s
           AND g.tgtype & 1 = 1 AND g.tgtype & 2 = 2 AND g.tgtype & 16 = 16) AS triggers
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT (c.relname = ANY(%(bookkeeping)s))
"""

_TIMESTAMP = """
SELECT c.relname, a.attname
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  AND format_type(a.atttypid, a.atttypmod) LIKE 'timestamp%%without time zone%%'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT (c.relname = ANY(%(bookkeeping)s))
"""


def catalog_findings(
    conn: psycopg.Connection[Any], updated_at_function: str | None
) -> dict[tuple[str, str], tuple[str, ...]]:
    """(rule, message) -> names to look for in the file, for the schema as it is now."""
    params = {"bookkeeping": list(BOOKKEEPING_TABLES), "function": updated_at_function}
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for conname, table, columns in conn.execute(_FK_NOT_INDEXED, params).fetchall():
        cols = ", ".join(columns)
        found[
            (
                "fk-indexed",
                f"foreign key {conname} on {table} ({cols}) has no index starting with "
                f"({cols}): deletes on the referenced table scan {table}",
            )
        ] = (conname, *columns, table)
    updated_at = conn.execute(_UPDATED_AT, params).fetchall() if updated_at_function else []
    for table, triggers in updated_at:
        wanted = f"{table}_{updated_at_function}"
        if triggers is None:
            message = (
                f"table {table} has updated_at but no trigger: CREATE TRIGGER {wanted} "
                f"BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {updated_at_function}()"
            )
            found[("updated-at-trigger", message)] = ("updated_at", table)
        elif wanted not in triggers.split(", "):
            message = f"table {table}'s updated_at trigger is named {triggers}; call it {wanted}"
            found[("updated-at-trigger", message)] = (triggers.split(", ")[0], table)
    for table, column in conn.execute(_TIMESTAMP, params).fetchall():
        message = f"{table}.{column} is timestamp without time zone: use timestamptz"
        found[("timestamptz-only", message)] = (column, table)
    return found


def _catalog_rules(settings: Settings, files: list[MigrationFile]) -> list[Finding]:
    introduced: dict[tuple[str, str], tuple[MigrationFile, tuple[str, ...]]] = {}
    current: dict[tuple[str, str], tuple[str, ...]] = {}
    findings = []
    scans: list[tuple[MigrationFile, StatementLocks, Scan]] = []
    with (
        scratch_database(settings, "lint") as conninfo,
        Migrator(settings, conninfo, check_files=False) as migrator,
        connect(settings, conninfo, autocommit=True) as conn,
    ):
        for migration in files:
            try:
                for entry in measure(migrator, conn, migration):
                    scans += [(migration, entry, scan) for scan in entry.scans]
            except MigrationError as exc:
                # The schema checks below still cover the migrations before this one.
                message = str(exc).splitlines()[0]
                at = re.search(r":(\d+):\d+\b", message)
                line = int(at.group(1)) if at else 1
                shown = settings.shown(migration.path)
                findings.append(Finding(shown, line, "applies", message))
                break
            current = catalog_findings(conn, settings.updated_at_function)
            for key, names in current.items():
                introduced.setdefault(key, (migration, names))
    ignores = _ignores(files)
    used: set[tuple[str, str]] = set()
    for migration, entry, scan in scans:
        subject = ("blocking-scan", scan.table)
        if ignores.get(subject, (None, 0, ""))[2]:
            used.add(subject)
            continue
        findings.append(
            Finding(
                settings.shown(migration.path),
                entry.line,
                "blocking-scan",
                f"statement {entry.index + 1} {scan.describe()}",
            )
        )
    for key in current:
        migration, names = introduced[key]
        rule, message = key
        subject = (rule, _subject(rule, names))
        if ignores.get(subject, (None, 0, ""))[2]:
            used.add(subject)
            continue
        line = _line_naming(migration.text, names)
        findings.append(Finding(settings.shown(migration.path), line, rule, message))
    for (rule, name), (migration, line, reason) in ignores.items():
        shown = settings.shown(migration.path)
        if rule not in CATALOG_RULES:
            findings.append(
                Finding(shown, line, "ignore", f"{rule} is not one of {', '.join(CATALOG_RULES)}")
            )
        elif not reason:
            findings.append(Finding(shown, line, "ignore", f"say why {rule} {name} is ignored"))
        elif (rule, name) not in used:
            findings.append(
                Finding(shown, line, "ignore", f"{rule} {name} is ignored but not found")
            )
    return findings


_IGNORE = re.compile(r"^--\s*plainsql-ignore\s+(\S+)\s+([^\s:]+)\s*(?::\s*(.*?))?\s*$", re.M)
CATALOG_RULES = ("fk-indexed", "updated-at-trigger", "timestamptz-only", "blocking-scan")


def _subject(rule: str, names: tuple[str, ...]) -> str:
    """What a ``plainsql-ignore`` names: the foreign key, the table, or ``table.column``."""
    if rule == "fk-indexed":
        return names[0]
    if rule == "timestamptz-only":
        return f"{names[1]}.{names[0]}"
    return names[-1]


def _ignores(
    files: list[MigrationFile],
) -> dict[tuple[str, str], tuple[MigrationFile, int, str]]:
    """(rule, object) -> the migration, line and reason of its ``plainsql-ignore`` comment.

    An ignore without a reason is kept with an empty one: it accepts nothing, and is reported.
    """
    found: dict[tuple[str, str], tuple[MigrationFile, int, str]] = {}
    for migration in files:
        for match in _IGNORE.finditer(migration.text):
            rule, name, reason = match.group(1), match.group(2), match.group(3) or ""
            line = migration.text.count("\n", 0, match.start()) + 1
            found[(rule, name)] = (migration, line, reason)
    return found
