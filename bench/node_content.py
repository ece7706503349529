"""The nodes bulk_import loads and cascade_delete deletes, and the setup steps around them.

1,000 notes-like pages (20 in a smoke run), each a page node with 33 blocks of 2 children:
100,000 node rows in a workspace, computed by the application's ``node_rows``, and the same
rows as a COPY text file the server reads itself (server-side COPY FROM file).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.harness import BenchContext
from reference_apps.services.content import BlockInput, NodeCopyRow, PageInput, node_rows

PAGES = 1_000
SMOKE_PAGES = 20
BLOCKS_PER_PAGE = 33  # each with 2 children: 1 + 33 * 3 = 100 nodes a page
NODES_PER_PAGE = 1 + BLOCKS_PER_PAGE * 3
COLUMNS = (
    *("uuid", "workspace_id", "parent_uuid", "position", "page_name", "slug", "title"),
    *("html", "metadata"),
)


@dataclass(frozen=True, slots=True)
class Content:
    """The pages, their node rows in one workspace, and those rows as a COPY text file."""

    pages: list[PageInput]
    rows: list[NodeCopyRow]
    copy_file: Path  # readable by the server process; removed as the workload's stack closes

    @property
    def nodes(self) -> int:
        return len(self.rows)


def node_content(ctx: BenchContext, stack: ExitStack, workspace_id: int) -> Content:
    """The pages at ``ctx``'s size (smoke or not) and their rows in ``workspace_id``, written
    to a COPY file that is deleted as ``stack`` closes."""
    pages = _pages(ctx.size(PAGES, SMOKE_PAGES))
    rows = list(node_rows(workspace_id, pages))
    assert len(rows) == len(pages) * NODES_PER_PAGE
    copy_file = _write_copy_file(rows)
    stack.callback(copy_file.unlink)
    return Content(pages, rows, copy_file)


def _pages(pages: int) -> list[PageInput]:
    """Notes-like pages: short paragraphs, one block in five links another page."""

    def paragraph(p: int, b: int) -> str:
        text = f"<p>Note {b} on topic {p}: how the setup works, what to check and why."
        if b % 5 == 0:
            text += f' See <a data-page="topics/{(p * 7 + b) % pages}">topic {b}</a>.'
        return text + "</p>"

    return [
        PageInput(
            f"topics/{p}",
            f"Topic {p}",
            html=f"<p>Everything about topic {p}.</p>",
            metadata={"tags": ["topic", f"group-{p % 10}"]},
            blocks=[
                BlockInput(
                    paragraph(p, b),
                    children=[
                        BlockInput(f"<p>Detail {b}.1, a <em>short</em> remark.</p>"),
                        BlockInput(f"<p>Detail {b}.2 with <code>inline code</code>.</p>"),
                    ],
                )
                for b in range(BLOCKS_PER_PAGE)
            ],
        )
        for p in range(pages)
    ]


def _copy_text(value: object) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return text


def _write_copy_file(rows: Sequence[NodeCopyRow]) -> Path:
    """The rows as a COPY text file the server process can read (it runs as another user)."""
    handle, name = tempfile.mkstemp(prefix="plainsql-bench-nodes-", suffix=".tsv", dir="/tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        for row in rows:
            out.write("\t".join(_copy_text(v) for v in row) + "\n")
    os.chmod(name, 0o644)
    return Path(name)


def copy_from_file(conn: psycopg.Connection[Any], table: str, path: Path) -> None:
    """Server-side ``COPY table FROM 'path'``, in a transaction of its own."""
    statement = sql.SQL("COPY {} ({}) FROM {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.Literal(str(path)),
    )
    with conn.transaction():
        conn.execute(statement)


@contextmanager
def triggers_off(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """The block with the session's triggers off, the foreign keys' included: for a setup step
    outside the clock whose rows are consistent by construction."""
    conn.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        conn.execute("RESET session_replication_role")


def empty(conn: psycopg.Connection[Any], table: str) -> None:
    """Every row of ``table`` deleted and vacuumed away."""
    # Every row goes, so the parent key's per-row cascade (triggers) has nothing to do:
    # switched off for this setup step (a cascade planned in a session that had seen the
    # table nearly empty ran for minutes here, outside any clock).
    with triggers_off(conn):
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
    conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
