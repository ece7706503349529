"""The notes site on a read replica: a visitor's pages come from a streaming standby, and an
owner who publishes sees the page on the site at once (read-your-writes, by the scope).

The application's schema is migrated into an embedded primary of the test's own, and a
standby is made of it (``plainsql.testing.streaming_pair``); its replay is paused while the
owner publishes, so only the primary has the new page. These tests start their own servers:
they run once, in ``make test-standalone``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from plainsql import (
    AsyncDatabase,
    Scope,
    load_async_queries,
    load_settings,
    open_async_pool,
    open_async_replicas,
)
from plainsql.testing import StreamingPair, streaming_pair
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.content import ContentService, PageInput
from reference_apps.services.site import SiteService

from .fixtures import add_workspace

pytestmark = [pytest.mark.standalone, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")]

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0  # a bound on waiting for replay; never a measured figure


@pytest.fixture(scope="module")
def servers() -> Iterator[StreamingPair]:
    """The application's schema on a primary of its own, and a standby of it."""
    with streaming_pair(load_settings(environ={}, project_dir=REPO), "reference") as pair:
        yield pair


def on_standby(servers: StreamingPair, sql: str, *params: object) -> bool:
    with psycopg.connect(servers.standby_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone() is not None


async def test_a_visitor_reads_from_the_standby_and_the_publisher_sees_the_page_at_once(
    servers: StreamingPair,
) -> None:
    base = load_settings(environ={"DATABASE_URL": servers.primary_url}, project_dir=REPO)
    # A lag limit no test reaches: only the scope keeps the publisher's read on the primary.
    settings = replace(
        base,
        replica_urls=(servers.standby_url,),
        replica_poll_ms=50,
        replica_max_lag_ms=600_000,
    )
    q = AsyncTypedQueries(load_async_queries(settings.sql_dir))
    async with open_async_pool(settings) as pool, open_async_replicas(settings) as replicas:
        db = AsyncDatabase(pool, settings, replicas=replicas)
        workspace = await add_workspace(db, q, "ada")
        deadline = time.monotonic() + WAIT
        while not (
            on_standby(servers, "SELECT 1 FROM workspaces WHERE id = %s", workspace.id)
            and all(stats.serving for stats in replicas.statistics())
        ):
            assert time.monotonic() < deadline, "the workspace replayed and the standby serving"
            await asyncio.sleep(0.05)

        page = PageInput("guides/intro", "Introduction", slug="intro", html="<p>Hello</p>")
        visitor, before = SiteService(db, q), replicas.statistics()[0].reads
        with servers.replay_paused():
            scope = Scope()
            with scope.active():
                await ContentService(db, q).import_content(
                    workspace.id, [page], acting_user_id=workspace.user_id
                )
                published = await visitor.page("ada", "intro")  # the publisher looks at once
            assert published is not None
            assert published.tree.page.title == "Introduction"
            # A visitor without the publisher's scope: the paused standby serves, without it.
            assert await visitor.page("ada", "intro") is None
            assert replicas.statistics()[0].reads > before

        deadline = time.monotonic() + WAIT
        while (seen := await visitor.page("ada", "intro")) is None:
            assert time.monotonic() < deadline, "the page replayed and served to a visitor"
            await asyncio.sleep(0.05)
        assert seen.tree.page.title == "Introduction"
        assert [p.page_name for p in (await visitor.pages(workspace.id)).items] == ["guides/intro"]
        # A typed query marked replica-safe (site.get_site_workspace_by_slug) goes there too.
        reads = replicas.statistics()[0].reads
        assert await visitor.workspace("ada") is not None
        assert replicas.statistics()[0].reads == reads + 1
