"""The manifest beside a backup: the SHA-256 of every file in it, and what it holds.

``<backup>.manifest.json`` records the SHA-256 of the backup's file (or of each file of a
directory-format backup), with what was read in the dump's own snapshot: every table's row
count, the migration ledger (applied ids, a digest of each bookkeeping table), the roles its
grants and owners name, the server and pg_dump versions. A backup whose files do not match
it is never restored; a restore and ``backup --verify`` compare what they restored with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plainsql.errors import BackupError

SUFFIX = ".manifest.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds (see the module docstring)."""

    format: str  # "custom" (one file) or "directory"
    created_at: str  # ISO 8601, UTC
    database: str
    server_version: str
    pg_dump_major: int
    files: dict[str, str]  # path inside the backup ("" for a one-file backup) -> sha256
    row_counts: dict[str, int]
    applied: list[str]
    ledger: dict[str, str]  # bookkeeping table -> "<rows>:<sha256 of its rows>"
    granted_roles: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + SUFFIX)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def digests(backup: Path) -> dict[str, str]:
    """The SHA-256 of the backup's file, or of each file in a directory backup (by path)."""
    if backup.is_dir():
        return {
            path.relative_to(backup).as_posix(): _sha256(path)
            for path in sorted(backup.rglob("*"))
            if path.is_file()
        }
    return {"": _sha256(backup)}


def size(backup: Path) -> int:
    if backup.is_dir():
        return sum(p.stat().st_size for p in backup.rglob("*") if p.is_file())
    return backup.stat().st_size


def write(backup: Path, manifest: Manifest) -> Path:
    """Write the manifest beside the backup, mode 0600."""
    path = manifest_path(backup)
    text = json.dumps({"manifest_version": VERSION, **asdict(manifest)}, indent=2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return path


def read(backup: Path) -> Manifest:
    path = manifest_path(backup)
    if not path.is_file():
        raise BackupError(
            f"{backup} has no manifest ({path.name} is missing beside it): a backup is "
            "restored only when its SHA-256 manifest matches it"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("manifest_version", None) != VERSION:
            raise ValueError(f"not a version {VERSION} manifest")
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{path} is not a plainsql backup manifest: {exc}") from exc


def check(backup: Path) -> Manifest:
    """The backup's manifest, once every file of the backup matches its SHA-256 in it."""
    if not backup.exists():
        raise BackupError(f"no backup at {backup}")
    manifest = read(backup)
    found = digests(backup)
    if backup.is_file() and len(manifest.files) == 1:
        expected = dict.fromkeys(found, next(iter(manifest.files.values())))
    else:
        expected = manifest.files
    problems = [f"{name or backup.name} is missing" for name in expected if name not in found]
    problems += [f"{name} is not in the manifest" for name in found if name not in expected]
    problems += [
        f"{name or backup.name} has SHA-256 {found[name][:16]}, the manifest says {digest[:16]}"
        for name, digest in expected.items()
        if name in found and found[name] != digest
    ]
    if problems:
        raise BackupError(
            f"{backup} does not match its manifest ({manifest_path(backup).name}): "
            + "; ".join(problems[:5])
            + "; it was changed or damaged after it was written, so nothing was restored"
        )
    return manifest
