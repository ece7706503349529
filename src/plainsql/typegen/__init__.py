"""Typed queries: Python types for every named query, read from the server's own description.

``plainsql typegen`` prepares each query of sql/ on a scratch database built by the
migrations and writes a package of records and typed query functions (see docs/typegen.md);
``plainsql check`` prepares every query and reports those that fail.

Modules, one job each: :mod:`~plainsql.typegen.describe` (scratch database, prepare,
describe, plan), :mod:`~plainsql.typegen.nodetree` (read the server's plan text),
:mod:`~plainsql.typegen.nullability` (which columns can be NULL),
:mod:`~plainsql.typegen.pgtypes` (pg_catalog lookups), :mod:`~plainsql.typegen.pytypes`
(PostgreSQL to Python types), :mod:`~plainsql.typegen.model` (records and methods),
:mod:`~plainsql.typegen.render` (source text), :mod:`~plainsql.typegen.generate` (the
commands), :mod:`~plainsql.typegen.support` (what generated code calls).
"""
