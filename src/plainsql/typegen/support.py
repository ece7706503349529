"""What generated query modules call at run time: the staleness check, JSON wrapping, row guards.

Kept apart from the generator so that importing a generated module loads neither the
generator nor a database driver beyond psycopg.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aiosql.types import SQLOperationType
from psycopg.types.json import Json, Jsonb

from plainsql import naming
from plainsql._directives import Directive
from plainsql.errors import InvalidInput, StaleTypes

if TYPE_CHECKING:
    from plainsql.runtime._adapter_common import AdapterBase

A = TypeVar("A", bound="AdapterBase")


def fingerprint(operation: SQLOperationType, sql: str) -> str:
    """A short digest of what a query runs: its operation and its SQL as loaded, without its
    name comment (so ``name-statements`` on or off needs no new typegen run)."""
    text = naming.unnamed(sql)
    return hashlib.sha256(f"{operation.name}\n{text}".encode()).hexdigest()[:16]


def linked(adapter: A, queries: Any) -> A:
    """``adapter`` (the typed queries' own, with their record classes) serving the queries of
    ``queries`` as their adapter does: their directives, and the query cache opened on them
    (``plainsql.open_async_cache(db, queries)``) serves the typed calls too."""
    adapter.follow(queries.driver_adapter)
    return adapter


def checked_sql(queries: Any, expected: Mapping[str, str]) -> dict[str, str]:
    """The SQL of each expected query in ``queries``, refusing any that changed since typegen.

    ``queries`` is a :class:`plainsql.queries.Queries` (sync or async: only its SQL is
    used); ``expected`` maps each query name to its :func:`fingerprint` at generation time.
    """
    found: dict[str, str] = {}
    stale: list[str] = []
    for name, digest in expected.items():
        try:
            fn = queries.get(name)
        except AttributeError:
            stale.append(f"{name} (gone)")
            continue
        if fingerprint(fn.operation, fn.sql) != digest:
            stale.append(name)
            continue
        found[name] = fn.sql
    if stale:
        listed = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        raise StaleTypes(
            f"the generated query types do not match sql/ for {listed}: run `plainsql typegen`"
        )
    return found


def directives_of(queries: Any) -> Mapping[str, Mapping[str, Directive]]:
    """The directives (``-- plainsql: ...`` lines) of each query loaded in ``queries``, for
    the generated classes' adapter: the runtime finds them there at each call."""
    adapter = getattr(queries, "driver_adapter", None)
    return dict(getattr(adapter, "directives", {}))


# The largest JSON parameter accepted, encoded (characters): a bigger one is InvalidInput
# before anything reaches the server. Nesting is bounded by what json.dumps can encode (its
# recursion limit, several hundred levels): deeper is InvalidInput too.
MAX_JSON_CHARS = 4 * 1024 * 1024


def _encoded(value: object, name: str) -> str:
    """``value`` as JSON text, or :class:`InvalidInput` naming the parameter and why."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except RecursionError:
        raise InvalidInput(f"parameter {name}: JSON nested too deeply", query_name="") from None
    except (TypeError, ValueError) as exc:  # a datetime, a Decimal, NaN, a set, ...
        raise InvalidInput(f"parameter {name}: {exc}", query_name="") from exc
    if len(text) > MAX_JSON_CHARS:
        raise InvalidInput(
            f"parameter {name}: JSON of {len(text):,} characters is over the limit of "
            f"{MAX_JSON_CHARS:,}",
            query_name="",
        )
    return text


def as_jsonb(value: object, name: str = "value") -> Jsonb | None:
    """A jsonb parameter: SQL NULL for None, else the value as JSON (checked, encoded once)."""
    if value is None:
        return None
    text = _encoded(value, name)
    return Jsonb(value, dumps=lambda _: text)


def as_json(value: object, name: str = "value") -> Json | None:
    """A json parameter: SQL NULL for None, else the value as JSON (checked, encoded once)."""
    if value is None:
        return None
    text = _encoded(value, name)
    return Json(value, dumps=lambda _: text)
