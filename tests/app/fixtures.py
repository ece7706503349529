"""Builders the application's tests share (datasette's tests/fixtures.py): users, workspaces,
writers of audit entries.

Fixtures that use them live in tests/app/services/conftest.py; a test module imports the
builders and constants from here instead of writing its own copy.
"""

from __future__ import annotations

import asyncio

from plainsql import AsyncDatabase, Conn
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.services.crypto import EncryptionKey, KeyRing
from reference_apps.services.workspaces import Workspace, WorkspaceService

ALICE = "user-alice"
BOB = "user-bob"

# The encryption keys of the services under test (fixed, so that a failure reproduces): the
# tests never depend on the configuration or write a key file into the project.
TEST_KEY = EncryptionKey("test-1", bytes(range(32)))
TEST_KEYS = KeyRing([TEST_KEY], source="the tests' keys")


def add_alice_and_bob(conn: Conn) -> None:
    """Two plain users, ALICE and BOB, committed."""
    conn.execute(
        "INSERT INTO users (id, name, email) VALUES (%s, 'Alice', 'alice@example.com'),"
        " (%s, 'Bob', 'bob@example.com')",
        (ALICE, BOB),
    )
    conn.commit()


async def add_workspace(
    db: AsyncDatabase, q: AsyncTypedQueries, name: str, embed_depth: int = 5
) -> Workspace:
    """A user called ``name`` with a workspace of the same slug."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO users (id, name, email) VALUES (%s, %s, %s)",
            (name, name, f"{name}@example.com"),
        )
    return await WorkspaceService(db, q).create(
        acting_user_id=name, slug=name, name=name, embed_depth=embed_depth
    )


async def write_audit_entries(
    db: AsyncDatabase, q: AsyncTypedQueries, user_id: str, done: asyncio.Event
) -> list[str]:
    """As ``user_id`` (the application role), rename the user, one committed unit per name,
    until ``done`` is set; the names written. Each rename is one audit entry, found by its
    ``new_row ->> 'name'``."""
    names: list[str] = []
    rename = q.auth.update_user_profile
    while not done.is_set() or not names:
        name = f"{user_id} #{len(names)}"
        await db.unit(acting_user=user_id).run(
            rename, user_id=user_id, name=name, set_image=False, image=None,
            set_username=False, username=None,
        )  # fmt: skip
        names.append(name)
    return names


def add_writers(conn: Conn, count: int) -> list[str]:
    """``count`` users ``writer-0``... (committed) who write audit entries; their ids."""
    ids = [f"writer-{n}" for n in range(count)]
    conn.execute(
        "INSERT INTO users (id, name, email)"
        " SELECT id, id, id || '@example.com' FROM unnest(%s::text[]) AS id",
        (ids,),
    )
    conn.commit()
    return ids
