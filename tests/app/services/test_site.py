"""SiteService on a real PostgreSQL: what a visitor of the notes site reads, as
reference_visitor with no acting user; custom domains unique whatever their case, stored
lowercase (their canonical form) by every writer."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.content import BlockInput, ContentService, PageInput
from reference_apps.services.site import SiteService
from reference_apps.services.workspaces import DomainTaken, Workspace, WorkspaceService

from ..fixtures import add_workspace

Conn = psycopg.Connection[Any]

PAGES = [
    PageInput(
        "guides/intro",
        "Introduction",
        slug="intro",
        html="<p>Start here.</p>",
        blocks=[
            BlockInput("<p>Install</p>", children=[BlockInput("<p>On Linux</p>")]),
            BlockInput('<p>Then read <a data-page="guides/next">next</a></p>'),
        ],
    ),
    PageInput("guides/next", "Next steps", slug="next"),
]


@pytest.fixture
def site(plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries) -> SiteService:
    return SiteService(plainsql_async_db, typed_queries)


@pytest.fixture
async def published(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, workspace: Workspace
) -> Workspace:
    """Ada's workspace at docs.ada.example (set as Docs.Ada.example), with PAGES imported."""
    content = ContentService(plainsql_async_db, typed_queries)
    await content.import_content(workspace.id, PAGES, acting_user_id=workspace.user_id)
    return await WorkspaceService(plainsql_async_db, typed_queries).update_settings(
        acting_user_id=workspace.user_id, domain="Docs.Ada.example"
    )


async def test_a_visitor_reads_a_page_by_workspace_slug_and_by_domain(
    site: SiteService, published: Workspace
) -> None:
    page = await site.page(published.slug, "intro")
    assert page is not None
    assert (page.workspace.id, page.workspace.slug, page.workspace.domain) == (
        published.id,
        published.slug,
        "docs.ada.example",
    )
    assert page.tree.page.title == "Introduction"
    assert [b.node.html for b in page.tree.blocks] == [
        "<p>Install</p>",
        '<p>Then read <a data-page="guides/next">next</a></p>',
    ]
    assert [c.node.html for c in page.tree.blocks[0].children] == ["<p>On Linux</p>"]
    by_domain = await site.page_by_domain("docs.ADA.Example", "intro")
    assert by_domain == page, "the same page, the domain's case ignored"
    assert await site.workspace_by_domain("DOCS.ADA.EXAMPLE") == page.workspace
    assert await site.workspace(published.slug) == page.workspace
    index = await site.pages(published.id)
    assert [p.page_name for p in index.items] == ["guides/intro", "guides/next"]
    backlinks = await site.backlinks(published.id, "guides/next")
    assert [(b.page_slug, b.html) for b in backlinks] == [
        ("intro", '<p>Then read <a data-page="guides/next">next</a></p>')
    ]


async def test_a_visitor_gets_nothing_for_what_does_not_exist(
    site: SiteService, published: Workspace
) -> None:
    assert await site.page(published.slug, "missing") is None
    assert await site.page("nobody", "intro") is None
    assert await site.page_by_domain("other.example", "intro") is None
    assert await site.workspace_by_domain("docs.ada.example.org") is None


async def test_every_workspace_is_public_but_a_soft_deleted_owner_s_is_gone(
    site: SiteService,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    published: Workspace,
    plainsql_conn: Conn,
) -> None:
    bob = await add_workspace(plainsql_async_db, typed_queries, "bob")
    await ContentService(plainsql_async_db, typed_queries).import_content(
        bob.id, [PageInput("home", "Bob's home")], acting_user_id="bob"
    )
    bob_page = await site.page("bob", "home")
    assert bob_page is not None, "no publish flag: every workspace's pages are public"
    assert bob_page.tree.page.title == "Bob's home"
    plainsql_conn.execute("UPDATE users SET deleted_at = now() WHERE id = 'bob'")
    plainsql_conn.commit()
    assert await site.page("bob", "home") is None
    assert await site.workspace("bob") is None
    assert (await site.pages(bob.id)).items == ()
    assert await site.page(published.slug, "intro") is not None, "Ada's stays"


async def test_domains_are_unique_whatever_their_case(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, published: Workspace
) -> None:
    workspaces = WorkspaceService(plainsql_async_db, typed_queries)
    await add_workspace(plainsql_async_db, typed_queries, "bob")
    with pytest.raises(DomainTaken) as caught:
        await workspaces.update_settings(acting_user_id="bob", domain="docs.ada.EXAMPLE")
    assert "workspaces_domain_key" in str(caught.value)
    async with plainsql_async_db.connection() as conn:
        await conn.execute(
            "INSERT INTO users (id, name, email) VALUES ('carol', 'Carol', 'carol@example.com')"
        )
    with pytest.raises(DomainTaken):
        await workspaces.create(
            acting_user_id="carol", slug="carol", name="Carol", domain="DOCS.ada.example"
        )
    # No domain is no claim: any number of workspaces have none.
    carol = await workspaces.create(acting_user_id="carol", slug="carol", name="Carol")
    bob = await workspaces.get_by_user(acting_user_id="bob")
    assert bob is not None
    assert (carol.domain, bob.domain) == (None, None)
    # Ada gives it up; then Bob can take it.
    await workspaces.update_settings(acting_user_id=published.user_id, domain=None)
    taken = await workspaces.update_settings(acting_user_id="bob", domain="docs.ada.EXAMPLE")
    assert taken.domain == "docs.ada.example"


async def test_every_writer_stores_a_domain_lowercase_and_the_site_finds_it_in_any_case(
    site: SiteService,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    published: Workspace,
    plainsql_conn: Conn,
) -> None:
    """The key on domain is unique case-insensitively because every domain is stored in its
    canonical form: the trigger lowercases what any writer sets (the service, psql), and the
    check refuses a domain that is not lowercase where the trigger does not run."""
    workspaces = WorkspaceService(plainsql_async_db, typed_queries)
    assert published.domain == "docs.ada.example"
    async with plainsql_async_db.connection() as conn:
        await conn.execute(
            "INSERT INTO users (id, name, email) VALUES ('carol', 'Carol', 'carol@example.com')"
        )
    carol = await workspaces.create(
        acting_user_id="carol", slug="carol", name="Carol", domain="Notes.CAROL.example"
    )
    assert carol.domain == "notes.carol.example"
    bob = await add_workspace(plainsql_async_db, typed_queries, "bob")
    plainsql_conn.execute(  # psql, as the owner
        "UPDATE workspaces SET domain = 'Bob.Example.ORG' WHERE id = %s", (bob.id,)
    )
    plainsql_conn.commit()
    stored = plainsql_conn.execute(
        "SELECT slug, domain FROM workspaces WHERE domain IS NOT NULL ORDER BY slug"
    ).fetchall()
    assert stored == [
        ("ada", "docs.ada.example"),
        ("bob", "bob.example.org"),
        ("carol", "notes.carol.example"),
    ]
    for host, slug in [
        ("bob.example.org", "bob"),
        ("BOB.EXAMPLE.ORG", "bob"),
        ("notes.carol.EXAMPLE", "carol"),
        ("Docs.Ada.Example", "ada"),
    ]:
        found = await site.workspace_by_domain(host)
        assert (found.slug if found else None) == slug, host
    with pytest.raises(psycopg.errors.UniqueViolation, match="workspaces_domain_key"):
        plainsql_conn.execute(
            "UPDATE workspaces SET domain = 'NOTES.carol.example' WHERE id = %s", (bob.id,)
        )
    plainsql_conn.rollback()
    plainsql_conn.execute("SET session_replication_role = replica")  # triggers off
    with pytest.raises(psycopg.errors.CheckViolation, match="workspaces_domain_lowercase"):
        plainsql_conn.execute(
            "UPDATE workspaces SET domain = 'Bob.Example.ORG' WHERE id = %s", (bob.id,)
        )
    plainsql_conn.rollback()
