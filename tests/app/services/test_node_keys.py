"""Node keys scoped to their workspace (migrations 20261207022305 onwards), on a real PostgreSQL:
a node's parent is in its own workspace for every writer, the owner (no role switch) and the
application role alike; no workspace can occupy the key another's import computes; the parent
key tells nothing about another workspace."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import ForeignKeyViolation
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.content import ContentService, PageInput, block_uuid, page_uuid
from reference_apps.services.workspaces import Workspace

from ..fixtures import add_workspace
from .test_content import SITE, SITE_NODES, plan_nodes

Conn = psycopg.Connection[Any]

PARENT_KEY = "nodes_workspace_id_parent_uuid_fkey"
INSERT = (
    "INSERT INTO nodes (uuid, workspace_id, parent_uuid, position, page_name, slug, title)"
    " VALUES (%s, %s, %s, 0, %s, 'b', 'B')"
)


@pytest.fixture
async def a_and_b(
    plainsql_async_db: AsyncDatabase, typed_queries: AsyncTypedQueries, workspace: Workspace
) -> tuple[Workspace, Workspace]:
    """A (Ada, with SITE imported) and B (Bob, with one page and one block of his own)."""
    content = ContentService(plainsql_async_db, typed_queries)
    await content.import_content(workspace.id, SITE, acting_user_id=workspace.user_id)
    bob = await add_workspace(plainsql_async_db, typed_queries, "bob")
    await content.import_content(
        bob.id,
        [PageInput("home", "Home", blocks=[])],
        acting_user_id="bob",
    )
    async with plainsql_async_db.transaction(acting_user="bob") as conn:
        await conn.execute(INSERT, (uuid4(), bob.id, page_uuid(bob.id, "home"), "home"))
    return workspace, bob


def _a_page(a: Workspace) -> UUID:
    return page_uuid(a.id, "faq")


async def test_the_owner_cannot_hang_a_node_under_another_workspace_s_node(
    a_and_b: tuple[Workspace, Workspace], plainsql_conn: Conn
) -> None:
    """As the login role (a superuser, no role switch): psql's view of the schema."""
    a, b = a_and_b
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
        plainsql_conn.execute(INSERT, (uuid4(), b.id, _a_page(a), "home"))
    assert caught.value.diag.constraint_name == PARENT_KEY
    plainsql_conn.rollback()
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
        plainsql_conn.execute(
            "UPDATE nodes SET parent_uuid = %s WHERE workspace_id = %s AND parent_uuid IS NOT NULL",
            (_a_page(a), b.id),
        )
    assert caught.value.diag.constraint_name == PARENT_KEY
    plainsql_conn.rollback()
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        # nor move the node itself: its workspace and its parent's must agree
        plainsql_conn.execute(
            "UPDATE nodes SET workspace_id = %s"
            " WHERE workspace_id = %s AND parent_uuid IS NOT NULL",
            (a.id, b.id),
        )
    plainsql_conn.rollback()
    # The same key in B's workspace is B's own: accepted, A's node untouched.
    plainsql_conn.execute(INSERT, (_a_page(a), b.id, None, "owner-copy"))
    plainsql_conn.commit()
    holders = plainsql_conn.execute(
        "SELECT workspace_id, page_name FROM nodes WHERE uuid = %s ORDER BY workspace_id",
        (_a_page(a),),
    ).fetchall()
    assert holders == [(a.id, "faq"), (b.id, "owner-copy")]


async def test_b_acting_through_the_application_role_cannot_either(
    a_and_b: tuple[Workspace, Workspace],
    plainsql_async_db: AsyncDatabase,
    plainsql_conn: Conn,
) -> None:
    a, b = a_and_b
    with pytest.raises(ForeignKeyViolation) as caught:
        async with plainsql_async_db.transaction(acting_user="bob") as conn:
            await conn.execute(INSERT, (uuid4(), b.id, _a_page(a), "home"))
    assert caught.value.constraint == PARENT_KEY
    with pytest.raises(ForeignKeyViolation) as caught:
        async with plainsql_async_db.transaction(acting_user="bob") as conn:
            await conn.execute(
                "UPDATE nodes SET parent_uuid = %s"
                " WHERE workspace_id = %s AND parent_uuid IS NOT NULL",
                (_a_page(a), b.id),
            )
    assert caught.value.constraint == PARENT_KEY
    # A's content is as A imported it: no block of B's under it.
    row = plainsql_conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE workspace_id <> %s) FROM nodes"
        " WHERE parent_uuid = %s",
        (a.id, _a_page(a)),
    ).fetchone()
    assert row == (2, 0)


async def test_the_parent_key_tells_b_nothing_about_a_s_pages(
    a_and_b: tuple[Workspace, Workspace], plainsql_async_db: AsyncDatabase
) -> None:
    """A's existing page and a key nobody holds are refused alike."""
    a, b = a_and_b
    refusals = []
    for guessed in (_a_page(a), page_uuid(a.id, "no such page")):
        with pytest.raises(ForeignKeyViolation) as caught:
            async with plainsql_async_db.transaction(acting_user="bob") as conn:
                await conn.execute(INSERT, (uuid4(), b.id, guessed, "home"))
        refusals.append((type(caught.value), caught.value.sqlstate, caught.value.constraint))
    assert refusals[0] == refusals[1] == (ForeignKeyViolation, "23503", PARENT_KEY)


async def test_b_may_hold_a_s_keys_in_b_s_workspace_and_a_s_import_is_unaffected(
    a_and_b: tuple[Workspace, Workspace],
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    plainsql_conn: Conn,
) -> None:
    a, b = a_and_b
    # The keys A's next import will compute: a new page and a block under it.
    future_page = page_uuid(a.id, "new/page")
    future_block = block_uuid(future_page, [0])
    async with plainsql_async_db.transaction(acting_user="bob") as conn:
        await conn.execute(INSERT, (future_page, b.id, None, "squat"))
        await conn.execute(INSERT, (future_block, b.id, future_page, "squat"))
        # ... and a key A holds now
        await conn.execute(INSERT, (_a_page(a), b.id, None, "squat-faq"))
    content = ContentService(plainsql_async_db, typed_queries)
    pages = [*SITE, PageInput("new/page", "New", blocks=[*SITE[0].blocks[:1]])]
    summary = await content.import_content(a.id, pages, acting_user_id=a.user_id)
    assert summary.nodes == SITE_NODES + 1 + 5
    tree = await content.get_page(a.id, "new/page", acting_user_id=a.user_id)
    assert tree is not None
    assert tree.page.uuid == future_page
    assert tree.blocks[0].node.uuid == future_block
    assert tree.blocks[0].node.workspace_id == a.id
    # B's rows are B's, under B's keys, untouched by A's import.
    rows = plainsql_conn.execute(
        "SELECT uuid, page_name FROM nodes WHERE workspace_id = %s AND page_name LIKE 'squat%%'"
        " ORDER BY page_name, position",
        (b.id,),
    ).fetchall()
    assert sorted(rows) == sorted(
        [(future_page, "squat"), (future_block, "squat"), (_a_page(a), "squat-faq")]
    )
    # Deleting A's page takes A's blocks only; B's block under B's same-keyed page stays.
    await content.delete_page(a.id, "new/page", acting_user_id=a.user_id)
    left = plainsql_conn.execute(
        "SELECT workspace_id FROM nodes WHERE uuid = %s", (future_block,)
    ).fetchall()
    assert left == [(b.id,)]


# The keys' per-row queries, as PostgreSQL's foreign-key triggers write them (ri_triggers.c).
KEY_CHECK = (
    'SELECT 1 FROM ONLY "public"."nodes" x WHERE "workspace_id" OPERATOR(pg_catalog.=) $1'
    ' AND "uuid" OPERATOR(pg_catalog.=) $2 FOR KEY SHARE OF x'
)
KEY_CASCADE = (
    'DELETE FROM ONLY "public"."nodes" WHERE $1 OPERATOR(pg_catalog.=) "workspace_id"'
    ' AND $2 OPERATOR(pg_catalog.=) "parent_uuid"'
)
PAGE_NAME_INDEX = "nodes_workspace_id_page_name_idx"


def _generic_plan_indexes(conn: Conn, name: str, types: str, statement: str) -> set[str]:
    conn.execute(f"PREPARE {name} ({types}) AS {statement}")
    row = conn.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name} (1, NULL)").fetchone()
    assert row is not None
    return {n["Index Name"] for n in plan_nodes(row[0]) if "Index Name" in n}


async def test_every_node_is_indexed_by_page_name_but_the_keys_queries_cannot_take_that_index(
    a_and_b: tuple[Workspace, Workspace], plainsql_conn: Conn
) -> None:
    """(workspace_id, page_name), as the contract lists it, serves a query over a page's nodes,
    blocks included; the keys' per-row check and cascade can never be planned on it, even
    with their own indexes gone and sequential scans off (20261207044453): so no estimate,
    however stale, can make them scan a workspace per row."""
    a, _ = a_and_b
    conn = plainsql_conn
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.execute("SET LOCAL enable_seqscan = off")
    found = _generic_plan_indexes(
        conn,
        "nodes_of_a_page",
        "bigint, text",
        "SELECT uuid FROM nodes WHERE workspace_id = $1 AND page_name = $2",
    )
    assert found == {PAGE_NAME_INDEX}
    count = conn.execute(
        "SELECT count(*) FROM nodes WHERE workspace_id = %s AND page_name = 'faq'", (a.id,)
    ).fetchone()
    assert count == (3,)  # the page and its two blocks

    # Only the page-name index is left to them (the transaction is rolled back).
    conn.execute(f"ALTER TABLE nodes DROP CONSTRAINT {PARENT_KEY}")
    conn.execute("ALTER TABLE nodes DROP CONSTRAINT nodes_pkey")
    conn.execute("DROP INDEX nodes_workspace_id_parent_uuid_position_idx")
    check = _generic_plan_indexes(conn, "key_check", "bigint, uuid", KEY_CHECK)
    cascade = _generic_plan_indexes(conn, "key_cascade", "bigint, uuid", KEY_CASCADE)
    assert PAGE_NAME_INDEX not in check | cascade
    conn.rollback()
