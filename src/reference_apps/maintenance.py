"""Maintenance commands of the reference applications, for a scheduler (cron, a k8s CronJob):

    python -m reference_apps.maintenance purge-teams --retention-days 30
    python -m reference_apps.maintenance purge-sessions
    python -m reference_apps.maintenance purge-verifications
    python -m reference_apps.maintenance archive-audit --older-than 90d

Each reads the same settings as the application (``[tool.plainsql]``, DATABASE_URL, ...) and
acts as the worker role ``reference_worker`` through its explicit paths (the login role must
be a member of it): no acting user, no policy turned off. Each is safe to run while the
application runs, and beside another run of itself: it works in batches, one short
transaction each, that skip the rows another run holds (docs/production-roles.md,
"Maintenance").
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

import click

from plainsql import AsyncDatabase, load_async_queries, load_settings, open_async_pool
from plainsql.errors import PlainSQLError
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.audit import ARCHIVE_BATCH, AuditService
from reference_apps.services.sessions import EXPIRED_SESSIONS_BATCH, SessionService
from reference_apps.services.teams import TeamService
from reference_apps.services.verifications import (
    EXPIRED_VERIFICATIONS_BATCH,
    VerificationService,
)

Job = Callable[[AsyncDatabase, AsyncTypedQueries], Awaitable[int]]


def _run(job: Job) -> int:
    """Run ``job`` on a pool opened from the application's settings; what it returns. A
    failure (the server unreachable, a path refused) is one line and exit status 1."""

    async def run() -> int:
        settings = load_settings()
        async with open_async_pool(settings) as pool:
            q = AsyncTypedQueries(load_async_queries(settings.sql_dir, settings=settings))
            return await job(AsyncDatabase(pool, settings), q)

    try:
        return asyncio.run(run())
    except PlainSQLError as error:  # no message of plainsql's quotes a password or a value
        raise click.ClickException(str(error)) from error


_AGE_UNITS: Final = {"d": "days", "h": "hours", "min": "minutes", "s": "seconds"}


class Age(click.ParamType[timedelta]):
    """An age: a whole number of days (``90d``), hours (``12h``), minutes (``30min``) or
    seconds (``45s``)."""

    name = "age"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d{1,6})\s*(d|h|min|s)\s*", str(value))
        if match is None:
            self.fail(f"{value!r} is not an age such as 90d, 12h, 30min or 45s", param, ctx)
        return timedelta(**{_AGE_UNITS[match.group(2)]: int(match.group(1))})


def _age_text(age: timedelta) -> str:
    """``90 day(s)``, ``12 hour(s)``: an age as its largest whole unit."""
    seconds = int(age.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {unit}(s)"
    return f"{seconds} second(s)"


def _batch_size_option(default: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--batch-size",
        type=click.IntRange(min=1, max=10_000),
        default=default,
        show_default=True,
        help="Rows per transaction.",
    )


@click.group()
def main() -> None:
    """Maintenance jobs of the reference applications."""


@main.command("purge-teams")
@click.option(
    "--retention-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Purge teams soft-deleted more than this many days ago.",
)
def purge_teams(retention_days: int) -> None:
    """Delete teams soft-deleted longer ago than the retention period."""
    retention = timedelta(days=retention_days)
    purged = _run(lambda db, q: TeamService(db, q).purge_deleted_teams(retention=retention))
    click.echo(f"purged {purged} team(s) soft-deleted more than {retention_days} day(s) ago")


@main.command("purge-sessions")
@_batch_size_option(EXPIRED_SESSIONS_BATCH)
def purge_sessions(batch_size: int) -> None:
    """Delete every user's expired sessions."""
    purged = _run(
        lambda db, q: SessionService(db, q).delete_expired_sessions(batch_size=batch_size)
    )
    click.echo(f"purged {purged} expired session(s)")


@main.command("purge-verifications")
@_batch_size_option(EXPIRED_VERIFICATIONS_BATCH)
def purge_verifications(batch_size: int) -> None:
    """Delete the expired verifications (email verification, email change, password reset)."""
    purged = _run(
        lambda db, q: VerificationService(db, q).delete_expired_verifications(batch_size=batch_size)
    )
    click.echo(f"purged {purged} expired verification(s)")


@main.command("archive-audit")
@click.option(
    "--older-than",
    type=Age(),
    required=True,
    help="Move the audit entries older than this (90d, 12h, 30min, 45s; at most 10 years).",
)
@_batch_size_option(ARCHIVE_BATCH)
def archive_audit(older_than: timedelta, batch_size: int) -> None:
    """Move old audit entries from audit_log into audit_log_archive."""
    moved = _run(
        lambda db, q: AuditService(db, q).archive_entries(older_than, batch_size=batch_size)
    )
    entries = "entry" if moved == 1 else "entries"
    click.echo(f"archived {moved} audit {entries} older than {_age_text(older_than)}")


if __name__ == "__main__":
    main()
