"""The notes site's visitors: published pages by workspace slug or custom domain, read as
``reference_visitor`` with no acting user.

Every workspace's pages are public. The site's units of work act as the NOLOGIN role
``reference_visitor`` (migration 20261207022311: SELECT on ``nodes`` and on the public columns
of ``workspaces``, policies of its own, nothing else), whatever ``transaction-role`` the
handle it is given carries (:meth:`plainsql.AsyncDatabase.with_transaction_role`). A
deployment of the site logs in as a role of its own that is a member of ``reference_visitor``
(or shares the application's pool, whose login role is a member of both roles). The queries
read the tables directly (``sql/site/`` and content's ``list_pages_by_workspace`` and
``list_backlinks_by_page``): no acting user, no function in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from plainsql import AsyncConn, AsyncDatabase, Page
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import GetSiteWorkspaceByDomainRow, GetSiteWorkspaceBySlugRow
from reference_apps.services.base import Service
from reference_apps.services.content import (
    DEFAULT_PAGE_SIZE,
    Backlink,
    Node,
    PageTree,
    read_backlinks,
    read_pages,
    tree_of,
)

VISITOR_ROLE = "reference_visitor"

SiteWorkspace = GetSiteWorkspaceBySlugRow
"""A workspace's public face: id, slug, name, domain (lowercase; None without one),
embed_depth."""


@dataclass(frozen=True, slots=True)
class SitePage:
    """A published page: its workspace and its tree down to the workspace's embed_depth."""

    workspace: SiteWorkspace
    tree: PageTree


def _public(row: GetSiteWorkspaceByDomainRow) -> SiteWorkspace:
    return SiteWorkspace(row.id, row.slug, row.name, row.domain, row.embed_depth)


class SiteService(Service):
    """What a visitor of the notes site reads; each method is one read-only transaction as
    ``reference_visitor``, with no acting user.

    A visitor reads published notes: a read replica may serve every one of them (the site's
    queries are marked ``-- plainsql: replica-safe``; the content queries it shares with the
    owner's pages run in units opened with ``replica=True``, so the owner's own reads stay on
    the primary). With no replica configured they all run on the primary."""

    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries) -> None:
        super().__init__(db.with_transaction_role(VISITOR_ROLE), q)

    async def workspace(self, slug: str) -> SiteWorkspace | None:
        """The workspace with this slug (the site's ``/{slug}/...``), or None."""
        get = self.q.site.get_site_workspace_by_slug
        return await self.reading(None).run(get, slug=slug)

    async def workspace_by_domain(self, domain: str) -> SiteWorkspace | None:
        """The workspace whose custom domain is ``domain`` (a Host header), case ignored."""
        get = self.q.site.get_site_workspace_by_domain
        row = await self.reading(None).run(get, domain=domain)
        return None if row is None else _public(row)

    async def page(self, workspace_slug: str, page_slug: str) -> SitePage | None:
        """The page at ``/{workspace_slug}/{page_slug}`` with its blocks, or None."""
        async with self.db.transaction(replica=True) as conn:
            workspace = await self.q.site.get_site_workspace_by_slug(conn, slug=workspace_slug)
            return await self._page(conn, workspace, page_slug)

    async def page_by_domain(self, domain: str, page_slug: str) -> SitePage | None:
        """The page ``page_slug`` of the workspace served at ``domain`` (case ignored)."""
        async with self.db.transaction(replica=True) as conn:
            found = await self.q.site.get_site_workspace_by_domain(conn, domain=domain)
            return await self._page(conn, None if found is None else _public(found), page_slug)

    async def pages(
        self, workspace_id: int, *, after: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Page[Node]:
        """One page of the workspace's pages (without blocks) by name: the site's index;
        ``after`` is the previous page's ``next_cursor``."""
        return await read_pages(self.db.unit(replica=True), self.q, workspace_id, after, page_size)

    async def backlinks(self, workspace_id: int, page_name: str) -> list[Backlink]:
        """The blocks of the workspace that link the page, with the page each sits on; more
        than ``content.MAX_BACKLINKS`` is TooManyRows."""
        unit = self.db.unit(replica=True)
        return await read_backlinks(unit, self.q, workspace_id, page_name)

    async def _page(
        self, conn: AsyncConn, workspace: SiteWorkspace | None, page_slug: str
    ) -> SitePage | None:
        """The page ``page_slug`` of ``workspace`` (None: no such workspace), in its unit."""
        if workspace is None:
            return None
        rows = await self.q.site.list_site_page_tree(
            conn, workspace_id=workspace.id, slug=page_slug
        )
        tree = tree_of(rows)  # more than content.MAX_TREE_ROWS nodes: TooManyRows
        return None if tree is None else SitePage(workspace, tree)


__all__ = ["VISITOR_ROLE", "SitePage", "SiteService", "SiteWorkspace"]
