"""Content: a workspace's pages and nested blocks (the ``nodes`` tree): import, read, search.

Node keys are deterministic, so importing the same content twice yields the same keys:

- a page's uuid is :func:`page_uuid`: SHA-256 of ``'<workspace_id>::<page_name>'``;
- a block's uuid is :func:`block_uuid`: SHA-256 of ``'<page uuid>::<path>'``, the path being
  the positions from the page down to the block joined by dots (``'0.2.1'`` is the second
  child of the third child of the page's first block).

Of the 32-byte digest the first 16 bytes are kept, with the version nibble set to 8 and the
variant bits to ``10`` (an RFC 9562 version-8 "custom" uuid): a valid uuid that says it is
not random. The SQL function ``node_uuid(key)`` (migration 0023) computes the same value;
a test holds the two together.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TypedDict
from uuid import UUID

import psycopg

from plainsql import AsyncUnit, KeysetList, Page, exactly_one
from plainsql.errors import DomainError, map_error
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import (
    JSONParam,
    ListBacklinksByPageRow,
    ListPageTreeRow,
    ListSearchResultsRow,
    NodeRow,
)
from reference_apps.services.base import Service, whole
from reference_apps.services.bounds import page_size, search_text
from reference_apps.services.errors import NotFound, TooManyRows
from reference_apps.services.workspaces import WorkspaceNotFound

DEFAULT_SEARCH_LIMIT = 20
DEFAULT_PAGE_SIZE = 100

# Lists shown whole, not paged (sql/content/pages.sql, links.sql): their queries ask for one row
# more, and a longer list is TooManyRows rather than cut short.
MAX_TREE_ROWS = 10_000
"""The most nodes of a page's tree (the page and its blocks down to embed_depth)."""
MAX_BACKLINKS = 1_000
"""The most blocks linking one page."""


class AfterPageName(TypedDict):
    """The cursor arguments of a workspace's pages by name (``plainsql.KeysetList``'s
    ``arguments``): the name is unique among them (nodes_page_key), so it is the whole key."""

    after_page_name: str | None
    page_size: int


PAGES = KeysetList[NodeRow, None, str | None, AfterPageName](
    "pages", lambda r: (None, r.page_name), AfterPageName
)


async def read_pages(
    unit: AsyncUnit, q: AsyncTypedQueries, workspace_id: int, after: str | None, size: int
) -> Page[NodeRow]:
    """One page of the workspace's pages, read in ``unit`` (the owner's or a visitor's)."""
    page = PAGES.request(after, size)
    rows = await unit.run(
        q.content.list_pages_by_workspace,
        workspace_id=workspace_id,
        **page.arguments,
    )
    return page.of(rows)


async def read_backlinks(
    unit: AsyncUnit, q: AsyncTypedQueries, workspace_id: int, page_name: str
) -> list[Backlink]:
    """The blocks linking the page, read in ``unit`` (the owner's or a visitor's); more than
    :data:`MAX_BACKLINKS` is TooManyRows."""
    rows = await unit.run(
        q.content.list_backlinks_by_page, workspace_id=workspace_id, page_name=page_name
    )
    too_many = TooManyRows(f"page {page_name!r} has more than {MAX_BACKLINKS:,} backlinks")
    return whole(rows, MAX_BACKLINKS, too_many)


# The import's staging table: COPY cannot write into a table with row-level security as a role
# the policies bind, so the rows go into this temporary table first (no policy, no index, no
# WAL), then into nodes with an INSERT ... SELECT that the policy checks. It lives as long as
# the import's transaction. node_rows yields tuples (NodeCopyRow) in this column order.
_NODE_COLUMNS = "uuid, workspace_id, parent_uuid, position, page_name, slug, title, html, metadata"
_CREATE_STAGING = (
    "CREATE TEMPORARY TABLE nodes_import (uuid uuid, workspace_id bigint, parent_uuid uuid,"
    " position integer, page_name text, slug text, title text, html text, metadata jsonb)"
    " ON COMMIT DROP"
)
_COPY_STAGING = f"COPY nodes_import ({_NODE_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_MOVE_FROM_STAGING = (
    f"INSERT INTO nodes ({_NODE_COLUMNS}) SELECT {_NODE_COLUMNS} FROM nodes_import;"
    " TRUNCATE nodes_import"
)

# The rows travel in chunks of this many: while the server moves one chunk into nodes, the
# client computes the next one's keys and COPY stream, so the Python work hides behind the
# server's. node_rows yields every parent before its children, so a chunk's foreign keys point
# into itself or into an earlier chunk.
IMPORT_CHUNK_ROWS = 5_000


class PageNotFound(NotFound):
    """No page of that name in the workspace."""


class InvalidContent(DomainError, ValueError):
    """The content to import is malformed (a blank or repeated page name)."""


@dataclass(frozen=True, slots=True)
class BlockInput:
    """A block to import; its position is its index among its siblings."""

    html: str | None
    title: str = ""
    metadata: Mapping[str, JSONParam] | None = None
    children: Sequence[BlockInput] = ()


@dataclass(frozen=True, slots=True)
class PageInput:
    """A page to import with its blocks; ``slug`` defaults to one made from the name."""

    name: str
    title: str
    slug: str | None = None
    html: str | None = None
    metadata: Mapping[str, JSONParam] | None = None
    blocks: Sequence[BlockInput] = ()


@dataclass(frozen=True, slots=True)
class ImportSummary:
    pages: int
    blocks: int
    replaced: int  # nodes the workspace had before the import

    @property
    def nodes(self) -> int:
        return self.pages + self.blocks


Node = NodeRow
"""A page (``parent_uuid`` None) or a block: the generated record of the ``nodes`` table."""

TreeNode = ListPageTreeRow
"""A node of a page tree: a :data:`Node`'s columns and its ``depth`` (0 for the page)."""

Backlink = ListBacklinksByPageRow
"""A block linking the page, and the page that block sits on (``page_uuid``, ...)."""

SearchHit = ListSearchResultsRow
"""A matching node, its ``rank`` and its ``snippet`` (the node's text as html, matches wrapped
in ``<mark>``)."""


# BlockTree and PageTree stay hand-written: the query returns flat rows (TreeNode), the
# nesting is assembled from them in Python.
@dataclass(frozen=True, slots=True)
class BlockTree:
    """A block with its nested blocks, in position order."""

    node: TreeNode
    children: tuple[BlockTree, ...]

    @property
    def depth(self) -> int:
        """1 for a block directly under the page."""
        return self.node.depth


@dataclass(frozen=True, slots=True)
class PageTree:
    """A page and its blocks down to the workspace's ``embed_depth``."""

    page: TreeNode
    blocks: tuple[BlockTree, ...]


def _uuid_from_key(key: str) -> str:
    """The canonical text of the key's uuid; string slicing is the fast path for 100k rows."""
    h = hashlib.sha256(key.encode("utf-8")).hexdigest()
    # Hex digit 12 is the version nibble (8); digit 16 carries the variant bits (10xx).
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[0:8]}-{h[8:12]}-8{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def page_uuid(workspace_id: int, page_name: str) -> UUID:
    """The deterministic key of a page (see the module docstring)."""
    return UUID(_uuid_from_key(f"{workspace_id}::{page_name}"))


def block_uuid(page: UUID, path: Sequence[int]) -> UUID:
    """The deterministic key of the block at ``path`` (positions from the page down)."""
    return UUID(_uuid_from_key(f"{page}::{'.'.join(map(str, path))}"))


def default_slug(page_name: str) -> str:
    """``'Guides/Set Up/Intro'`` -> ``'guides/set-up/intro'``."""
    parts = (re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in page_name.split("/"))
    return "/".join(part for part in parts if part) or "page"


def _json(value: Mapping[str, JSONParam] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


NodeCopyRow = tuple[str, int, str | None, int, str, str, str, str | None, str | None]
"""One node as COPY takes it: uuid, workspace_id, parent_uuid (None for a page), position,
page_name, slug, title, html, metadata (JSON text)."""


def node_rows(workspace_id: int, pages: Sequence[PageInput]) -> Iterator[NodeCopyRow]:
    """The rows of every page and block, each page followed by its blocks depth-first.

    Walks the blocks with an explicit stack: nesting depth is bounded by nothing but the
    content, and Python's recursion limit must not be what decides whether an import works.
    """
    for page_position, page in enumerate(pages):
        page_key = _uuid_from_key(f"{workspace_id}::{page.name}")
        slug = page.slug or default_slug(page.name)
        yield (
            page_key,
            workspace_id,
            None,
            page_position,
            page.name,
            slug,
            page.title,
            page.html,
            _json(page.metadata),
        )
        stack: list[tuple[str, str, int, BlockInput]] = [
            (page_key, str(i), i, block) for i, block in reversed(list(enumerate(page.blocks)))
        ]
        while stack:
            parent_key, path, position, block = stack.pop()
            key = _uuid_from_key(f"{page_key}::{path}")
            yield (
                key,
                workspace_id,
                parent_key,
                position,
                page.name,
                slug,
                block.title,
                block.html,
                _json(block.metadata),
            )
            stack.extend(
                (key, f"{path}.{i}", i, child)
                for i, child in reversed(list(enumerate(block.children)))
            )


def _check_pages(pages: Sequence[PageInput]) -> None:
    seen: set[str] = set()
    for page in pages:
        if not page.name.strip():
            raise InvalidContent("a page name must not be blank")
        if page.name in seen:
            raise InvalidContent(f"page {page.name!r} appears twice in the content")
        seen.add(page.name)


def tree_of(rows: list[TreeNode]) -> PageTree | None:
    """The tree of a page tree query's rows (content's list_page_tree, the site's
    list_site_page_tree), None for no rows; more than :data:`MAX_TREE_ROWS` is TooManyRows."""
    if not rows:
        return None
    too_many = TooManyRows(
        f"page {rows[0].page_name!r} has more than {MAX_TREE_ROWS:,} nodes down to its "
        "workspace's embed_depth"
    )
    return nest_tree(whole(rows, MAX_TREE_ROWS, too_many))


def nest_tree(rows: list[TreeNode]) -> PageTree:
    """Nest the rows of list_page_tree (depth-first, parents first) into a PageTree."""
    page = rows[0]
    children: dict[UUID | None, list[BlockTree]] = {}
    # Build bottom-up: walk in reverse so every child is finished before its parent.
    for node in reversed(rows[1:]):
        kids = tuple(reversed(children.pop(node.uuid, [])))
        children.setdefault(node.parent_uuid, []).append(BlockTree(node, kids))
    return PageTree(page, tuple(reversed(children.get(page.uuid, []))))


# COPY's binary format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4):
# a signature, then per row the field count and each field as a 4-byte length (-1: NULL) and
# its bytes in the type's binary form, then -1 as a 2-byte trailer. The server reads it
# without parsing text: cheaper than the text format for the staging COPY.
_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # flags and header extension: 0
_BINARY_TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
_FIELDS = len(_NODE_COLUMNS.split(","))
_length = struct.Struct(">i").pack


def _binary_uuid(value: str) -> bytes:
    return b"\x00\x00\x00\x10" + bytes.fromhex(value.replace("-", ""))


def _binary_text(value: str | None, version: bytes = b"") -> bytes:
    """A text field; a jsonb one with ``version`` b"\\x01" (jsonb's binary form: 1, the text)."""
    if value is None:
        return _NULL
    data = version + value.encode("utf-8")
    return _length(len(data)) + data


def copy_binary(rows: Iterable[NodeCopyRow]) -> bytes:
    """The rows as a COPY ... (FORMAT BINARY) stream, in the staging table's column order.

    Raises InvalidContent for text UTF-8 cannot encode (a lone surrogate).
    """
    out = [_BINARY_SIGNATURE]
    row_start = _FIELDS.to_bytes(2, "big")
    try:
        for uuid, workspace_id, parent, position, page_name, slug, title, html, meta in rows:
            out.append(row_start)
            out.append(_binary_uuid(uuid))
            out.append(b"\x00\x00\x00\x08" + workspace_id.to_bytes(8, "big", signed=True))
            out.append(_NULL if parent is None else _binary_uuid(parent))
            out.append(b"\x00\x00\x00\x04" + position.to_bytes(4, "big", signed=True))
            out.append(_binary_text(page_name))
            out.append(_binary_text(slug))
            out.append(_binary_text(title))
            out.append(_binary_text(html))
            out.append(_binary_text(meta, b"\x01"))
    except UnicodeEncodeError as exc:
        raise InvalidContent(f"text that UTF-8 cannot encode: {exc.reason}") from exc
    out.append(_BINARY_TRAILER)
    return b"".join(out)


def _copy_chunks(rows: Iterator[NodeCopyRow]) -> Iterator[tuple[int, bytes]]:
    """The rows in chunks of IMPORT_CHUNK_ROWS: each chunk's row count and COPY stream."""
    while part := list(islice(rows, IMPORT_CHUNK_ROWS)):
        yield len(part), copy_binary(part)


class ContentService(Service):
    """Import and read a workspace's pages and blocks; each method is one transaction."""

    async def import_content(
        self, workspace_id: int, pages: Sequence[PageInput], *, acting_user_id: str
    ) -> ImportSummary:
        """Replace every node of the workspace with ``pages`` and their blocks, atomically.

        How, in one transaction acting as ``acting_user_id``: lock the workspace row (only
        the acting user's own workspace is visible: any other is WorkspaceNotFound), delete
        its nodes, then, chunk by chunk (IMPORT_CHUNK_ROWS rows), COPY the new rows into a
        temporary staging table and move them into ``nodes`` with an ``INSERT ... SELECT``,
        which the row-level security policy checks (PostgreSQL refuses ``COPY FROM`` into a
        table with row-level security for a role its policies bind). While the server moves
        one chunk, the next one is computed. COPY carries no bind parameters, so PostgreSQL's
        65,535-parameter limit does not apply whatever the size, and no statement handles
        more than one chunk (statement_timeout bounds each chunk, not the whole import); the
        staging table costs a second write of every row, into local memory without WAL or
        indexes (``make bench`` reports the import against a server-side COPY straight into
        ``nodes``). Parents come before their children, so the foreign keys hold at the end
        of every chunk. Re-importing rewrites every row (created_at restarts), with the same
        keys. Raises WorkspaceNotFound, InvalidContent (also for text UTF-8 cannot encode),
        or InvalidInput for a value PostgreSQL cannot store (a NUL character); on any error
        nothing changes.
        """
        _check_pages(pages)
        nodes = 0
        async with self.db.transaction(acting_user=acting_user_id) as conn:
            found = await self.q.content.get_workspace_id_for_import(
                conn, workspace_id=workspace_id
            )
            exactly_one(found, WorkspaceNotFound(f"no workspace {workspace_id}"))
            replaced = await self.q.content.delete_nodes_by_workspace(
                conn, workspace_id=workspace_id
            )
            step = "CREATE TEMPORARY TABLE nodes_import"
            try:
                await conn.execute(_CREATE_STAGING)
                chunks = _copy_chunks(node_rows(workspace_id, pages))
                chunk = next(chunks, None)
                while chunk is not None:
                    count, data = chunk
                    step = "COPY nodes_import"
                    async with conn.cursor() as cur, cur.copy(_COPY_STAGING) as copy:
                        await copy.write(data)
                    step = "INSERT INTO nodes ... SELECT FROM nodes_import"
                    moving = asyncio.ensure_future(conn.execute(_MOVE_FROM_STAGING))
                    try:
                        # One turn of the loop sends the statement; the next chunk is built
                        # while the server runs it. The connection is free again only once
                        # it has finished, whatever happened meanwhile.
                        await asyncio.sleep(0)
                        chunk = next(chunks, None)
                    finally:
                        await moving
                    nodes += count
            except psycopg.Error as exc:
                raise map_error(exc, query_name=f"content.import_content ({step})") from exc
        return ImportSummary(pages=len(pages), blocks=nodes - len(pages), replaced=replaced)

    async def count_nodes(self, workspace_id: int, *, acting_user_id: str) -> int:
        count = self.q.content.count_nodes_by_workspace
        return await self.reading(acting_user_id).run(count, workspace_id=workspace_id)

    async def list_pages(
        self,
        workspace_id: int,
        *,
        acting_user_id: str,
        after: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Page[Node]:
        """One page of the workspace's pages (without blocks), by name; ``after`` is the
        previous page's ``next_cursor``."""
        reading = self.reading(acting_user_id)
        return await read_pages(reading, self.q, workspace_id, after, page_size)

    async def get_page(
        self, workspace_id: int, page_name: str, *, acting_user_id: str
    ) -> PageTree | None:
        """The page with its blocks as a tree, down to the workspace's embed_depth; a tree of
        more than :data:`MAX_TREE_ROWS` nodes is TooManyRows."""
        tree = self.q.content.list_page_tree
        rows = await self.reading(acting_user_id).run(
            tree, workspace_id=workspace_id, page_name=page_name
        )
        return tree_of(rows)

    async def get_page_by_slug(
        self, workspace_id: int, slug: str, *, acting_user_id: str
    ) -> Node | None:
        """The page (without blocks) whose slug is ``slug``: what its public URL names. Should
        several pages share the slug, the first by page name. ``get_page`` then reads its
        tree by ``page_name``."""
        get = self.q.content.get_page_by_slug
        return await self.reading(acting_user_id).run(get, workspace_id=workspace_id, slug=slug)

    async def delete_page(self, workspace_id: int, page_name: str, *, acting_user_id: str) -> None:
        """Delete the page and every block under it. Raises PageNotFound."""
        await self.writing(acting_user_id).affected(
            PageNotFound(f"no page {page_name!r} in workspace {workspace_id}"),
            self.q.content.delete_page_by_name,
            workspace_id=workspace_id,
            page_name=page_name,
        )

    async def list_backlinks(
        self, workspace_id: int, page_name: str, *, acting_user_id: str
    ) -> list[Backlink]:
        """The blocks of the workspace that link the page (``<a data-page="NAME">``); more
        than :data:`MAX_BACKLINKS` is TooManyRows."""
        reading = self.reading(acting_user_id)
        return await read_backlinks(reading, self.q, workspace_id, page_name)

    async def search(
        self,
        workspace_id: int,
        query: str,
        *,
        acting_user_id: str,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[SearchHit]:
        """Pages and blocks matching ``query`` (web-search syntax), most relevant first."""
        search_text(query, "query")
        page_size(limit, "limit")
        if not query.strip():
            return []
        search = self.q.content.list_search_results
        return await self.reading(acting_user_id).run(
            search, workspace_id=workspace_id, query=query, limit=limit
        )


__all__ = [
    "DEFAULT_SEARCH_LIMIT",
    "MAX_BACKLINKS",
    "MAX_TREE_ROWS",
    "Backlink",
    "BlockInput",
    "BlockTree",
    "ContentService",
    "ImportSummary",
    "InvalidContent",
    "Node",
    "NodeCopyRow",
    "PageInput",
    "PageNotFound",
    "PageTree",
    "SearchHit",
    "TreeNode",
    "block_uuid",
    "default_slug",
    "nest_tree",
    "node_rows",
    "page_uuid",
    "tree_of",
]
