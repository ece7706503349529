"""Demo data: run the plain-SQL files in seeds/ in name order, all in one transaction.

Seed files are written to be idempotent (fixed keys, ``ON CONFLICT DO NOTHING`` or
``DO UPDATE``), so running ``plainsql seed`` twice changes nothing. A failing file rolls
back the whole run and the error names the file and the line.

Each file's rows written (inserted, updated or deleted, as the server counts them for the
transaction in ``pg_stat_xact_all_tables``) are reported, so a second run can say that
nothing changed. An ``ON CONFLICT DO UPDATE`` that sets the same values still writes a row
version, and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from plainsql._sqltext import line_of
from plainsql.config import Settings
from plainsql.errors import SeedError, scrub_secrets
from plainsql.server import connect


@dataclass(frozen=True, slots=True)
class SeedRun:
    files: tuple[Path, ...]
    written: tuple[int, ...] = ()  # rows each file inserted, updated or deleted

    @property
    def changed(self) -> bool:
        return any(self.written)


_WRITTEN = (
    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint"
    " FROM pg_stat_xact_all_tables"
)


def _written(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute(_WRITTEN).fetchone()
    return int(str(row[0])) if row else 0


def seed_files(seeds_dir: Path) -> list[Path]:
    return sorted(seeds_dir.glob("*.sql")) if seeds_dir.is_dir() else []


def run_seeds(settings: Settings, conninfo: str | None = None) -> SeedRun:
    files = seed_files(settings.seeds_dir)
    written: list[int] = []
    with connect(settings, conninfo) as conn:
        for path in files:
            text = path.read_text(encoding="utf-8")
            try:
                before = _written(conn)
                # No parameters: psycopg sends the file as one multi-statement query.
                conn.execute(text.encode())
                written.append(_written(conn) - before)
            except psycopg.Error as exc:
                conn.rollback()
                position = exc.diag.statement_position
                where = f":{line_of(text, int(position) - 1)}" if position else ""
                message = scrub_secrets(str(exc).strip().splitlines()[0])
                raise SeedError(f"{path}{where}: {message}; nothing was seeded") from exc
        conn.commit()
    return SeedRun(tuple(files), tuple(written))
