"""The audit log of users, teams and team_members: naming the acting user, and reading the log.

The rows are written by the database (trigger ``audit_log_record``), never by Python. A
service that knows who acts calls :func:`set_acting_user` inside its transaction; the
setting is transaction-local (``set_config(..., true)``), so it cannot leak to the next
user of a pooled connection.
"""

from __future__ import annotations

from collections.abc import Mapping

from plainsql.pool import AsyncConn, AsyncPool
from plainsql.queries import Queries
from reference_apps.db.queries import AsyncTypedQueries
from reference_apps.db.records import AuditLogRow

AuditEntry = AuditLogRow
"""One INSERT, UPDATE or DELETE of an audited row.

``row_key`` is a JSON object of the key columns; ``old_row`` / ``new_row`` are JSON objects
of the whole row (``old_row`` None for an INSERT, ``new_row`` None for a DELETE).
"""


async def set_acting_user(q: AsyncTypedQueries, conn: AsyncConn, user_id: str | None) -> None:
    """Name the acting user for the audit rows of the current transaction (None: unknown)."""
    if user_id is not None:
        await q.audit.set_acting_user(conn, user_id=user_id)


class AuditService:
    """Reads the audit log."""

    def __init__(self, pool: AsyncPool, queries: Queries) -> None:
        self.pool = pool
        self.q = AsyncTypedQueries(queries)

    async def list_row_history(
        self, table_name: str, row_key: Mapping[str, object]
    ) -> list[AuditEntry]:
        """The changes of one row, oldest first; ``row_key`` e.g. ``{"id": user.id}``.

        Key values are compared as the strings the trigger stored (a uuid as its text).
        """
        key = {name: str(value) for name, value in row_key.items()}
        async with self.pool.connection() as conn, conn.transaction():
            return await self.q.audit.list_audit_entries_by_row(
                conn, table_name=table_name, row_key=key
            )

    async def list_by_actor(self, acting_user_id: str, *, limit: int = 100) -> list[AuditEntry]:
        """The latest ``limit`` changes made by one acting user, newest first."""
        async with self.pool.connection() as conn, conn.transaction():
            return await self.q.audit.list_audit_entries_by_actor(
                conn, acting_user_id=acting_user_id, max_entries=limit
            )
