"""The `plainsql` command line: the only place where errors become messages and exit codes.

Exit codes: 0 success, 1 a plainsql error (message on stderr), 2 a usage error (click).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from plainsql import embedded
from plainsql._masking import hide_password
from plainsql.config import (
    Settings,
    describe_target,
    duration_ms,
    is_project,
    load_settings,
    mask_url,
)
from plainsql.errors import ConfigError, MigrationError, PlainSQLError, map_error, scrub_secrets
from plainsql.migrate.files import new_migration
from plainsql.migrate.ledger import BOOKKEEPING_TABLES
from plainsql.migrate.runner import DEFAULT_LOCK_TIMEOUT, Migrator
from plainsql.server import server_conninfo, session_conninfo

F = TypeVar("F", bound=Callable[..., Any])


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj
    if not isinstance(settings, Settings):
        settings = load_settings(project_dir=ctx.meta.get("project_dir"))
        ctx.obj = settings
        ctx.meta["settings"] = settings  # meta is shared by every context: for error messages
    return settings


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get("quiet"))


def colour_on(err: bool = False) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stderr if err else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _style(text: str, *, err: bool = False, **styles: Any) -> str:
    return click.style(text, **styles) if colour_on(err) else text


def _say(text: str, **styles: Any) -> None:
    """An informational line on stdout; ``--quiet`` silences it."""
    if not _quiet():
        click.echo(_style(text, **styles) if styles else text)


def _echo_target(settings: Settings, conninfo: str) -> None:
    shown = mask_url(conninfo) if conninfo else "(libpq PG* variables)"
    _say(f"database: {shown} [{settings.source.value}]")


class PlainGroup(click.Group):
    """A click group that turns plainsql errors into one clean line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (PlainSQLError, psycopg.Error) as exc:
            prefix = _style("error:", err=True, fg="red", bold=True)
            message = scrub_secrets(_explained(exc))
            settings = ctx.meta.get("settings")
            if isinstance(settings, Settings) and settings.database_url:
                message = hide_password(message, settings.database_url)
            click.echo(f"{prefix} {message}", err=True)
            ctx.exit(1)


def _explained(exc: PlainSQLError | psycopg.Error) -> str:
    """One line for an error; a driver error that got this far (the migration tables read
    or locked through yoyo) is mapped first, and a privilege error on plainsql's own tables
    says what to do."""
    if isinstance(exc, PlainSQLError):
        return str(exc)
    mapped = str(map_error(exc))
    table = exc.diag.table_name or ""
    named = [t for t in BOOKKEEPING_TABLES if t == table or f"table {t}" in mapped]
    if isinstance(exc, psycopg.errors.InsufficientPrivilege) and named:
        return (
            f"{mapped}: the login role cannot use plainsql's migration tables; run this as "
            "the role that owns them (the one that ran `plainsql migrate`), or grant it access"
        )
    return mapped


def _needs_settings(fn: F) -> F:
    """Hand the command its settings; before anything can start the embedded server, refuse
    a folder that is not a plainsql project (the server would be created inside it)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        settings = _settings(ctx)
        if settings.uses_embedded and not is_project(settings.project_dir):
            raise ConfigError(
                f"{settings.project_dir} is not a plainsql project (no migrations/ folder and "
                "no [tool.plainsql] in pyproject.toml), so no embedded server was started for "
                "it: run the command in your project, pass --project-dir, set DATABASE_URL, or "
                "start one here with `plainsql new SLUG` (it creates migrations/)"
            )
        return fn(settings, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _settings_only(fn: F) -> F:
    """Hand the command its settings, project or not (it starts no server)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(_settings(click.get_current_context()), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.group(cls=PlainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (default: nearest folder above with migrations/ or pyproject.toml).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only results and errors (no progress or notes)."
)
@click.version_option(package_name="plainsql")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, quiet: bool) -> None:
    """plainsql: named SQL queries and plain-SQL migrations for PostgreSQL."""
    ctx.meta["project_dir"] = project_dir
    ctx.meta["quiet"] = quiet


_lock_timeout_option = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another runner's migration lock.",
)


def _ddl_ms(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    try:
        return None if value is None else duration_ms("--ddl-lock-timeout", value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


_ddl_lock_timeout_option = click.option(
    "--ddl-lock-timeout",
    callback=_ddl_ms,
    metavar="DURATION",
    help="lock_timeout of each migration (500ms, 2s...; default: the ddl-lock-timeout "
    "setting): waiting longer, it is rolled back and retried.",
)


@cli.command()
@click.option("--to", "to", metavar="ID", help="Apply up to and including this migration.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the SQL that would be applied, in order, with the locks each statement takes "
    "(measured on a scratch database), after the same checks; change nothing.",
)
@_lock_timeout_option
@_ddl_lock_timeout_option
@click.option(
    "--accept-edit",
    metavar="ID",
    help="Record the current contents of an edited, applied migration (and do nothing else).",
)
@click.option(
    "--resolve",
    metavar="ID",
    help="Close a dirty (failed non-transactional) migration; needs --applied or --rolled-back.",
)
@click.option(
    "--allow-out-of-order",
    is_flag=True,
    help="Apply pending migrations that sort below an applied one (from a late-merged branch).",
)
@click.option("--applied", "resolved_as", flag_value="applied", help="With --resolve.")
@click.option("--rolled-back", "resolved_as", flag_value="rolled-back", help="With --resolve.")
@_needs_settings
def migrate(
    settings: Settings,
    to: str | None,
    dry_run: bool,
    lock_timeout: float,
    ddl_lock_timeout: int | None,
    accept_edit: str | None,
    resolve: str | None,
    allow_out_of_order: bool,
    resolved_as: str | None,
) -> None:
    """Apply the pending migrations."""
    if resolve is not None and resolved_as is None:
        raise click.UsageError("--resolve ID needs --applied or --rolled-back")
    if resolved_as is not None and resolve is None:
        raise click.UsageError("--applied and --rolled-back go with --resolve ID")
    if accept_edit is not None and resolve is not None:
        raise click.UsageError("use one of --accept-edit and --resolve")
    if ddl_lock_timeout is not None:
        settings = replace(settings, ddl_lock_timeout_ms=ddl_lock_timeout)
    conninfo = session_conninfo(settings, "plainsql migrate (its lock is a session advisory lock)")
    _echo_target(settings, conninfo)
    with Migrator(settings, conninfo, lock_timeout=lock_timeout) as migrator:
        migrator.on_wait = _say_waiting
        migrator.on_done = _say_done
        if accept_edit is not None:
            migration_id = migrator.accept_edit(accept_edit)
            _say(f"recorded the current contents of {migration_id} as applied")
            return
        if resolve is not None:
            migration_id = migrator.resolve(resolve, applied=resolved_as == "applied")
            _say(f"resolved {migration_id} as {resolved_as}; run `plainsql migrate` to go on")
            return
        applied = migrator.migrate(to=to, dry_run=dry_run, allow_out_of_order=allow_out_of_order)
        total = len(migrator.files)
        pending = len(migrator.pending())
        for note in migrator.notes:
            _say(f"note: {note}")
        if dry_run:
            _print_sql(settings, migrator, applied, "apply", _lock_lines(settings, applied))
    if not applied and pending and to is not None:
        _say(
            f"nothing to apply up to {to}: it is applied; {pending} later migration(s) of "
            f"{total} are pending (`plainsql migrate` applies them)"
        )
    elif not applied:
        _say(f"nothing to apply: all {total} migrations are applied")


def _say_waiting(line: str) -> None:
    click.echo(_style(line, err=True, fg="yellow"), err=True)


def _say_done(direction: str, migration_id: str) -> None:
    """Progress: each migration as soon as it is applied or rolled back."""
    if direction == "apply":
        _say(f"applied {migration_id}", fg="green")
    else:
        _say(f"rolled back {migration_id}", fg="yellow")


def _lock_lines(settings: Settings, ids: list[str]) -> dict[str, list[str]]:
    """The lock report of the migrations a dry run would apply, as comment lines by id."""
    from plainsql.migrate.lockreport import describe_report, lock_report

    try:
        report = lock_report(settings, ids)
    except PlainSQLError as exc:
        _say(f"note: no lock report: {exc}")
        return {}
    return {
        mid: describe_report([e for e in report if e.migration_id == mid], "-- ") for mid in ids
    }


def _print_sql(
    settings: Settings,
    migrator: Migrator,
    ids: list[str],
    direction: str,
    locks: dict[str, list[str]] | None = None,
) -> None:
    """The SQL a run would send, in order, as one script whose plainsql lines are comments."""
    verb = "would apply" if direction == "apply" else "would roll back"
    for migration_id in ids:
        for line in (locks or {}).get(migration_id, []):
            click.echo(line)
        path, text = migrator.sql_of(migration_id, direction)
        how = (
            "one transaction, recorded with it"
            if migrator.file(migration_id).transactional
            else "transactional: false, statement by statement"
        )
        click.echo(f"-- {verb} {migration_id}: {settings.shown(path)} ({how})")
        click.echo(text.rstrip("\n") + "\n")


@cli.command()
@click.option("--steps", type=click.IntRange(min=0), default=None, help="Roll back N migrations.")
@click.option("--to", "to", metavar="ID", help="Roll back everything applied after ID.")
@click.option("--all", "everything", is_flag=True, help="Roll back every applied migration.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the SQL that would roll back, in order, after the same checks; change nothing.",
)
@_lock_timeout_option
@_ddl_lock_timeout_option
@_needs_settings
def rollback(
    settings: Settings,
    steps: int | None,
    to: str | None,
    everything: bool,
    dry_run: bool,
    lock_timeout: float,
    ddl_lock_timeout: int | None,
) -> None:
    """Roll back migrations, newest first (default: the last one applied)."""
    if sum(x is not None and x is not False for x in (steps, to, everything or None)) > 1:
        raise click.UsageError("use only one of --steps, --to and --all")
    if ddl_lock_timeout is not None:
        settings = replace(settings, ddl_lock_timeout_ms=ddl_lock_timeout)
    conninfo = session_conninfo(settings, "plainsql rollback (its lock is a session advisory lock)")
    _echo_target(settings, conninfo)
    with Migrator(settings, conninfo, lock_timeout=lock_timeout) as migrator:
        migrator.on_wait = _say_waiting
        migrator.on_done = _say_done
        done = migrator.rollback(steps=steps, to=to, everything=everything, dry_run=dry_run)
        if dry_run:
            _print_sql(settings, migrator, done, "rollback")
    if not done:
        _say("nothing to roll back")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_needs_settings
def status(settings: Settings, as_json: bool) -> None:
    """Show each migration: applied, pending, edited since applied, dirty."""
    conninfo = session_conninfo(settings, "plainsql status", required=False)
    with Migrator(settings, conninfo) as migrator:
        states = migrator.status()
        missing = migrator.missing_files()
        invalid = migrator.ledger.invalid_indexes()

    def rel(path: Path | None) -> str | None:
        return settings.shown(path) if path else None

    if as_json:
        payload = {
            "database": mask_url(conninfo),
            "migrations": [
                {
                    "id": s.id,
                    "applied": s.applied,
                    "applied_at": s.applied_at.isoformat() if s.applied_at else None,
                    "path": rel(s.path),
                    "rollback": rel(s.rollback_path),
                    "edited": list(s.edited),
                    "dirty": s.dirty.describe() if s.dirty else None,
                    "irreversible": s.irreversible,
                }
                for s in states
            ],
            "applied_without_file": missing,
            "invalid_indexes": list(invalid),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    _echo_target(settings, conninfo)
    rows: list[tuple[str, str, str, str, str | None]] = []  # mark, id, when, notes, colour
    for s in states:
        mark = "dirty" if s.dirty else "applied" if s.applied else "pending"
        when = f"{s.applied_at:%Y-%m-%d %H:%M:%S}Z" if s.applied_at else ""
        notes = []
        if s.edited:
            notes.append(f"EDITED since applied: {', '.join(s.edited)}")
        if s.dirty:
            notes.append(f"({s.dirty.describe()})")
        if s.irreversible is not None:
            notes.append("[irreversible]")
        colour = "red" if s.dirty or s.edited else None if s.applied else "yellow"
        rows.append((mark, s.id, when, "  ".join(notes), colour))
    for migration_id in missing:
        rows.append(("applied", migration_id, "", "FILE MISSING from migrations/", "red"))
    id_width = max((len(row[1]) for row in rows), default=0)
    for mark, migration_id, when, remarks, colour in rows:
        line = f"  [{mark:>7}] {migration_id:<{id_width}}  {when:<20}  {remarks}".rstrip()
        click.echo(_style(line, fg=colour) if colour else line)
    for index in invalid:
        line = f"  INVALID index {index} (left by a failed CREATE INDEX CONCURRENTLY)"
        click.echo(_style(line, fg="red"))
    pending = sum(not s.applied for s in states)
    edited = sum(bool(s.edited) for s in states)
    dirty = sum(bool(s.dirty) for s in states)
    tail = "".join(f", {n} {what}" for n, what in ((edited, "edited"), (dirty, "dirty")) if n)
    click.echo(f"{len(states) - pending} applied, {pending} pending{tail}")
    if edited or dirty or missing:
        click.echo("`plainsql migrate` refuses to run until these are resolved (it says how)")


@cli.command("new")
@click.argument("slug")
@_settings_only
def new(settings: Settings, slug: str) -> None:
    """Write a new migration (id: UTC timestamp + SLUG) and its rollback file."""
    forward, backward = new_migration(settings.migrations_dir, slug)
    click.echo(f"created {settings.shown(forward)}")
    click.echo(f"created {settings.shown(backward)}")


@cli.command()
@click.option("--slug", default="baseline", show_default=True, help="The migration's slug.")
@click.option(
    "--no-privileges",
    is_flag=True,
    help="Leave GRANT/REVOKE out (when the roles they name will not exist where it is replayed).",
)
@_needs_settings
def baseline(settings: Settings, slug: str, no_privileges: bool) -> None:
    """Adopt an existing database: its schema becomes the first migration, recorded as applied."""
    from plainsql.migrate.baseline import baseline as take_baseline
    from plainsql.migrate.drift import find_drift

    conninfo = session_conninfo(settings, "plainsql baseline")
    _echo_target(settings, conninfo)
    result = take_baseline(settings, conninfo, slug=slug, privileges=not no_privileges)
    _say(
        f"wrote {settings.shown(result.path)} ({result.statements} statements from pg_dump; "
        "irreversible)"
    )
    _say(f"recorded {result.migration_id} as applied (nothing was run)")
    report = find_drift(settings, conninfo)
    for difference in report.differences:
        click.echo(difference.describe("the migrations", "the database"), err=True)
    if report.differences:
        raise MigrationError(f"drift after baseline: {len(report.differences)} object(s) differ")
    _say(f"no drift: the database matches {result.migration_id}")


@cli.command()
@click.option("--to", "to", metavar="ID", required=True, help="The last migration to squash.")
@click.option("--slug", default="squashed", show_default=True, help="The new migration's slug.")
@_needs_settings
def squash(settings: Settings, to: str, slug: str) -> None:
    """Replace the migrations up to ID with one building the same, proven before it is written."""
    from plainsql.migrate.squash import squash as run_squash

    result = run_squash(settings, to, slug=slug)
    first, last = result.originals[0], result.originals[-1]
    _say(
        f"squashed {len(result.originals)} migrations ({first} .. {last}) into "
        f"{settings.shown(result.forward)}: it builds the same catalog and dump (schema, rows, "
        "GRANTs) and verify passes"
    )
    if result.rollback is None:
        _say("its rollback is declared irreversible: one of the originals was")
    for role in result.roles:
        _say(f"note: it creates role {role} (NOLOGIN) where missing")
    _say(
        "databases that applied the originals record the squash in their place on their next "
        "`plainsql migrate`; commit the change"
    )


# -- migration review and proof: verify, lint, schema dump, drift ------------------------------


@cli.command()
@_needs_settings
def verify(settings: Settings) -> None:
    """Prove every rollback on a scratch database: apply, roll back, compare, apply again."""
    from plainsql.migrate.lockreport import describe_report
    from plainsql.migrate.verify import verify_migrations

    report = verify_migrations(settings, progress=_say)
    for line in describe_report(report.locks):
        click.echo(line)
    for note in report.notes:
        _say(f"note: {note}")
    if not report.ok:
        for problem in report.problems:
            click.echo(problem.describe(), err=True)
        raise MigrationError(f"verify found {len(report.problems)} problem(s)")
    _say(f"verified {len(report.checked)} migrations: every rollback restores the schema")


@cli.command()
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="text: file:line: rule: message; github: workflow annotations for pull requests.",
)
@_needs_settings
def lint(settings: Settings, output: str) -> None:
    """Lint migrations/: squawk plus plainsql's rules (rollbacks, FK indexes, timestamptz...)."""
    from plainsql.migrate.lint import lint_migrations

    findings = lint_migrations(settings)
    for finding in findings:
        click.echo(finding.github() if output == "github" else finding.text())
    if findings:
        raise MigrationError(f"lint found {len(findings)} problem(s) in migrations/")
    _say("lint: migrations/ is clean")


@cli.group()
def schema() -> None:
    """schema.sql: the schema the migrations build, for review."""


@schema.command("dump")
@click.option(
    "--check", is_flag=True, help="Fail (exit 1) when schema.sql is stale; write nothing."
)
@_needs_settings
def schema_dump(settings: Settings, check: bool) -> None:
    """Write schema.sql from a scratch database built by the migrations."""
    from plainsql.migrate.dump import check_schema, write_schema

    if check:
        path = check_schema(settings)
        _say(f"{settings.shown(path)} is up to date")
        return
    path, changed = write_schema(settings)
    state = "written" if changed else "unchanged"
    _say(f"{settings.shown(path)} {state}")


@cli.command()
@_needs_settings
def drift(settings: Settings) -> None:
    """Compare the database with what its applied migrations build; exit 0 only when equal."""
    from plainsql.migrate.drift import find_drift

    conninfo = session_conninfo(settings, "plainsql drift")
    _echo_target(settings, conninfo)
    report = find_drift(settings, conninfo)
    for note in report.notes:
        _say(f"note: {note}")
    if report.pending:
        _say(f"pending (not drift): {', '.join(report.pending)}")
    upto = report.compared_to or "no migration"
    for difference in report.differences:
        click.echo(difference.describe(f"the migrations (up to {upto})", "the database"))
    if report.differences:
        raise MigrationError(
            f"drift: {len(report.differences)} object(s) differ from what the migrations build"
        )
    _say(f"no drift: the database matches the migrations up to {upto}")


@cli.command()
@_needs_settings
def seed(settings: Settings) -> None:
    """Load the demo data in seeds/*.sql (idempotent: a second run changes nothing)."""
    from plainsql.seed import run_seeds

    conninfo = session_conninfo(settings, "plainsql seed", required=False)
    _echo_target(settings, conninfo)
    run = run_seeds(settings, conninfo)
    for path, rows in zip(run.files, run.written, strict=True):
        _say(
            f"seeded {settings.shown(path)}: " + (f"{rows} row(s) written" if rows else "no change")
        )
    if not run.files:
        _say("no seed files in seeds/")
    elif not run.changed:
        _say("seed: nothing changed (every seed row was already there)")


# -- typed queries (issue 6): typegen and check --------------------------------------------


@cli.command()
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 naming the generated files that are out of date.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Package folder to write (default: [tool.plainsql] typegen-out in pyproject.toml).",
)
@_needs_settings
def typegen(settings: Settings, check_only: bool, out: Path | None) -> None:
    """Generate typed records and query functions for sql/ (described on a scratch database)."""
    from plainsql.typegen.generate import run_typegen

    result = run_typegen(settings, out, check=check_only)
    ctx = click.get_current_context()
    for line in result.failures:
        click.echo(line, err=True)
    if result.failures:
        click.echo(
            f"typegen: {len(result.failures)} queries cannot be typed; nothing written", err=True
        )
        ctx.exit(1)
    shown = [settings.shown(path) for path in (result.stale or result.written)]
    if check_only and shown:
        for path in shown:
            click.echo(f"stale: {path}", err=True)
        click.echo(
            "the generated query types do not match sql/ and migrations/: run `plainsql typegen`",
            err=True,
        )
        ctx.exit(1)
    for path in shown:
        _say(f"wrote {path}")
    state = "up to date" if not shown or check_only else "generated"
    _say(f"typegen: {result.queries} queries, types {state}")


@cli.command()
@_needs_settings
def check(settings: Settings) -> None:
    """Prepare every named query against the migrated schema; report each one that fails, and
    each one marked replica-safe that could write, lock rows or call a VOLATILE function."""
    from plainsql.typegen.generate import run_check

    result = run_check(settings)
    for line in [*result.failures, *result.cache_failures]:
        click.echo(line, err=True)
    if result.failures:
        click.echo(
            f"check: {len(result.failures)} of {result.queries} queries fail the check", err=True
        )
    if result.cache_failures:
        click.echo(
            f"check: {len(result.cache_failures)} problem(s) with cached queries (docs/caching.md)",
            err=True,
        )
    if result.failures or result.cache_failures:
        click.get_current_context().exit(1)
    _say(f"check: all {result.queries} queries prepare")


@cli.group()
def cache() -> None:
    """The query cache: what cached queries read, and the migration of their triggers."""


@cache.command("show")
@_needs_settings
def cache_show(settings: Settings) -> None:
    """Each query with a cache directive: its ttl and the tables whose writes invalidate it."""
    from plainsql.cache_setup import describe, plan_cache

    click.echo(describe(plan_cache(settings)))


@cache.command("migration")
@click.option("--slug", default="plainsql_cache", show_default=True, help="The migration's slug.")
@_needs_settings
def cache_migration(settings: Settings, slug: str) -> None:
    """Write a migration adding the triggers the cached queries' tables lack (review it)."""
    from plainsql.cache_setup import plan_cache, write_migration

    plan = plan_cache(settings)
    for line in plan.failures():
        if "not cacheable" in line:
            click.echo(line, err=True)
    written = write_migration(settings, plan, slug)
    if written is None:
        _say(f"cache: {len(plan.tables)} tables watched, each has its trigger: nothing to write")
        return
    for path in written:
        _say(f"wrote {settings.shown(path)}")
    _say(
        f"cache: triggers for {len(plan.untriggered)} tables "
        f"({', '.join(plan.untriggered)}); review the migration, then `plainsql migrate`"
    )


@cli.command()
@click.option(
    "--sort",
    "sort_key",
    type=click.Choice(["total", "calls", "mean", "max", "rows", "hit", "read"]),
    default="total",
    show_default=True,
    help="Order by total time, calls, mean or max time, rows, shared blocks hit or read.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--reset", is_flag=True, help="Forget this database's statistics, then stop.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--replica",
    type=click.IntRange(min=1),
    default=None,
    help="The queries replica N of replica-urls ran (1 is the first), not the primary's.",
)
@_needs_settings
def stats(
    settings: Settings, sort_key: str, limit: int, reset: bool, as_json: bool, replica: int | None
) -> None:
    """The top named queries by time, from pg_stat_statements; unnamed statements apart; each
    replica's lag when replica-urls lists any."""
    from plainsql import stats as query_stats

    if reset:
        target = None if replica is None else query_stats.replica_conninfo(settings, replica)
        with query_stats.open_stats(settings, target) as (conn, schema):
            query_stats.reset(conn, schema)
            dbname = conn.info.dbname
        _say(f"stats: pg_stat_statements reset for database {dbname!r}")
        return
    report = query_stats.collect(settings, replica=replica).sorted(sort_key, limit)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(query_stats.render(report, sort_key))


# -- end of typed queries --------------------------------------------------------------------


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4983,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback is warned about.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Another Host header to accept (the studio answers 127.0.0.1 and localhost).",
)
@click.option(
    "--write",
    is_flag=True,
    help="Commit query runs; allow staged edits and EXPLAIN ANALYZE of writes (rolled back).",
)
@_needs_settings
def studio(
    settings: Settings, port: int, host: str, allow_hosts: tuple[str, ...], write: bool
) -> None:
    """Browse the tables, the named queries and the migrations in a browser (docs/studio.md)."""
    from plainsql._extras import require

    require("starlette", "plainsql studio")
    require("uvicorn", "plainsql studio")
    import logging

    from plainsql.studio.server import serve

    if not _quiet():
        logging.basicConfig(format="studio: %(message)s")
        logging.getLogger("plainsql.studio").setLevel(logging.INFO)
    serve(
        settings,
        host=host,
        port=port,
        write=write,
        allow_hosts=allow_hosts,
        say=click.echo,
        warn=lambda line: click.echo(_style(line, err=True, fg="yellow"), err=True),
    )


@cli.group()
def db() -> None:
    """The database server: where it is, and the embedded one's lifecycle."""


@db.command("url")
@click.option("--show-password", is_flag=True, help="Print the URL unmasked (for scripts).")
@_needs_settings
def db_url(settings: Settings, show_password: bool) -> None:
    """Print the connection URL (password masked)."""
    conninfo = server_conninfo(settings)
    click.echo(conninfo if show_password else mask_url(conninfo))


@db.command("start")
@_needs_settings
def db_start(settings: Settings) -> None:
    """Start the embedded server (no-op when DATABASE_URL points elsewhere)."""
    if not settings.uses_embedded:
        click.echo(f"using {settings.source.value}; no embedded server to start")
        return
    state = embedded.start(settings.pgdata_dir, started_from=settings.project_dir)
    if embedded.ensure_preloaded(settings.pgdata_dir):
        state = embedded.status(settings.pgdata_dir)
        _say(
            f"restarted the embedded PostgreSQL once to load {embedded.PRELOAD} "
            "(for `plainsql stats`); its data is kept"
        )
    _say(f"embedded PostgreSQL running (pid {state.pid}), data in {state.pgdata}")


@db.command("stop")
@_settings_only
def db_stop(settings: Settings) -> None:
    """Stop the embedded server; its data stays in .plainsql/pgdata."""
    stopped = embedded.stop(settings.pgdata_dir)
    _say("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@db.command("status")
@_settings_only
def db_status(settings: Settings) -> None:
    """Say which server is configured and whether it answers; list the other embedded servers
    started from this checkout that still run."""
    if settings.uses_embedded:
        state = embedded.status(settings.pgdata_dir)
        if state.running:
            click.echo(f"embedded PostgreSQL running (pid {state.pid}), data in {state.pgdata}")
        else:
            created = "exists" if state.initialized else "not created yet"
            click.echo(f"embedded PostgreSQL stopped; data folder {state.pgdata} {created}")
    else:
        from plainsql.server import connect

        conninfo = server_conninfo(settings)
        with connect(settings, conninfo) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        shown = describe_target(conninfo)
        click.echo(
            f"{settings.source.value}: {shown} answers "
            f"(PostgreSQL {version[0] if version else '?'})"
        )
    own = settings.pgdata_dir.resolve()
    others = [s for s in embedded.started_under(settings.project_dir) if s.pgdata.resolve() != own]
    if others:
        click.echo("other embedded PostgreSQL servers started from this checkout, still running:")
        for other in others:
            click.echo(f"  pid {other.pid!s:<8} data in {other.pgdata}")
        click.echo(
            "stop one with `plainsql --project-dir <its project> db stop` or kill -INT <pid>"
        )


@db.command("psql", context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@_needs_settings
def db_psql(settings: Settings, psql_args: tuple[str, ...]) -> None:
    """Open psql on the database (DIRECT_URL when set; extra arguments go to psql)."""
    conninfo = session_conninfo(settings, "plainsql db psql", required=False)
    system_psql = shutil.which("psql")
    program = (
        str(embedded.binary("psql")) if settings.uses_embedded or not system_psql else system_psql
    )
    # The password goes through the environment (PGPASSWORD), never the command line, which
    # every user of the machine can read (ps, /proc/<pid>/cmdline).
    params = conninfo_to_dict(conninfo)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    sys.stdout.flush()
    os.execve(program, [program, make_conninfo("", **params), *psql_args], env)


# -- backups: backup, restore ----------------------------------------------------------------


_jobs_option = click.option(
    "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel jobs."
)


def _progress() -> Callable[[str], None] | None:
    """Progress lines, also from a thread reading pg_dump (click's context is per thread)."""
    return None if _quiet() else click.echo


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into (default: backups/ in the project, git-ignored).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["custom", "directory"]),
    default="custom",
    show_default=True,
    help="custom: one file; directory: a folder, which pg_dump writes with --jobs in parallel.",
)
@_jobs_option
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    metavar="N",
    help="Then delete all but the newest N backups of this database in the folder.",
)
@click.option(
    "--verify",
    is_flag=False,
    flag_value="-",
    default=None,
    metavar="[FILE]",
    help="Restore into a scratch database and compare every table's row count and the "
    "migration ledger; with FILE, check that backup instead of taking one.",
)
@_needs_settings
def backup(
    settings: Settings,
    out: Path | None,
    fmt: str,
    jobs: int,
    keep: int | None,
    verify: str | None,
) -> None:
    """Back up the database (pg_dump, the migration ledger included) with a SHA-256 manifest;
    the last line printed is the backup's path."""
    from plainsql.backup import take_backup, verify_backup

    if verify not in (None, "-"):
        if out is not None or keep is not None or fmt != "custom":
            raise click.UsageError(
                "--verify FILE checks a backup: --out, --format, --keep are for taking one"
            )
        checked = verify_backup(settings, Path(verify), jobs=jobs, progress=_progress())
        _say(f"verified: {checked.tables} tables, {checked.rows} rows, the ledger matches")
        click.echo(str(checked.backup))
        return
    result = take_backup(
        settings, out=out, fmt=fmt, jobs=jobs, keep=keep, verify=verify == "-", progress=_progress()
    )
    click.echo(str(result.path))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--clean", is_flag=True, help="Into a non-empty database: drop the backup's objects first."
)
@click.option("--no-owner", is_flag=True, help="The login role owns everything restored.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Parallel pg_restore jobs (more than 1: not one transaction).",
)
@_needs_settings
def restore(settings: Settings, file: Path, clean: bool, no_owner: bool, jobs: int) -> None:
    """Restore a backup into the (empty) database, after checking its manifest."""
    from plainsql.backup import restore_backup

    result = restore_backup(
        settings, file, clean=clean, no_owner=no_owner, jobs=jobs, progress=_progress()
    )
    _say(
        f"restored {file} into {result.target}: {result.tables} tables, {result.rows} rows and "
        f"{result.applied} applied migrations, as the manifest says; run ANALYZE for planner "
        "statistics, `plainsql status` to see the migrations"
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="plainsql")
