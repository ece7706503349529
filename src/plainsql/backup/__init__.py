"""Backups proven restorable: ``plainsql backup``, ``restore`` and ``backup --verify``.

A logical backup is pg_dump's (custom or directory format) of the whole database, the
migration ledger with it, and a SHA-256 manifest beside it that also records, from the dump's
own snapshot, every table's row count and the ledger; a restore checks the manifest first and
compares what it restored with it. pg_dump and pg_restore come as one pair of one major
version, at least the server's (:mod:`plainsql.backup.tools`). Long form: docs/backups.md.
"""

from plainsql.backup.restore import RestoreResult, restore_backup, verify_backup
from plainsql.backup.take import BackupResult, backups_of, prune, take_backup

__all__ = [
    "BackupResult",
    "RestoreResult",
    "backups_of",
    "prune",
    "restore_backup",
    "take_backup",
    "verify_backup",
]
