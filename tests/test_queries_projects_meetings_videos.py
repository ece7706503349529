"""Every named query in sql/projects, sql/meetings and sql/videos PREPAREs on the migrated schema.

PREPARE without parameter types makes the server infer every parameter's type from the
query alone, as a generic plan would: a query that only worked thanks to the types psycopg
happened to send fails here.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import pq

from plainsql.queries import Queries

NAMESPACES = ("projects", "meetings", "videos")
PYFORMAT = re.compile(r"%%|%\((\w+)\)s")


def positional(sql: str) -> str:
    """psycopg's %(name)s form back to the server's $1, $2 (one number per name)."""
    numbers: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    return PYFORMAT.sub(replace, sql)


def test_every_query_prepares(conn: psycopg.Connection[Any], queries: Queries) -> None:
    names = sorted(
        name
        for name in queries._available_queries
        if name.split(".")[0] in NAMESPACES and not name.endswith("_cursor")
    )
    assert len(names) > 50
    failures = []
    for number, name in enumerate(names):
        query: Any = queries.get(name)
        result = conn.pgconn.prepare(f"q{number}".encode(), positional(query.sql).encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            failures.append(f"{name}: {(result.error_message or b'').decode().strip()}")
    assert failures == []
