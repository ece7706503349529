"""The audit log of users, teams and team_members: naming the acting user, and reading the log.

The rows are written by the database (trigger ``audit_log_record``), never by Python. A
service that knows who acts runs its unit of work as ``db.transaction(acting_user=...)``:
plainsql sets ``app.user_id`` (``acting-user-setting`` in pyproject.toml), which the trigger
reads, transaction-locally, so it cannot leak to the next user of a pooled connection.
"""

from __future__ import annotations

from collections.abc import Mapping

from reference_apps.db.records import AuditLogRow, ListAuditEntriesByActorRow
from reference_apps.services.base import Service
from reference_apps.services.bounds import page_size

AuditEntry = AuditLogRow
"""One INSERT, UPDATE or DELETE of an audited row.

``row_key`` is a JSON object of the key columns; ``old_row`` / ``new_row`` are JSON objects
of the whole row (``old_row`` None for an INSERT, ``new_row`` None for a DELETE).
"""

ActorAuditEntry = ListAuditEntriesByActorRow
"""An :data:`AuditEntry` found by its acting user: ``acting_user_id`` is never None there."""


class AuditService(Service):
    """Reads the audit log: an operator's service.

    The application's role cannot read ``audit_log`` (migration 0050): give this service a
    database handle whose units do not act as that role (``transaction-role`` unset) and
    whose login role may read the log (the schema's owner, or an auditor role granted
    SELECT on it).
    """

    async def list_row_history(
        self, table_name: str, row_key: Mapping[str, object], *, limit: int = 100
    ) -> list[AuditEntry]:
        """The latest ``limit`` changes of one row, oldest first; ``row_key`` e.g. ``{"id":
        user.id}``.

        Key values are compared as the strings the trigger stored (a uuid as its text).
        """
        key = {name: str(value) for name, value in row_key.items()}
        history = self.q.audit.list_audit_entries_by_row
        return await self.reading(None).run(
            history, table_name=table_name, row_key=key, max_entries=page_size(limit, "limit")
        )

    async def list_by_actor(
        self, acting_user_id: str, *, limit: int = 100
    ) -> list[ActorAuditEntry]:
        """The latest ``limit`` changes made by one acting user, newest first (the operator
        reads them: ``acting_user_id`` is whose changes, not who reads)."""
        page_size(limit, "limit")
        by_actor = self.q.audit.list_audit_entries_by_actor
        return await self.reading(None).run(
            by_actor, acting_user_id=acting_user_id, max_entries=limit
        )
