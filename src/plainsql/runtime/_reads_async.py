"""Ask the server what a query reads: its parse trees, then the policies and functions behind it.

This is the source of :mod:`plainsql.runtime._reads` (derived by ``tools/async_to_sync.py``).
Everything runs inside a transaction (a savepoint inside a unit of work) that is rolled
back; it only parses: ``PREPARE`` (and ``DEALLOCATE``) of the query, ``fmgr_sql_validator``
on SQL functions (the server parses a function's body with its parameters' names as it
would at a call), and catalog reads. It needs no privilege beyond ``EXECUTE`` on the
functions it follows, and works in a read-only transaction and through a transaction pooler.

- :func:`is_read` (the deduplication): the query is a SELECT that locks no row and calls no
  VOLATILE function, as the current role sees it (views and its policies included).
- :func:`analyse` (the cache): every table whose writes can change the query's result, to the
  end: the relations its rewritten tree reads (views expanded); for each table with row-level
  security, what every one of its policies reads (``pg_depend`` of the policy); for each
  function called on the way, what its body reads (a SQL function's body parsed by its
  validator, a ``BEGIN ATOMIC`` body from ``pg_depend``); partitions and inheritance children
  with their parents. A PL/pgSQL (or C) function, a materialized view or a foreign table
  makes the reads unknown (``Reads.unknown``).

The server prints these trees as LOG messages: unless the login is a superuser (then the probe
sets ``log_min_messages = panic`` for itself), the server's log receives them too, once per
query per process.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from plainsql import naming
from plainsql._sqltext import numbered
from plainsql.runtime._reads_common import (
    FIRST_NORMAL_OID,
    Reads,
    TreeFacts,
    search_path_of,
    tree_facts,
)

_SETUP = (
    "SET LOCAL client_min_messages = log; SET LOCAL debug_pretty_print = off; "
    "SET LOCAL debug_print_rewritten = on; SET LOCAL check_function_bodies = on"
)
_SKIPPED_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
_names = itertools.count(1)

_RELATIONS = """
SELECT c.oid::int8, c.relkind::text, c.relrowsecurity, n.nspname::text,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = any(%s::oid[])
"""
_CHILDREN = "SELECT inhrelid::int8 FROM pg_catalog.pg_inherits WHERE inhparent = any(%s::oid[])"
_REFERENCES = (
    "d.refclassid::regclass::text, d.refobjid::int8 FROM pg_catalog.pg_depend AS d "
    "WHERE d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_operator'::regclass)"
)
_POLICY_READS = f"""
SELECT {_REFERENCES}
  AND d.classid = 'pg_policy'::regclass
  AND d.objid IN (SELECT p.oid FROM pg_catalog.pg_policy AS p WHERE p.polrelid = any(%s::oid[]))
"""
_VIEW_READS = f"""
SELECT {_REFERENCES}
  AND d.classid = 'pg_rewrite'::regclass
  AND d.objid IN (SELECT r.oid FROM pg_catalog.pg_rewrite AS r WHERE r.ev_class = any(%s::oid[]))
"""
_BODY_READS = f"""
SELECT {_REFERENCES}
  AND d.classid = 'pg_proc'::regclass AND d.objid = any(%s::oid[])
"""
_FUNCTIONS = """
SELECT p.oid::int8, p.oid::regprocedure::text, l.lanname::text, p.prosqlbody IS NOT NULL,
       p.proconfig, p.provolatile::text,
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.classid = 'pg_proc'::regclass
               AND e.objid = p.oid AND e.deptype = 'e')
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
WHERE p.oid = any(%s::oid[])
"""
_OPERATOR_FUNCTIONS = (
    "SELECT oprcode::oid::int8 FROM pg_catalog.pg_operator WHERE oid = any(%s::oid[])"
)
_VOLATILE = """
SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
WHERE p.provolatile = 'v' AND p.oid = any(%s::oid[])
ORDER BY 1
"""


@dataclass(slots=True)
class _Probe:
    cur: psycopg.AsyncCursor[Any]
    trees: list[str]
    search_path: str

    async def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        await self.cur.execute(query, params)
        return await self.cur.fetchall()

    async def parse(self, sql: str) -> TreeFacts:
        """The facts of ``sql`` (psycopg's ``%(name)s`` form) as the server parses it."""
        text, _ = numbered(naming.unnamed(sql))
        name = f"plainsql_reads_{next(_names)}"
        self.trees.clear()
        await self.cur.execute(f"PREPARE {name} AS {text}", prepare=False)
        trees = list(self.trees)
        await self.cur.execute(f"DEALLOCATE {name}", prepare=False)
        return tree_facts(trees)

    async def body(self, oid: int, config: list[str] | None) -> TreeFacts | None:
        """The facts of a SQL function's body, parsed by its validator with the function's own
        ``search_path``; None when the validator parses nothing (polymorphic arguments)."""
        path = search_path_of(config) or self.search_path
        await self.cur.execute("SELECT pg_catalog.set_config('search_path', %s, true)", (path,))
        self.trees.clear()
        await self.cur.execute(
            "SELECT pg_catalog.fmgr_sql_validator(%s::oid)", (oid,), prepare=False
        )
        trees = [tree for tree in self.trees if "fmgr_sql_validator" not in tree]
        facts = tree_facts(trees)
        return facts if facts.statements else None

    async def volatile(self, funcids: Iterable[int], opnos: Iterable[int]) -> tuple[str, ...]:
        functions = set(funcids)
        if opnos:
            functions |= {row[0] for row in await self.rows(_OPERATOR_FUNCTIONS, sorted(opnos))}
        if not functions:
            return ()
        return tuple(row[0] for row in await self.rows(_VOLATILE, sorted(functions)))


@asynccontextmanager
async def _probing(conn: psycopg.AsyncConnection[Any]) -> AsyncIterator[_Probe]:
    """A probe on ``conn`` in a transaction (or savepoint) that is rolled back; the parse
    trees the server prints meanwhile are collected."""
    trees: list[str] = []

    def collect(diag: psycopg.errors.Diagnostic) -> None:
        if (diag.message_primary or "").startswith("rewritten parse tree") and diag.message_detail:
            trees.append(diag.message_detail)

    conn.add_notice_handler(collect)
    try:
        async with conn.transaction(force_rollback=True):
            # A plain cursor: plainsql's pooled ones refuse PREPARE through a transaction pooler,
            # which is safe here (prepared and deallocated inside one transaction).
            cur = psycopg.AsyncCursor(conn)
            await cur.execute(_SETUP)
            if conn.info.parameter_status("is_superuser") == "on":
                await cur.execute(
                    "SET LOCAL log_min_messages = panic"
                )  # keep the trees off the log
            await cur.execute("SELECT pg_catalog.current_setting('search_path')")
            row = await cur.fetchone()
            yield _Probe(cur, trees, str(row[0]) if row else "")
    finally:
        conn.remove_notice_handler(collect)


async def is_read(conn: psycopg.AsyncConnection[Any], sql: str) -> bool:
    """Whether ``sql`` only reads, as the current role runs it: a SELECT that locks no row and
    calls no VOLATILE function (in itself, the views it reads and the policies that apply).
    Raises psycopg's error when the server cannot parse it here."""
    async with _probing(conn) as probe:
        facts = await probe.parse(sql)
        if facts.writes or facts.locking or not facts.statements:
            return False
        return not await probe.volatile(facts.funcids, facts.opnos)


async def analyse(
    conn: psycopg.AsyncConnection[Any], sql: str, listed: tuple[str, ...] = ()
) -> Reads:
    """What ``sql`` reads, to the end (see the module's docstring); ``listed``: table names
    the query's directive adds (``tables=``), resolved with the connection's search path."""
    async with _probing(conn) as probe:
        facts = await probe.parse(sql)
        volatile = await probe.volatile(facts.funcids, facts.opnos)
        walk = _Walk(probe)
        unknown: list[str] = []
        for name in listed:
            row = (await probe.rows("SELECT pg_catalog.to_regclass(%s)::oid::int8", name))[0]
            if row[0] is None:
                unknown.append(f"table {name} named by tables= does not exist")
            else:
                walk.relations.add(int(row[0]))
        walk.relations |= facts.relids
        walk.functions |= facts.funcids
        walk.operators |= facts.opnos
        await walk.run()
        return Reads(
            dict(sorted(walk.tables.items(), key=lambda item: item[1])),
            tuple(unknown + walk.unknown),
            volatile,
            facts.locking,
            facts.writes or not facts.statements,
        )


class _Walk:
    """The closure: relations, functions and operators still to look at, and what was found."""

    def __init__(self, probe: _Probe) -> None:
        self.probe = probe
        self.relations: set[int] = set()
        self.functions: set[int] = set()
        self.operators: set[int] = set()
        self.seen: set[tuple[str, int]] = set()
        self.tables: dict[int, str] = {}
        self.unknown: list[str] = []

    def _new(self, kind: str, oids: set[int]) -> list[int]:
        fresh = sorted(oid for oid in oids if (kind, oid) not in self.seen)
        self.seen.update((kind, oid) for oid in fresh)
        oids.clear()
        return fresh

    def _refer(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for catalog, oid in rows:
            {"pg_class": self.relations, "pg_proc": self.functions}.get(
                catalog, self.operators
            ).add(int(oid))

    async def run(self) -> None:
        while self.relations or self.functions or self.operators:
            operators = self._new("operator", self.operators)
            if operators:
                codes = await self.probe.rows(_OPERATOR_FUNCTIONS, operators)
                self.functions |= {int(row[0]) for row in codes}
            relations = self._new("relation", self.relations)
            if relations:
                await self._relations(relations)
            functions = self._new("function", self.functions)
            if functions:
                await self._functions(functions)

    async def _relations(self, oids: list[int]) -> None:
        secured, views = [], []
        for oid, kind, rls, schema, name in await self.probe.rows(_RELATIONS, oids):
            if schema in _SKIPPED_SCHEMAS:
                continue
            if kind in ("r", "p"):
                self.tables[int(oid)] = name
                if rls:
                    secured.append(int(oid))
            elif kind == "v":
                views.append(int(oid))
            elif kind == "m":
                self.unknown.append(
                    f"materialized view {name} changes by REFRESH, which fires no trigger"
                )
            elif kind == "f":
                self.unknown.append(f"foreign table {name} is written on another server")
        parents = [oid for oid in oids if oid in self.tables]
        if parents:
            self.relations |= {int(row[0]) for row in await self.probe.rows(_CHILDREN, parents)}
        if secured:
            self._refer(await self.probe.rows(_POLICY_READS, secured))
        if views:
            self._refer(await self.probe.rows(_VIEW_READS, views))

    async def _functions(self, oids: list[int]) -> None:
        atomic = []
        for oid, name, language, has_sql_body, config, _, in_extension in await self.probe.rows(
            _FUNCTIONS, [o for o in oids if o >= FIRST_NORMAL_OID]
        ):
            if language == "sql" and has_sql_body:
                atomic.append(int(oid))
            elif language == "sql":
                try:
                    async with self.probe.cur.connection.transaction():
                        facts = await self.probe.body(int(oid), config)
                except psycopg.Error as exc:
                    reason = exc.diag.message_primary or type(exc).__name__
                    self.unknown.append(f"the body of {name} cannot be read here ({reason})")
                    continue
                if facts is None:
                    self.unknown.append(
                        f"the body of {name} is not parsed before a call (polymorphic)"
                    )
                    continue
                self.relations |= facts.relids
                self.functions |= facts.funcids
                self.operators |= facts.opnos
            elif in_extension and language in ("c", "internal"):
                continue  # an extension's compiled function (pg_trgm's similarity ...)
            else:
                self.unknown.append(f"{name} is LANGUAGE {language}: what it reads cannot be known")
        if atomic:
            self._refer(await self.probe.rows(_BODY_READS, atomic))
