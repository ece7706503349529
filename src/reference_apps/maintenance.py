"""Maintenance commands of the reference applications, for a scheduler (cron, a k8s CronJob):

    python -m reference_apps.maintenance purge-teams --retention-days 30

``purge-teams`` deletes the teams soft-deleted more than the retention period ago (their
memberships go with them, and their slugs become free). It reads the same settings as the
application (``[tool.plainsql]``, DATABASE_URL, ...) and acts as the worker role
``reference_worker`` through its explicit path (the login role must be a member of it): no
acting user, no policy turned off.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import click

from plainsql import AsyncDatabase, load_async_queries, load_settings, open_async_pool
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.teams import TeamService


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

    async def run() -> int:
        settings = load_settings()
        async with open_async_pool(settings) as pool:
            q = AsyncTypedQueries(load_async_queries(settings.sql_dir, settings=settings))
            teams = TeamService(AsyncDatabase(pool, settings), q)
            return await teams.purge_deleted_teams(retention=timedelta(days=retention_days))

    purged = asyncio.run(run())
    click.echo(f"purged {purged} team(s) soft-deleted more than {retention_days} day(s) ago")


if __name__ == "__main__":
    main()
