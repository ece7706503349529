"""Builders the toolkit's tests share: small projects of their own, written file by file."""

from __future__ import annotations

from pathlib import Path


def write_migration(project: Path, migration_id: str, forward: str, rollback: str | None) -> None:
    """``migrations/<id>.sql`` (and its rollback file unless ``rollback`` is None)."""
    folder = project / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / f"{migration_id}.sql").write_text(forward)
    if rollback is not None:
        (folder / f"{migration_id}.rollback.sql").write_text(rollback)
