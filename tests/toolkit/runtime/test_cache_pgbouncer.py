"""The query cache and the deduplication behind PgBouncer in transaction mode.

The units go through the pooler (``?pgbouncer=true``); the cache listens over ``DIRECT_URL``,
and without it refuses to open (``SessionRequired``). A scope asks the server whether a query
is a read inside the unit's own transaction, which is safe through the pooler.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import plainsql
from plainsql import AsyncDatabase, load_settings
from plainsql.cli import cli
from plainsql.config import Settings
from plainsql.errors import SessionRequired
from plainsql.migrate.runner import Migrator

from ..fixtures import write_migration

pytestmark = pytest.mark.standalone


@pytest.fixture
def settings(tmp_path: Path, pgbouncer: tuple[str, str]) -> Settings:
    pooled, direct = pgbouncer
    (tmp_path / "pyproject.toml").write_text("[tool.plainsql]\n")
    write_migration(
        tmp_path,
        "0001_prices",
        "-- 0001_prices: a price list.\n"
        "CREATE TABLE prices (item text PRIMARY KEY, cents integer NOT NULL);\n"
        "INSERT INTO prices VALUES ('tea', 250);\n",
        "DROP TABLE prices;\n",
    )
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "prices.sql").write_text(
        "-- name: get_price(item)$\n-- The item's price in cents.\n-- plainsql: cache ttl=1min\n"
        "SELECT cents FROM prices WHERE item = :item;\n\n"
        "-- name: get_price_uncached(item)$\n-- The same, not cached.\n"
        "SELECT cents FROM prices WHERE item = :item;\n"
    )
    env = {"DATABASE_URL": f"{pooled}?pgbouncer=true", "DIRECT_URL": direct}
    done = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "cache", "migration"], env=env)
    assert done.exit_code == 0, done.output
    loaded = load_settings(env, project_dir=tmp_path)
    with Migrator(loaded) as migrator:
        migrator.migrate()
    return loaded


async def test_the_cache_listens_over_the_direct_url_and_serves_pooled_units(
    settings: Settings,
) -> None:
    q: Any = plainsql.load_async_queries(settings.sql_dir, settings=settings)
    async with plainsql.open_async_pool(settings) as pool:
        db = AsyncDatabase(pool, settings)
        async with plainsql.open_async_cache(db, q) as cache:
            read = db.unit(read_only=True)
            assert [await read.run(q.get_price, item="tea") for _ in range(2)] == [250, 250]
            seen = cache.notifications
            async with db.transaction() as conn:  # through the pooler too
                await conn.execute("UPDATE prices SET cents = 300 WHERE item = 'tea'")
            await cache.wait_for_notification(seen)
            assert await read.run(q.get_price, item="tea") == 300
            counts = cache.stats()["get_price"]
            assert (counts.hits, counts.misses) == (1, 2)
        with plainsql.deduplicate_reads() as scope:
            for _ in range(3):
                assert await read.run(q.get_price_uncached, item="tea") == 300
        assert (scope.ran, scope.reused) == (1, 2)


async def test_without_a_direct_url_the_cache_refuses_to_open(settings: Settings) -> None:
    pooled_only = replace(settings, direct_url=None)
    q: Any = plainsql.load_async_queries(settings.sql_dir, settings=settings)
    async with plainsql.open_async_pool(pooled_only) as pool:
        with pytest.raises(SessionRequired, match="DIRECT_URL"):
            async with plainsql.open_async_cache(AsyncDatabase(pool, pooled_only), q):
                pass
