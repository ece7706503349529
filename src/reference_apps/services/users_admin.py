"""The administrators' operations on users: the list of every active user, and a user's
global role.

An administrator is an active user whose global role (``users.role``) is OWNER. Both run as
the application role under row-level security through their own grants (migration 0054): the
list through the policy ``users_admins_read``, which calls ``app_acting_user_is_admin()``
(a user who is not an administrator sees only their own row in it); the role change through
``app_set_user_role()``, which refuses anyone else with insufficient_privilege, raised here as
:class:`NotAnAdministrator`.
"""

from __future__ import annotations

from datetime import datetime

from plainsql import KeysetList, Page
from reference_apps.db.records import UserRole, UserRow
from reference_apps.services.base import BeforeCreated, Service
from reference_apps.services.errors import NotAnAdministrator as NotAnAdministrator  # re-export
from reference_apps.services.errors import UserNotFound

UserPage = Page[UserRow]

USERS = KeysetList[UserRow, datetime, str, BeforeCreated](
    "users", lambda r: (r.created_at, r.id), BeforeCreated
)


class UsersAdminService(Service):
    """Every active user, and their global roles, for an administrator."""

    async def list_users(
        self, *, acting_user_id: str, after: str | None = None, page_size: int = 50
    ) -> UserPage:
        """One page of the active users, newest first (keyset paging). For an acting user who
        is not an administrator the list holds only their own row."""
        page = USERS.request(after, page_size)
        rows = await self.reading(acting_user_id).run(self.q.auth.list_users_page, **page.arguments)
        return page.of(rows)

    async def set_role(self, user_id: str, role: UserRole, *, acting_user_id: str) -> None:
        """Set an active user's global role. NotAnAdministrator unless the acting user is one;
        UserNotFound for an unknown or soft-deleted user."""
        update = self.q.auth.update_user_role
        found = await self.administering(
            acting_user_id, "change a user's role", update, user_id=user_id, role=role
        )
        if not found:
            raise UserNotFound(f"no active user {user_id!r}")
