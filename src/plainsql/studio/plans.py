"""EXPLAIN of a named query in the studio: the plan as a tree, its costly nodes, its generic twin.

The custom plan is ``EXPLAIN (FORMAT JSON[, ANALYZE, BUFFERS]) <query>`` with the form's values
bound; the generic plan (the one a prepared statement settles on after five runs, blind to the
values) is ``EXPLAIN (GENERIC_PLAN, FORMAT JSON)`` on PostgreSQL 16 and later, and on older
servers ``PREPARE`` + ``SET LOCAL plan_cache_mode = force_generic_plan`` + ``EXPLAIN EXECUTE``.
Both run in a studio unit (:mod:`plainsql.studio.units`), as the login role or as a user, and
are rolled back: ANALYZE executes the query, so for a query that writes it needs ``--write``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from aiosql.types import SQLOperationType

from plainsql._sqltext import numbered
from plainsql.config import Settings
from plainsql.studio.rows import NeedsWrite, StudioInputError
from plainsql.studio.units import Identity, unit
from plainsql.typegen.describe import QuerySource

# A node is marked expensive when its own share (its time, or its cost without ANALYZE) of the
# whole plan is at least this; a row estimate off by this factor either way is marked too.
EXPENSIVE_SHARE = 0.2
MISESTIMATE_FACTOR = 10.0
WRITES = (
    SQLOperationType.INSERT_RETURNING,
    SQLOperationType.INSERT_UPDATE_DELETE,
    SQLOperationType.INSERT_UPDATE_DELETE_MANY,
)
GENERIC_NAME = "plainsql_studio_generic"

_DETAILS = (
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
    "One-Time Filter",
    "Rows Removed by Filter",
    "Rows Removed by Join Filter",
    "Rows Removed by Index Recheck",
    "Heap Fetches",
    "Sort Key",
    "Sort Method",
    "Group Key",
    "Cache Key",
    "Workers Planned",
    "Workers Launched",
)
_BUFFERS = (
    ("Shared Hit Blocks", "shared hit"),
    ("Shared Read Blocks", "shared read"),
    ("Shared Dirtied Blocks", "shared dirtied"),
    ("Shared Written Blocks", "shared written"),
    ("Local Hit Blocks", "local hit"),
    ("Local Read Blocks", "local read"),
    ("Temp Read Blocks", "temp read"),
    ("Temp Written Blocks", "temp written"),
)


@dataclass(frozen=True, slots=True)
class PlanNode:
    label: str  # "Index Scan using users_email_key on users"
    relationship: str | None  # "Outer", "Inner", "InitPlan", "SubPlan", ...
    details: tuple[str, ...]
    estimated_rows: float  # per loop, as the planner guessed
    cost: float  # the node's total cost (its children included)
    self_cost: float
    actual_rows: float | None  # per loop (ANALYZE only)
    loops: int | None
    total_ms: float | None  # the node's time over all loops, its children included
    self_ms: float | None
    buffers: tuple[tuple[str, int], ...]
    expensive: bool
    misestimate: bool
    children: tuple[PlanNode, ...]
    shape: tuple[Any, ...]  # what tells two plans apart: node types, relations, indexes


@dataclass(frozen=True, slots=True)
class Plan:
    root: PlanNode
    analyzed: bool
    generic: bool
    planning_ms: float | None
    execution_ms: float | None
    triggers: tuple[str, ...]
    identity: Identity | None = None


def writes(source: QuerySource) -> bool:
    """Whether the query writes by its shape (a function it calls may write too: the read-only
    transaction catches that one)."""
    return source.operation in WRITES


def _number(node: Mapping[str, Any], key: str) -> float:
    value = node.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def _label(node: Mapping[str, Any]) -> str:
    label = str(node.get("Node Type", "?"))
    if label == "ModifyTable" and node.get("Operation"):
        label = str(node["Operation"])  # "Insert on users", as EXPLAIN's text prints it
    if node.get("Strategy") and label == "Aggregate":
        label = f"{node['Strategy'].title()} Aggregate"
    if node.get("Join Type") and node["Join Type"] != "Inner":
        label += f" ({node['Join Type']})"
    if node.get("Index Name"):
        label += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        label += f" on {node['Relation Name']}"
        alias = node.get("Alias")
        if alias and alias != node["Relation Name"]:
            label += f" {alias}"
    for key in ("CTE Name", "Function Name", "Subplan Name"):
        if node.get(key):
            label += f" ({node[key]})"
    return label


def _detail(key: str, value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return f"{key}: {value}"


def _inclusive_ms(node: Mapping[str, Any]) -> float:
    return _number(node, "Actual Total Time") * max(_number(node, "Actual Loops"), 1.0)


def _build(node: Mapping[str, Any], analyzed: bool, total_ms: float, total_cost: float) -> PlanNode:
    raw_children = [c for c in node.get("Plans", ()) if isinstance(c, Mapping)]
    children = tuple(_build(c, analyzed, total_ms, total_cost) for c in raw_children)
    cost = _number(node, "Total Cost")
    self_cost = max(0.0, cost - sum(_number(c, "Total Cost") for c in raw_children))
    estimated = _number(node, "Plan Rows")
    actual_rows = loops = total = own = None
    misestimate = False
    if analyzed and "Actual Loops" in node:
        loops = int(_number(node, "Actual Loops"))
        actual_rows = _number(node, "Actual Rows")
        total = _inclusive_ms(node)
        own = max(0.0, total - sum(_inclusive_ms(c) for c in raw_children))
        if loops:
            high, low = max(actual_rows, estimated, 1.0), max(min(actual_rows, estimated), 1.0)
            misestimate = high / low >= MISESTIMATE_FACTOR
    if analyzed and own is not None and total_ms > 0:
        expensive = own >= EXPENSIVE_SHARE * total_ms
    else:
        expensive = total_cost > 0 and self_cost >= EXPENSIVE_SHARE * total_cost
    shape = (
        node.get("Node Type"),
        node.get("Join Type"),
        node.get("Relation Name"),
        node.get("Index Name"),
        node.get("Parent Relationship"),
        tuple(c.shape for c in children),
    )
    return PlanNode(
        label=_label(node),
        relationship=node.get("Parent Relationship"),
        details=tuple(_detail(k, node[k]) for k in _DETAILS if node.get(k) not in (None, "", [])),
        estimated_rows=estimated,
        cost=cost,
        self_cost=self_cost,
        actual_rows=actual_rows,
        loops=loops,
        total_ms=total,
        self_ms=own,
        buffers=tuple((shown, int(node[k])) for k, shown in _BUFFERS if node.get(k)),
        expensive=expensive,
        misestimate=misestimate,
        children=children,
        shape=shape,
    )


def parse(
    document: Any, *, analyzed: bool, generic: bool = False, identity: Identity | None = None
) -> Plan:
    """A plan from ``EXPLAIN (FORMAT JSON)``'s one value (a list holding one object)."""
    top = document[0] if isinstance(document, list) else document
    if not isinstance(top, Mapping) or not isinstance(top.get("Plan"), Mapping):
        raise StudioInputError("EXPLAIN returned no plan")
    root = top["Plan"]
    total_ms = _inclusive_ms(root) if analyzed else 0.0
    triggers = tuple(
        f"{t.get('Trigger Name', '?')} on {t.get('Relation', '?')}: {t.get('Calls', 0)} calls, "
        f"{_number(t, 'Time'):.3f} ms"
        for t in top.get("Triggers", ())
        if isinstance(t, Mapping)
    )
    return Plan(
        root=_build(root, analyzed, total_ms, _number(root, "Total Cost")),
        analyzed=analyzed,
        generic=generic,
        planning_ms=top.get("Planning Time"),
        execution_ms=top.get("Execution Time"),
        triggers=triggers,
        identity=identity,
    )


def custom_plan(
    conn: psycopg.Connection[Any],
    settings: Settings,
    source: QuerySource,
    values: Mapping[str, str | None],
    *,
    acting_user: str | None = None,
    analyze: bool = False,
    write: bool = False,
) -> Plan:
    """The plan for these values; with ``analyze`` the query runs, in a unit rolled back (read
    only unless ``write``). A query that writes is analyzed only with ``write``."""
    if source.operation is SQLOperationType.SCRIPT:
        raise StudioInputError(f"{source.name} is a script (#): EXPLAIN takes one statement")
    if analyze and writes(source) and not write:
        raise NeedsWrite(
            f"EXPLAIN ANALYZE runs the query, and {source.name} writes: it needs "
            "`plainsql studio --write` (even then it is rolled back)"
        )
    options = "FORMAT JSON, ANALYZE, BUFFERS" if analyze else "FORMAT JSON"
    params = {name: values.get(name) for name in source.params}
    with (
        unit(conn, settings, acting_user, write=write and analyze) as opened,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            f"EXPLAIN ({options}) {source.sql}", params if source.params else None, prepare=False
        )
        row = cursor.fetchone()
    assert row is not None
    return parse(row[0], analyzed=analyze, identity=opened.identity)


def generic_plan(
    conn: psycopg.Connection[Any],
    settings: Settings,
    source: QuerySource,
    *,
    acting_user: str | None = None,
    option: bool | None = None,
) -> Plan | None:
    """The plan a prepared statement of the query uses once it goes generic (None for a query
    without parameters: its one plan is the custom one). ``option``: use EXPLAIN's GENERIC_PLAN
    (PostgreSQL 16+); by default when the server has it."""
    if not source.params or source.operation is SQLOperationType.SCRIPT:
        return None
    text, order = numbered(source.sql)
    if option is None:
        option = conn.info.server_version >= 160000
    if option:
        with unit(conn, settings, acting_user) as opened:
            row = conn.execute(
                f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {text}", prepare=False
            ).fetchone()
        assert row is not None
        return parse(row[0], analyzed=False, generic=True, identity=opened.identity)
    # PostgreSQL 15: a prepared statement (session state, not undone by ROLLBACK: deallocated
    # below) planned generically whatever its arguments (NULLs here: never looked at).
    nulls = ", ".join("NULL" for _ in order)
    try:
        with unit(conn, settings, acting_user) as opened:
            conn.execute(f"PREPARE {GENERIC_NAME} AS {text}", prepare=False)
            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            row = conn.execute(
                f"EXPLAIN (FORMAT JSON) EXECUTE {GENERIC_NAME}({nulls})", prepare=False
            ).fetchone()
    finally:
        with suppress(psycopg.errors.InvalidSqlStatementName):  # PREPARE failed: none to drop
            conn.execute(f"DEALLOCATE {GENERIC_NAME}")
    assert row is not None
    return parse(row[0], analyzed=False, generic=True, identity=opened.identity)
