"""Run typegen and the prepare-everything check: scratch database, describe, write or compare.

``plainsql typegen`` writes the generated package; ``--check`` writes nothing and names the
files that differ from what would be written. ``plainsql check`` only prepares every query.
Both build a scratch database from ``migrations/`` on the configured server and drop it.
``check`` also fails on a query with a cache directive that cannot be cached, or that reads a
table without the trigger notifying the cache (:mod:`plainsql.cache_setup`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from plainsql.config import Settings
from plainsql.errors import ConfigError, QueryFailed
from plainsql.migrate.runner import Migrator
from plainsql.runtime._replicas import REPLICA_SAFE
from plainsql.server import connect, scratch_database
from plainsql.typegen.describe import (
    DescribedQuery,
    Describer,
    Failure,
    QuerySource,
    load_sources,
)
from plainsql.typegen.model import Model, build
from plainsql.typegen.render import HEADER, render


@dataclass(frozen=True, slots=True)
class TypegenResult:
    queries: int
    failures: list[str] = field(default_factory=list)  # "file:line: query: error"
    written: list[Path] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckResult:
    queries: int
    failures: list[str] = field(default_factory=list)
    cache_failures: list[str] = field(default_factory=list)  # plainsql.cache_setup


def output_dir(settings: Settings, out: Path | None = None) -> Path:
    """Where the generated package goes: ``out``, else the ``typegen-out`` setting."""
    if out is not None:
        return out if out.is_absolute() else settings.project_dir / out
    if settings.typegen_dir is None:
        raise ConfigError(
            "typegen needs an output package: set [tool.plainsql] typegen-out = "
            '"src/<app>/db" in pyproject.toml (or PLAINSQL_TYPEGEN_OUT), or pass --out'
        )
    return settings.typegen_dir


@contextmanager
def migrated_scratch(settings: Settings) -> Iterator[str]:
    """A scratch database migrated by the project's migrations; yields its connection string."""
    with scratch_database(settings, "typegen") as conninfo:
        if settings.migrations_dir.is_dir():
            with Migrator(settings, conninfo) as migrator:
                migrator.migrate()
        yield conninfo


@contextmanager
def migrated_connection(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a :func:`migrated_scratch` database (dropped after)."""
    with (
        migrated_scratch(settings) as conninfo,
        connect(settings, conninfo, autocommit=True) as conn,
    ):
        yield conn


def describe_queries(settings: Settings, sources: list[QuerySource]) -> tuple[Model, list[Failure]]:
    """Describe every query on a scratch database and build the model of the generated code."""
    if not sources:
        return Model((), (), {}, ()), []
    failures: list[Failure] = []
    described: list[DescribedQuery] = []
    with migrated_connection(settings) as conn:
        describer = Describer(conn)
        for source in sources:
            try:
                described.append(describer.describe(source))
            except QueryFailed as exc:
                failures.append(Failure(source, str(exc)))
        model, problems = build(described, describer.catalog, settings.project_dir)
    return model, sorted(failures + problems, key=lambda f: (str(f.source.path), f.source.line))


def run_typegen(
    settings: Settings, out: Path | None = None, *, check: bool = False
) -> TypegenResult:
    """Generate (or with ``check``, compare) the typed package for the project's sql/."""
    target = output_dir(settings, out)
    sources = load_sources(settings.sql_dir)
    model, failures = describe_queries(settings, sources)
    if failures:
        return TypegenResult(len(sources), [f.format(settings.project_dir) for f in failures])
    files = {target / name: text for name, text in render(model, settings.typegen_flavours).items()}
    changed = [
        path
        for path, text in sorted(files.items())
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    # A module typegen wrote before (its first line says so) that it no longer writes, e.g.
    # after a sql/ folder was removed or renamed.
    leftover = [path for path in _generated_modules(target) if path not in files]
    if check:
        return TypegenResult(len(sources), stale=changed + leftover)
    target.mkdir(parents=True, exist_ok=True)
    for path in changed:
        path.write_text(files[path], encoding="utf-8")
    for path in leftover:
        path.unlink()
    return TypegenResult(len(sources), written=changed + leftover)


def _generated_modules(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.py")):
        with path.open(encoding="utf-8") as handle:
            if handle.readline().rstrip("\n") == HEADER:
                found.append(path)
    return found


def run_check(settings: Settings) -> CheckResult:
    """Prepare every named query against a freshly migrated database; list the failures, and
    each query marked ``-- plainsql: replica-safe`` that could write, lock rows or call a
    VOLATILE function."""
    from plainsql.cache_setup import plan_on

    sources = load_sources(settings.sql_dir)
    failures: list[Failure] = []
    cache_failures: list[str] = []
    if sources:
        with migrated_connection(settings) as conn:
            describer = Describer(conn)
            for source in sources:
                try:
                    describer.check(source)
                    if REPLICA_SAFE in source.directives:
                        describer.check_replica_safe(source)
                except QueryFailed as exc:
                    failures.append(Failure(source, str(exc)))
            # The cached queries: cacheable, and every table they read has its trigger.
            cache_failures = plan_on(conn, settings).failures()
    failures.sort(key=lambda f: (str(f.source.path), f.source.line))
    shown = [f.format(settings.project_dir) for f in failures]
    return CheckResult(len(sources), shown, cache_failures)
