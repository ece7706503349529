"""ContentService on a real PostgreSQL: import by COPY, page trees, backlinks, search, plans."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from plainsql import AsyncDatabase, Queries, Settings
from plainsql.errors import InvalidInput
from plainsql.seed import run_seeds
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services import content as content_module
from reference_apps.services.content import (
    MAX_BACKLINKS,
    MAX_TREE_ROWS,
    BlockInput,
    BlockTree,
    ContentService,
    InvalidContent,
    PageInput,
    PageNotFound,
    block_uuid,
    page_uuid,
)
from reference_apps.services.errors import TooManyRows
from reference_apps.services.site import SiteService
from reference_apps.services.workspaces import Workspace, WorkspaceNotFound, WorkspaceService

from ..fixtures import add_workspace

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def link(page: str, text: str = "link") -> str:
    return f'<a data-page="{page}">{text}</a>'


SITE = [
    PageInput(
        "guides/setup/intro",
        "Setting up",
        html="<p>How to set things up.</p>",
        metadata={"tags": ["setup"], "draft": False},
        blocks=[
            BlockInput(
                "<p>Install the tool</p>",
                children=[
                    BlockInput(
                        "<p>On Linux</p>",
                        children=[
                            BlockInput(
                                "<p>Debian</p>",
                                children=[BlockInput("<p>Bookworm</p>")],
                            )
                        ],
                    ),
                    BlockInput("<p>On macOS</p>", metadata={"os": "mac"}),
                ],
            ),
            BlockInput(f"<p>Questions? See {link('faq', 'the FAQ')}.</p>"),
        ],
    ),
    PageInput(
        "faq",
        "Frequently asked questions",
        blocks=[
            BlockInput("<p>Why SQL files? Because reviewers read SQL.</p>"),
            BlockInput(f"<p>Back to {link('guides/setup/intro', 'setup')}</p>"),
        ],
    ),
    PageInput(
        "R&D",
        "Research and development",
        blocks=[
            BlockInput(f"<p>Related: {link('faq')} and {link('faq', 'again')}</p>"),
            BlockInput("<p>The word faq without a link, and faq-old.</p>"),
        ],
    ),
    PageInput(
        "notes",
        "Loose notes",
        blocks=[BlockInput(f"<p>{link('R&amp;D', 'research')} is where ideas go</p>")],
    ),
]
SITE_NODES = 4 + 6 + 2 + 2 + 1


@pytest.fixture
def content(plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> ContentService:
    return ContentService(plainsql_async_db, typed_queries)


async def node_keys(pool: Pool, workspace_id: int) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT uuid, parent_uuid, position, page_name, title, html FROM nodes"
            " WHERE workspace_id = %s ORDER BY uuid",
            (workspace_id,),
        )
        return await cur.fetchall()


def walk(blocks: tuple[BlockTree, ...]) -> Iterator[BlockTree]:
    for block in blocks:
        yield block
        yield from walk(block.children)


async def test_import_then_read_a_page_as_a_tree_in_order(
    content: ContentService, workspace: Workspace
) -> None:
    summary = await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    assert (summary.pages, summary.blocks, summary.nodes, summary.replaced) == (4, 11, 15, 0)

    tree = await content.get_page(
        workspace.id, "guides/setup/intro", acting_user_id=workspace.user_id
    )
    assert tree is not None
    assert tree.page.uuid == page_uuid(workspace.id, "guides/setup/intro")
    assert (tree.page.title, tree.page.slug, tree.page.parent_uuid) == (
        "Setting up",
        "guides/setup/intro",
        None,
    )
    assert tree.page.metadata == {"tags": ["setup"], "draft": False}
    assert [b.node.html for b in tree.blocks] == [
        "<p>Install the tool</p>",
        '<p>Questions? See <a data-page="faq">the FAQ</a>.</p>',
    ]
    install = tree.blocks[0]
    assert [c.node.html for c in install.children] == ["<p>On Linux</p>", "<p>On macOS</p>"]
    assert install.children[1].node.metadata == {"os": "mac"}
    assert [(b.node.html, b.depth) for b in walk(tree.blocks)] == [
        ("<p>Install the tool</p>", 1),
        ("<p>On Linux</p>", 2),
        ("<p>Debian</p>", 3),
        ("<p>Bookworm</p>", 4),
        ("<p>On macOS</p>", 2),
        ('<p>Questions? See <a data-page="faq">the FAQ</a>.</p>', 1),
    ]
    debian = install.children[0].children[0]
    assert debian.node.uuid == block_uuid(tree.page.uuid, [0, 0, 0])
    assert debian.node.parent_uuid == install.children[0].node.uuid
    assert all(b.node.page_name == "guides/setup/intro" for b in walk(tree.blocks))

    assert await content.get_page(workspace.id, "missing", acting_user_id=workspace.user_id) is None
    assert (
        await content.get_page(workspace.id + 1000, "faq", acting_user_id=workspace.user_id) is None
    )


async def test_the_tree_stops_at_the_workspace_embed_depth(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, content: ContentService
) -> None:
    shallow = await add_workspace(plainsql_async_db, typed_queries, "shallow", embed_depth=2)
    await content.import_content(shallow.id, SITE, acting_user_id=shallow.user_id)
    tree = await content.get_page(shallow.id, "guides/setup/intro", acting_user_id=shallow.user_id)
    assert tree is not None
    assert [(b.node.html, b.depth) for b in walk(tree.blocks)] == [
        ("<p>Install the tool</p>", 1),
        ("<p>On Linux</p>", 2),
        ("<p>On macOS</p>", 2),
        ('<p>Questions? See <a data-page="faq">the FAQ</a>.</p>', 1),
    ]


async def test_list_pages_by_name_a_page_at_a_time(
    content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    pages = await content.list_pages(workspace.id, acting_user_id=workspace.user_id)
    assert [p.page_name for p in pages.items] == sorted(p.name for p in SITE)
    assert all(p.parent_uuid is None for p in pages.items)
    assert pages.next_cursor is None

    walked, after = [], None
    while True:
        page = await content.list_pages(
            workspace.id, acting_user_id=workspace.user_id, after=after, page_size=1
        )
        walked += [p.page_name for p in page.items]
        if (after := page.next_cursor) is None:
            break
    assert walked == sorted(p.name for p in SITE)


async def test_reimporting_the_same_content_changes_no_key_and_duplicates_nothing(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    first = await node_keys(plainsql_async_pool, workspace.id)
    summary = await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    assert summary.replaced == SITE_NODES
    second = await node_keys(plainsql_async_pool, workspace.id)
    assert second == first
    assert len(second) == SITE_NODES == len({row[0] for row in second})


async def test_reimport_replaces_what_changed(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    kept = SITE[1]
    added = PageInput("changelog", "Changelog", blocks=[BlockInput("<p>v1</p>")])
    await content.import_content(workspace.id, [kept, added], acting_user_id=workspace.user_id)
    assert [
        p.page_name
        for p in (await content.list_pages(workspace.id, acting_user_id=workspace.user_id)).items
    ] == ["changelog", "faq"]
    assert await content.count_nodes(workspace.id, acting_user_id=workspace.user_id) == 3 + 2
    faq = await content.get_page(workspace.id, "faq", acting_user_id=workspace.user_id)
    assert faq is not None
    assert faq.page.uuid == page_uuid(workspace.id, "faq")


async def test_keys_are_the_sql_node_uuid_of_the_documented_keys(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    async with plainsql_async_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT node_uuid(%(w)s::text || '::' || 'guides/setup/intro'),"
            " node_uuid(node_uuid(%(w)s::text || '::guides/setup/intro')::text || '::0.0.0')",
            {"w": workspace.id},
        )
        row = await cur.fetchone()
    assert row is not None
    page = page_uuid(workspace.id, "guides/setup/intro")
    assert row == (page, block_uuid(page, [0, 0, 0]))
    assert (page.version, page.variant) == (8, "specified in RFC 4122")
    # The same page name in another workspace has another key.
    assert page_uuid(workspace.id + 1, "guides/setup/intro") != page


async def test_deleting_a_page_removes_all_its_blocks(
    content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    await content.delete_page(workspace.id, "guides/setup/intro", acting_user_id=workspace.user_id)
    assert (
        await content.get_page(workspace.id, "guides/setup/intro", acting_user_id=workspace.user_id)
        is None
    )
    assert (
        await content.count_nodes(workspace.id, acting_user_id=workspace.user_id) == SITE_NODES - 7
    )
    with pytest.raises(PageNotFound):
        await content.delete_page(
            workspace.id, "guides/setup/intro", acting_user_id=workspace.user_id
        )


async def test_backlinks_are_the_blocks_that_link_the_page(
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    content: ContentService,
    workspace: Workspace,
) -> None:
    other = await add_workspace(plainsql_async_db, typed_queries, "bob")
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    await content.import_content(other.id, SITE, acting_user_id=other.user_id)

    faq = await content.list_backlinks(workspace.id, "faq", acting_user_id=workspace.user_id)
    assert [(b.page_name, b.position, b.page_title) for b in faq] == [
        ("R&D", 0, "Research and development"),
        ("guides/setup/intro", 1, "Setting up"),
    ]
    intro = page_uuid(workspace.id, "guides/setup/intro")
    assert faq[1].uuid == block_uuid(intro, [1])
    assert faq[1].page_uuid == intro
    assert faq[1].parent_uuid == intro
    # An entity in the attribute is decoded: data-page="R&amp;D" links the page "R&D".
    assert [
        b.page_name
        for b in await content.list_backlinks(workspace.id, "R&D", acting_user_id=workspace.user_id)
    ] == ["notes"]
    assert (
        await content.list_backlinks(workspace.id, "faq-old", acting_user_id=workspace.user_id)
        == []
    )
    assert (
        await content.list_backlinks(workspace.id, "notes", acting_user_id=workspace.user_id) == []
    )


async def test_search_ranks_title_matches_first_and_highlights(
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    content: ContentService,
    workspace: Workspace,
) -> None:
    other = await add_workspace(plainsql_async_db, typed_queries, "bob")
    pages = [
        PageInput("install", "Installing", blocks=[BlockInput("<p>Steps follow.</p>")]),
        PageInput(
            "misc",
            "Miscellany",
            blocks=[
                BlockInput("<p>Unrelated words about <b>gardens</b>.</p>"),
                BlockInput("<p>Once you <em>installed</em> it, restart.</p>"),
            ],
        ),
    ]
    await content.import_content(workspace.id, pages, acting_user_id=workspace.user_id)
    await content.import_content(other.id, pages, acting_user_id=other.user_id)

    hits = await content.search(workspace.id, "install", acting_user_id=workspace.user_id)
    assert [(h.page_name, h.parent_uuid is None) for h in hits] == [
        ("install", True),
        ("misc", False),
    ]
    assert hits[0].rank > hits[1].rank > 0
    assert "<mark>Installing</mark>" in hits[0].snippet
    assert "<mark>installed</mark>" in hits[1].snippet
    assert "<em>" not in hits[1].snippet
    assert [
        h.title
        for h in await content.search(workspace.id, "gardens", acting_user_id=workspace.user_id)
    ] == [""]
    assert await content.search(workspace.id, "volcano", acting_user_id=workspace.user_id) == []
    assert await content.search(workspace.id, "   ", acting_user_id=workspace.user_id) == []
    assert (
        len(
            await content.search(workspace.id, "install", limit=1, acting_user_id=workspace.user_id)
        )
        == 1
    )


async def test_search_is_the_workspace_s_top_matches_by_rank_never_another_s(
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    content: ContentService,
    workspace: Workspace,
    plainsql_conn: psycopg.Connection[Any],
) -> None:
    """The search path (app_search_nodes) changes neither which nodes come back nor their
    order: the workspace's matches by ts_rank, then page name, position and uuid (ties in rank
    are many here), cut at the limit; another user's workspace, which matches better, never
    comes back, even when its owner's search names this workspace."""
    other = await add_workspace(plainsql_async_db, typed_queries, "bob")
    plainsql_conn.execute(  # 3 pages of 20 blocks in each workspace, in one statement
        "INSERT INTO nodes (uuid, workspace_id, parent_uuid, position, page_name, slug, title,"
        "  html)"
        " SELECT md5(w || '-' || i)::uuid, w, CASE WHEN i > 0 THEN md5(w || '-' || -(i %% 3))::uuid"
        "  END, i / 7, 'page/' || abs(i) %% 3, 'page-' || abs(i) %% 3,"
        "  CASE WHEN w = %s THEN 'Install install install' WHEN i %% 4 = 0"
        "   THEN 'Install notes' ELSE 'Notes' END,"
        "  CASE WHEN i %% 3 = 0 THEN '<p>how to <b>install</b> it</p>' ELSE '<p>other</p>' END"
        " FROM unnest(ARRAY[%s, %s]::bigint[]) AS w, generate_series(-2, 60) AS i",
        (other.id, workspace.id, other.id),
    )
    plainsql_conn.commit()

    def expected(workspace_id: int, query: str) -> list[tuple[UUID, float]]:
        """The workspace's matches in the search's order, read by the owner (no policy)."""
        return [
            (row[0], row[1])
            for row in plainsql_conn.execute(
                "SELECT n.uuid, ts_rank(n.search_vector, q)"
                " FROM nodes AS n, websearch_to_tsquery('english', %s) AS q"
                " WHERE n.workspace_id = %s AND n.search_vector @@ q"
                " ORDER BY 2 DESC, n.page_name, n.position, n.uuid",
                (query, workspace_id),
            ).fetchall()
        ]

    ada = workspace.user_id
    for query in ("install", "install -other", '"install notes" or other'):
        mine = expected(workspace.id, query)
        assert len(mine) > 7
        for limit in (1, 7, 20, 500):
            hits = await content.search(workspace.id, query, acting_user_id=ada, limit=limit)
            assert [(h.uuid, h.rank) for h in hits] == mine[:limit], (query, limit)
    assert await content.search(other.id, "install", acting_user_id=ada) == []
    bobs = await content.search(other.id, "install", acting_user_id=other.user_id, limit=500)
    assert [(h.uuid, h.rank) for h in bobs] == expected(other.id, "install")
    assert await content.search(workspace.id, "install", acting_user_id=other.user_id) == []


async def test_invalid_content_is_refused_and_changes_nothing(
    content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    with pytest.raises(InvalidContent):
        await content.import_content(
            workspace.id, [SITE[0], SITE[1], SITE[0]], acting_user_id=workspace.user_id
        )
    with pytest.raises(InvalidContent):
        await content.import_content(
            workspace.id, [PageInput("  ", "Blank")], acting_user_id=workspace.user_id
        )
    with pytest.raises(WorkspaceNotFound):
        await content.import_content(workspace.id + 1000, SITE, acting_user_id=workspace.user_id)
    assert await content.count_nodes(workspace.id, acting_user_id=workspace.user_id) == SITE_NODES


async def test_a_failing_import_keeps_the_old_content(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    before = await node_keys(plainsql_async_pool, workspace.id)
    broken = [*SITE, PageInput("bad", "Bad", blocks=[BlockInput("<p>nul \x00 byte</p>")])]
    with pytest.raises(InvalidInput):
        await content.import_content(workspace.id, broken, acting_user_id=workspace.user_id)
    assert await node_keys(plainsql_async_pool, workspace.id) == before


TRICKY = [
    PageInput(
        "odd/Ünïcødé page",
        "Tabs\tnewlines\nand a \\ backslash",
        html=None,
        metadata={"quote": 'say "hi"', "nested": {"list": [1, 2.5, None, True]}, "emoji": "🚀"},
        blocks=[
            BlockInput("line one\r\nline two\\N not null", title="\\N"),
            BlockInput(None, metadata={}),
            BlockInput("<p>" + "long text " * 2_000 + "</p>"),
        ],
    ),
    PageInput("plain", "", html=""),
]


async def test_every_value_arrives_as_given(content: ContentService, workspace: Workspace) -> None:
    # The import sends binary COPY data it encodes itself: text with COPY's text-format
    # specials, NULLs, empty strings, long values and JSON must arrive unchanged.
    await content.import_content(workspace.id, TRICKY, acting_user_id=workspace.user_id)
    tree = await content.get_page(workspace.id, TRICKY[0].name, acting_user_id=workspace.user_id)
    assert tree is not None
    assert (tree.page.title, tree.page.html, tree.page.metadata) == (
        TRICKY[0].title,
        None,
        TRICKY[0].metadata,
    )
    assert [(b.node.html, b.node.title, b.node.metadata) for b in tree.blocks] == [
        (b.html, b.title, b.metadata) for b in TRICKY[0].blocks
    ]
    plain = await content.get_page(workspace.id, "plain", acting_user_id=workspace.user_id)
    assert plain is not None
    assert (plain.page.title, plain.page.html, plain.page.metadata) == ("", "", None)


async def test_text_utf8_cannot_encode_is_invalid_content(
    content: ContentService, workspace: Workspace
) -> None:
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    surrogate = [PageInput("bad", "Bad", blocks=[BlockInput("<p>half a pair \ud800</p>")])]
    with pytest.raises(InvalidContent, match="UTF-8"):
        await content.import_content(workspace.id, surrogate, acting_user_id=workspace.user_id)
    assert await content.count_nodes(workspace.id, acting_user_id=workspace.user_id) == SITE_NODES


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Imports move 3 rows at a time: SITE's pages and nested blocks straddle chunks."""
    monkeypatch.setattr(content_module, "IMPORT_CHUNK_ROWS", 3)
    return 3


async def test_an_import_in_many_chunks_builds_the_same_trees(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace, small_chunks: int
) -> None:
    summary = await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    assert summary.pages + summary.blocks == SITE_NODES > small_chunks * 4
    keys = await node_keys(plainsql_async_pool, workspace.id)
    assert len(keys) == SITE_NODES
    tree = await content.get_page(workspace.id, SITE[0].name, acting_user_id=workspace.user_id)
    assert tree is not None
    assert [b.node.html for b in walk(tree.blocks)] == [
        "<p>Install the tool</p>",
        "<p>On Linux</p>",
        "<p>Debian</p>",
        "<p>Bookworm</p>",
        "<p>On macOS</p>",
        f"<p>Questions? See {link('faq', 'the FAQ')}.</p>",
    ]


async def test_a_failure_in_a_late_chunk_keeps_the_old_content(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace, small_chunks: int
) -> None:
    # Earlier chunks are already in nodes when the last one fails: the transaction takes them
    # back, and the pool's connection is usable afterwards.
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    before = await node_keys(plainsql_async_pool, workspace.id)
    broken = [*SITE, PageInput("bad", "Bad", blocks=[BlockInput("<p>nul \x00 byte</p>")])]
    with pytest.raises(InvalidInput, match=r"content\.import_content"):
        await content.import_content(workspace.id, broken, acting_user_id=workspace.user_id)
    assert await node_keys(plainsql_async_pool, workspace.id) == before
    surrogate = [*SITE, PageInput("bad", "Bad", html="\udfff")]
    with pytest.raises(InvalidContent):
        await content.import_content(workspace.id, surrogate, acting_user_id=workspace.user_id)
    assert await node_keys(plainsql_async_pool, workspace.id) == before
    summary = await content.import_content(workspace.id, SITE[:2], acting_user_id=workspace.user_id)
    assert summary.replaced == SITE_NODES


async def test_an_import_cancelled_while_a_chunk_moves_keeps_the_old_content(
    plainsql_async_pool: Pool,
    content: ContentService,
    workspace: Workspace,
    small_chunks: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The task is cancelled while the server moves the first chunk (the client is building the
    # second): the statement is abandoned, the transaction rolled back, the connection usable.
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    before = await node_keys(plainsql_async_pool, workspace.id)
    rows = content_module.node_rows

    def cancelling_rows(workspace_id: int, pages: Any) -> Iterator[Any]:
        for i, row in enumerate(rows(workspace_id, pages)):
            if i == small_chunks:  # the first row of the second chunk
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
            yield row

    monkeypatch.setattr(content_module, "node_rows", cancelling_rows)
    with pytest.raises(asyncio.CancelledError):
        await content.import_content(workspace.id, SITE[:2], acting_user_id=workspace.user_id)
    monkeypatch.setattr(content_module, "node_rows", rows)
    assert await node_keys(plainsql_async_pool, workspace.id) == before
    summary = await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    assert summary.replaced == SITE_NODES


async def test_concurrent_imports_of_one_workspace_serialize(
    plainsql_async_pool: Pool, content: ContentService, workspace: Workspace
) -> None:
    versions = [
        [
            PageInput(f"v{v}-page-{p}", f"Page {p}", blocks=[BlockInput("<p>x</p>")])
            for p in range(30)
        ]
        for v in range(4)
    ]
    await asyncio.gather(
        *(
            content.import_content(workspace.id, pages, acting_user_id=workspace.user_id)
            for pages in versions
        )
    )
    names = {
        p.page_name
        for p in (await content.list_pages(workspace.id, acting_user_id=workspace.user_id)).items
    }
    assert names in [{p.name for p in pages} for pages in versions]
    assert await content.count_nodes(workspace.id, acting_user_id=workspace.user_id) == 60


@pytest.mark.slow
async def test_an_import_of_100000_nodes_in_one_call(
    content: ContentService, workspace: Workspace
) -> None:
    # 1,000 pages, each with 33 blocks holding 2 children each: 1,000 * (1 + 33 * 3) nodes.
    pages = [
        PageInput(
            f"page-{p}",
            f"Page {p}",
            blocks=[
                BlockInput(
                    f"<p>block {b} of {link(f'page-{(p + b) % 1000}')}</p>",
                    children=[BlockInput("<p>child one</p>"), BlockInput("<p>child two</p>")],
                )
                for b in range(33)
            ],
        )
        for p in range(1000)
    ]
    summary = await content.import_content(workspace.id, pages, acting_user_id=workspace.user_id)
    assert summary.nodes == 100_000
    assert await content.count_nodes(workspace.id, acting_user_id=workspace.user_id) == 100_000


def plan_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    if isinstance(plan, dict):
        if "Node Type" in plan:
            yield plan
        for value in plan.values():
            yield from plan_nodes(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from plan_nodes(item)


def explain(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    row = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()
    assert row is not None
    return list(plan_nodes(row[0]))


@pytest.mark.slow
async def test_backlinks_and_page_tree_never_scan_all_nodes(
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_queries: Queries,
    content: ContentService,
    workspace: Workspace,
    plainsql_conn: psycopg.Connection[Any],
) -> None:
    def site(pages: int, blocks: int) -> list[PageInput]:
        # Every fifth block links another page: each page gets a handful of backlinks.
        return [
            PageInput(
                f"topic/{p}",
                f"Topic {p}",
                blocks=[
                    BlockInput(
                        f"<p>Note {b} on topic {p}"
                        + (f", see {link(f'topic/{(p * 7 + b) % pages}')}" if b % 5 == 0 else "")
                        + "</p>",
                        children=[BlockInput(f"<p>detail {b}</p>")] if b % 2 == 0 else (),
                    )
                    for b in range(blocks)
                ],
            )
            for p in range(pages)
        ]

    summary = await content.import_content(
        workspace.id, site(200, 40), acting_user_id=workspace.user_id
    )
    assert summary.blocks >= 10_000
    for name in ("bob", "carol"):
        other = await add_workspace(plainsql_async_db, typed_queries, name)
        await content.import_content(other.id, site(150, 40), acting_user_id=other.user_id)
    plainsql_conn.execute("ANALYZE nodes")
    plainsql_conn.execute("ANALYZE workspaces")

    backlinks = await content.list_backlinks(
        workspace.id, "topic/42", acting_user_id=workspace.user_id
    )
    assert 0 < len(backlinks) < 20
    tree = await content.get_page(workspace.id, "topic/42", acting_user_id=workspace.user_id)
    assert tree is not None
    assert len(tree.blocks) == 40

    # Beyond "no Seq Scan": an index scan that walks all of the workspace's blocks would pass
    # that, so each query must also reach nodes through the index that answers it.
    params = {"workspace_id": workspace.id, "page_name": "topic/42"}
    for query, index in (
        (plainsql_queries.content.list_backlinks_by_page, "nodes_linked_pages_idx"),
        (
            plainsql_queries.content.list_page_tree,
            "nodes_workspace_id_parent_uuid_position_idx",
        ),
    ):
        plan = explain(plainsql_conn, query.sql, params)
        seq_scans = [n for n in plan if n["Node Type"] == "Seq Scan"]
        indexes = {n["Index Name"] for n in plan if "Index Name" in n}
        assert not [n for n in seq_scans if n.get("Relation Name") == "nodes"], (
            f"{query.__name__} scans nodes sequentially (indexes used: {sorted(indexes)})"
        )
        assert index in indexes, f"{query.__name__} does not use {index}: {sorted(indexes)}"

    # The site's visitor reads the same tables under its own policies (reference_visitor):
    # the policies must not turn the tree or the backlinks into a scan of every node. (Under a
    # policy PostgreSQL cannot use node_linked_pages(html) @> ... as an index condition: it is
    # not leakproof, so it may not run before the policy's. The backlinks then read the
    # workspace's blocks through an index that names the workspace: its blocks in the parent
    # index, or each page's nodes by (workspace_id, page_name), whichever the planner costs
    # lower; either reads this workspace's nodes only.)
    visitor = {"workspace_id": workspace.id, "slug": "topic/42", "page_name": "topic/42"}
    in_workspace = {
        "nodes_workspace_id_parent_uuid_position_idx",
        "nodes_workspace_id_page_name_idx",
    }
    plainsql_conn.execute("SET ROLE reference_visitor")
    try:
        for query, wanted in (
            (plainsql_queries.content.list_backlinks_by_page, in_workspace),
            (
                plainsql_queries.site.list_site_page_tree,
                {"nodes_workspace_id_parent_uuid_position_idx"},
            ),
        ):
            plan = explain(plainsql_conn, query.sql, visitor)
            scanned = [n for n in plan if n["Node Type"] == "Seq Scan"]
            indexes = {n["Index Name"] for n in plan if "Index Name" in n}
            assert not [n for n in scanned if n.get("Relation Name") == "nodes"], (
                f"as a visitor {query.__name__} scans nodes sequentially ({sorted(indexes)})"
            )
            assert indexes & wanted, f"as a visitor {query.__name__}: {sorted(indexes)}"
    finally:
        plainsql_conn.rollback()
        plainsql_conn.execute("RESET ROLE")


async def test_the_seed_workspace_reads_back(
    plainsql_settings: Settings,
    plainsql_async_pool: Pool,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    content: ContentService,
) -> None:
    run_seeds(plainsql_settings)
    run_seeds(plainsql_settings)  # idempotent
    workspace = await WorkspaceService(plainsql_async_db, typed_queries).get_by_user(
        acting_user_id="seed-user-alice"
    )
    assert workspace is not None
    pages = (await content.list_pages(workspace.id, acting_user_id=workspace.user_id)).items
    assert len(pages) >= 3
    assert all(p.uuid == page_uuid(workspace.id, p.page_name) for p in pages)
    trees = [
        await content.get_page(workspace.id, p.page_name, acting_user_id=workspace.user_id)
        for p in pages
    ]
    assert any(b.depth >= 2 for t in trees if t is not None for b in walk(t.blocks))
    for tree in trees:
        assert tree is not None
        keys = _block_keys(tree.page.uuid, tree.blocks, [])
        assert {b.node.uuid for b in walk(tree.blocks)} == keys
    linked = [
        await content.list_backlinks(workspace.id, p.page_name, acting_user_id=workspace.user_id)
        for p in pages
    ]
    assert any(linked)
    async with plainsql_async_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM git_repositories WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM deployment_history WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM nodes WHERE workspace_id = %(w)s)",
            {"w": workspace.id},
        )
        counts = await cur.fetchone()
    assert counts is not None
    assert counts[:2] == (1, 2)
    assert counts[2] == len(pages) + sum(len(list(walk(t.blocks))) for t in trees if t is not None)


def _block_keys(page: UUID, blocks: tuple[BlockTree, ...], path: list[int]) -> set[UUID]:
    """The deterministic keys of every block, from their positions."""
    keys: set[UUID] = set()
    for block in blocks:
        here = [*path, block.node.position]
        keys.add(block_uuid(page, here))
        keys |= _block_keys(page, block.children, here)
    return keys


async def test_search_text_and_result_counts_are_bounded(
    content: ContentService, workspace: Workspace
) -> None:
    with pytest.raises(InvalidInput, match="query must be at most 1,000 characters"):
        await content.search(workspace.id, "word " * 2_000_000, acting_user_id=workspace.user_id)
    with pytest.raises(InvalidInput, match="limit must be between 1 and 500"):
        await content.search(workspace.id, "setup", limit=100_000, acting_user_id=workspace.user_id)


async def test_a_page_or_backlinks_past_their_cap_are_refused_never_cut_short(
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    content: ContentService,
    workspace: Workspace,
) -> None:
    """A page's tree and a page's backlinks are shown whole, not paged: up to their cap they
    come back whole, one row more is TooManyRows, for the owner and for the site's visitor."""
    site = SiteService(plainsql_async_db, typed_queries)
    owner = workspace.user_id

    def pages(tree_rows: int, backlinks: int) -> list[PageInput]:
        blocks = [BlockInput(f"<p>{i}</p>") for i in range(tree_rows - 1)]  # under the page
        return [
            PageInput("big", "Big", blocks=blocks),
            PageInput("links", "Links", blocks=[BlockInput(link("target"))] * backlinks),
        ]

    async def reads() -> list[int]:
        tree = await content.get_page(workspace.id, "big", acting_user_id=owner)
        published = await site.page(workspace.slug, "big")
        assert tree is not None
        assert published is not None
        return [
            1 + len(tree.blocks),
            1 + len(published.tree.blocks),
            len(await content.list_backlinks(workspace.id, "target", acting_user_id=owner)),
            len(await site.backlinks(workspace.id, "target")),
        ]

    await content.import_content(
        workspace.id, pages(MAX_TREE_ROWS, MAX_BACKLINKS), acting_user_id=owner
    )
    assert await reads() == [MAX_TREE_ROWS] * 2 + [MAX_BACKLINKS] * 2

    await content.import_content(
        workspace.id, pages(MAX_TREE_ROWS + 1, MAX_BACKLINKS + 1), acting_user_id=owner
    )
    for refused, message in (
        (content.get_page(workspace.id, "big", acting_user_id=owner), "10,000 nodes"),
        (site.page(workspace.slug, "big"), "10,000 nodes"),
        (content.list_backlinks(workspace.id, "target", acting_user_id=owner), "1,000 backlinks"),
        (site.backlinks(workspace.id, "target"), "1,000 backlinks"),
    ):
        with pytest.raises(TooManyRows, match=message):
            await refused
