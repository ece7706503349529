"""Every ``AS "x!"`` override in sql/ says something typegen cannot prove by itself.

An override is a promise typegen believes without checking (docs/typegen.md); one that
typegen's own rules already prove is noise that hides the day the query changes and the
promise stops holding. Each query with a ``!`` column is described again without its
overrides: the column must then come out nullable.
"""

from __future__ import annotations

from dataclasses import replace

from plainsql.config import DatabaseSource
from plainsql.server import connect
from plainsql.testing import TestServer
from plainsql.typegen.describe import Describer, load_sources
from plainsql.typegen.generate import migrated_scratch


def test_no_not_null_override_in_sql_is_redundant(plainsql_server: TestServer) -> None:
    settings = replace(
        plainsql_server.settings,
        database_url=plainsql_server.admin_conninfo,
        source=DatabaseSource.ENVIRONMENT,
    )
    marked = [s for s in load_sources(settings.sql_dir) if any(s.overrides.values())]
    assert marked, "no query of sql/ has a NOT NULL override: nothing checked"
    redundant: list[str] = []
    with (
        migrated_scratch(settings) as conninfo,
        connect(settings, conninfo, autocommit=True) as conn,
    ):
        describer = Describer(conn)
        for source in marked:
            inferred = describer.describe(replace(source, overrides={}))
            for column in inferred.columns:
                if source.overrides.get(column.name) and not column.nullable:
                    redundant.append(f"{source.where(settings.project_dir)}: {column.name}")
    assert redundant == [], "typegen proves these NOT NULL without their '!':\n" + "\n".join(
        redundant
    )
