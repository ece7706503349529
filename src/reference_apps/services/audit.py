"""The audit log of users, teams and team_members: naming the acting user, and reading the log.

The rows are written by the database (trigger ``audit_log_record``), never by Python. A
service that knows who acts runs its unit of work as ``db.transaction(acting_user=...)``:
plainsql sets ``app.user_id`` (``acting-user-setting`` in pyproject.toml), which the trigger
reads, transaction-locally, so it cannot leak to the next user of a pooled connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final

from plainsql.errors import InvalidInput
from reference_apps.db.records import AuditLogRow, ListAuditEntriesByActorRow
from reference_apps.services.base import Service, in_batches
from reference_apps.services.bounds import page_size

ARCHIVE_BATCH: Final = 1000
MAX_ARCHIVE_AGE: Final = timedelta(days=3650)

AuditEntry = AuditLogRow
"""One INSERT, UPDATE or DELETE of an audited row.

``row_key`` is a JSON object of the key columns; ``old_row`` / ``new_row`` are JSON objects
of the whole row (``old_row`` None for an INSERT, ``new_row`` None for a DELETE).
"""

ActorAuditEntry = ListAuditEntriesByActorRow
"""An :data:`AuditEntry` found by its acting user: ``acting_user_id`` is never None there."""


class AuditService(Service):
    """Reads the audit log: an operator's service; and archives it: a maintenance job.

    The application's role cannot read ``audit_log`` (migration 0050): to read, give this
    service a database handle whose units do not act as that role (``transaction-role``
    unset) and whose login role may read the log (the schema's owner, or an auditor role
    granted SELECT on it). :meth:`archive_entries` runs as the worker role whatever the
    handle's role (its login role must be a member of it).
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

    async def archive_entries(
        self, older_than: timedelta, *, batch_size: int = ARCHIVE_BATCH
    ) -> int:
        """Move the entries older than ``older_than`` (whole seconds, 0 to 10 years) from
        ``audit_log`` into ``audit_log_archive``, oldest first, in batches of ``batch_size``
        (1..10000), one short transaction each; returns how many moved.

        Each batch moves its entries in one statement, so an entry is in exactly one of the
        two tables at every commit; concurrent archivers skip each other's rows and the
        application's writes never wait on them. A maintenance job: it runs as the worker
        role, through its path (``app_archive_audit_entries``), with no acting user.
        """
        if not timedelta(0) <= older_than <= MAX_ARCHIVE_AGE:
            raise InvalidInput(
                f"older_than must be between 0 and 3650 days (10 years), got {older_than}",
                query_name="",
            )
        seconds = int(older_than.total_seconds())
        archive = self.q.audit.delete_audit_entries_into_archive
        return await in_batches(
            batch_size,
            lambda n: self.working().run(archive, older_than_seconds=seconds, batch_size=n),
        )
