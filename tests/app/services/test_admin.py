"""The administrators' service: every user listed, a role changed, and the grant the
admin path needs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from plainsql import AsyncDatabase
from plainsql.errors import PermissionDenied
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import UserRole
from reference_apps.services.users_admin import NotAnAdministrator, UsersAdminService

from ..fixtures import ALICE, BOB

Conn = psycopg.Connection[tuple[Any, ...]]


async def test_an_administrator_lists_every_user_and_changes_a_role(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
) -> None:
    plainsql_conn.execute("UPDATE users SET role = 'OWNER' WHERE id = %s", (ALICE,))
    plainsql_conn.commit()
    admin = UsersAdminService(plainsql_async_db, typed_queries)
    first = await admin.list_users(acting_user_id=ALICE, page_size=1)
    rest = await admin.list_users(acting_user_id=ALICE, after=first.next_cursor, page_size=5)
    assert {u.id for u in first.items + rest.items} == {ALICE, BOB}
    assert [u.id for u in (await admin.list_users(acting_user_id=BOB)).items] == [BOB]

    await admin.set_role(BOB, UserRole.OWNER, acting_user_id=ALICE)
    await admin.set_role(ALICE, UserRole.MEMBER, acting_user_id=BOB)
    with pytest.raises(NotAnAdministrator):
        await admin.set_role(ALICE, UserRole.OWNER, acting_user_id=ALICE)
    roles: dict[str, str] = dict(
        plainsql_conn.execute("SELECT id, role::text FROM users").fetchall()
    )
    assert roles == {ALICE: "MEMBER", BOB: "OWNER"}


@pytest.mark.parametrize(
    "function", ["app_acting_user_is_admin()", "app_set_user_role(text, user_role)"]
)
async def test_without_its_grant_the_admin_path_is_refused(
    users: None,
    plainsql_conn: Conn,
    plainsql_async_db: AsyncDatabase,
    typed_queries: AsyncTypedQueries,
    function: str,
) -> None:
    plainsql_conn.execute("UPDATE users SET role = 'OWNER' WHERE id = %s", (ALICE,))
    plainsql_conn.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM reference_app")
    plainsql_conn.commit()
    admin = UsersAdminService(plainsql_async_db, typed_queries)
    if function.startswith("app_acting"):  # the read policy of the administrators' list
        with pytest.raises(PermissionDenied):
            await admin.list_users(acting_user_id=ALICE)
    else:
        with pytest.raises(NotAnAdministrator):  # the role change path
            await admin.set_role(BOB, UserRole.OWNER, acting_user_id=ALICE)
    role = plainsql_conn.execute("SELECT role::text FROM users WHERE id = %s", (BOB,)).fetchone()
    assert role == ("MEMBER",)
