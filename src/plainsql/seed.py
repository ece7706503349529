"""Demo data: run the plain-SQL files in seeds/ in name order, all in one transaction.

Seed files are written to be idempotent (fixed keys, ``ON CONFLICT DO NOTHING`` or
``DO UPDATE``), so running ``plainsql seed`` twice changes nothing. A failing file rolls
back the whole run and the error names the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from plainsql.config import Settings
from plainsql.errors import SeedError, scrub_secrets
from plainsql.server import connect
from plainsql.sqltext import line_of


@dataclass(frozen=True, slots=True)
class SeedRun:
    files: tuple[Path, ...]


def seed_files(seeds_dir: Path) -> list[Path]:
    return sorted(seeds_dir.glob("*.sql")) if seeds_dir.is_dir() else []


def run_seeds(settings: Settings, conninfo: str | None = None) -> SeedRun:
    files = seed_files(settings.seeds_dir)
    with connect(settings, conninfo) as conn:
        for path in files:
            text = path.read_text(encoding="utf-8")
            try:
                # No parameters: psycopg sends the file as one multi-statement query.
                conn.execute(text.encode())
            except psycopg.Error as exc:
                conn.rollback()
                position = exc.diag.statement_position
                where = f":{line_of(text, int(position) - 1)}" if position else ""
                message = scrub_secrets(str(exc).strip().splitlines()[0])
                raise SeedError(f"{path}{where}: {message}; nothing was seeded") from exc
        conn.commit()
    return SeedRun(tuple(files))
