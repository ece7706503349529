"""What a query reads, from the server's own parse trees: the part both flavours share.

PostgreSQL prints a statement's rewritten parse tree (views expanded, row-level security
policies added) as a LOG message when ``debug_print_rewritten`` is on; with
``client_min_messages = log`` the client receives it. The tree names every relation
(``:relid``), function (``:funcid``, ``:opfuncid``, ``:aggfnoid`` ...) and operator the
statement uses, whether it locks rows (``:rowMarks``) and whether it writes. The probe itself
is :mod:`plainsql.runtime._reads_async` (and its sync twin); :class:`Reads` is its answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plainsql.errors import NodeTreeError
from plainsql.runtime._reuse import CacheSpec
from plainsql.typegen import nodetree

_FUNCTION_KEYS = frozenset(
    {"funcid", "opfuncid", "aggfnoid", "winfnoid", "hashfuncid", "negfuncid"}
)
_OPERATOR_KEYS = frozenset({"opno", "opnos", "sortop", "eqop"})
CMD_SELECT = 1
CMD_UTILITY = 6
FIRST_NORMAL_OID = 16384  # below: the server's own objects (pg_catalog's functions, catalogs)


@dataclass(slots=True)
class TreeFacts:
    """What parse trees use: relations, functions and operators (oids), and what they do."""

    relids: set[int] = field(default_factory=set)
    funcids: set[int] = field(default_factory=set)
    opnos: set[int] = field(default_factory=set)
    locking: bool = False  # FOR UPDATE / FOR SHARE somewhere
    writes: bool = False  # not a SELECT, or a data-modifying WITH
    statements: int = 0


def tree_facts(details: Iterable[str]) -> TreeFacts:
    """The facts of the printed trees (``message_detail`` of each LOG message); the trees of
    utility statements (the probe's own ``PREPARE``, ``SET``) are left out."""
    facts = TreeFacts()
    for detail in details:
        try:
            parsed = nodetree.parse(detail)
        except NodeTreeError:
            continue
        for query in parsed if isinstance(parsed, list) else [parsed]:
            if (
                not isinstance(query, dict)
                or nodetree.integer(query.get("commandType")) == CMD_UTILITY
            ):
                continue
            facts.statements += 1
            _walk(query, facts)
    return facts


def _walk(node: Any, facts: TreeFacts) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, facts)
        return
    if not isinstance(node, dict):
        return
    if node.get("_type") == "QUERY":
        if nodetree.integer(node.get("commandType")) != CMD_SELECT:
            facts.writes = True
        if nodetree.boolean(node.get("hasModifyingCTE")):
            facts.writes = True
        if node.get("rowMarks"):
            facts.locking = True
    for key, value in node.items():
        if key == "relid":
            _add(facts.relids, value)
        elif key in _FUNCTION_KEYS:
            _add(facts.funcids, value)
        elif key in _OPERATOR_KEYS:
            _add(facts.opnos, value)
        elif isinstance(value, dict | list):
            _walk(value, facts)


def _add(into: set[int], value: Any) -> None:
    values = value if isinstance(value, list) else [value]
    for item in values:
        try:
            oid = int(item)
        except (TypeError, ValueError):
            continue
        if oid:
            into.add(oid)


@dataclass(frozen=True, slots=True)
class Reads:
    """What a query reads, as far as the server can tell.

    ``tables``: the tables (and partitions, and inheritance children) whose writes can change
    its result, by oid: those its plan reads, those the row-level security policies of these
    read, those the functions it or they call read, to the end. ``unknown``: why some reads
    cannot be known (a PL/pgSQL function, a materialized view ...). ``volatile``, ``locking``,
    ``writes``: why it is not a plain read at all.
    """

    tables: Mapping[int, str]
    unknown: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    locking: bool = False
    writes: bool = False

    @property
    def is_read(self) -> bool:
        """Whether the query only reads: a SELECT, no row locks, no VOLATILE function."""
        return not (self.writes or self.locking or self.volatile)

    def refusal(self, spec: CacheSpec) -> str | None:
        """Why a query with this cache directive cannot be cached, or None."""
        if self.writes:
            return "it is not a plain SELECT (it writes, or a WITH clause writes)"
        if self.locking:
            return "it locks rows (FOR UPDATE / FOR SHARE): a lock cannot come from a cache"
        if self.volatile:
            return (
                f"it calls VOLATILE {', '.join(self.volatile)}: its result can change "
                "without any write"
            )
        if self.unknown and not spec.tables:
            return (
                f"what it reads cannot be known ({'; '.join(self.unknown)}): list every table "
                "it reads in its directive, e.g. -- plainsql: cache ttl=30s tables=a,b"
            )
        return None


def search_path_of(config: list[str] | None) -> str | None:
    """The ``search_path`` a function sets for itself (``SET search_path = ...``), or None."""
    for item in config or []:
        name, _, value = item.partition("=")
        if name == "search_path":
            return value
    return None
