"""Input bounds of the services: how many rows a page may ask for, how long a search may be.

Anything over a bound is :class:`plainsql.errors.InvalidInput` naming the parameter, raised
before the database is asked: a 9 MB search text would otherwise run until the statement
timeout, and an unbounded page size reads a whole table. JSON payloads are bounded by the
typed queries themselves (``plainsql.typegen.support.MAX_JSON_CHARS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from plainsql.errors import InvalidInput
from reference_apps.db.records import JSONParam

MAX_PAGE_SIZE: Final = 500
MAX_SEARCH_CHARS: Final = 1_000


def page_size(value: int, name: str) -> int:
    """``value`` when it is a page size between 1 and :data:`MAX_PAGE_SIZE`."""
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"{name} must be between 1 and {MAX_PAGE_SIZE}, got {value}", query_name=""
        )
    return value


def search_text(value: str, name: str) -> str:
    """``value`` when it is at most :data:`MAX_SEARCH_CHARS` characters long."""
    if len(value) > MAX_SEARCH_CHARS:
        raise InvalidInput(
            f"{name} must be at most {MAX_SEARCH_CHARS:,} characters, got {len(value):,}",
            query_name="",
        )
    return value


def batch_size(value: int, name: str) -> int:
    """``value`` when it is a batch size of at least 1: a loop that deletes in batches of 0
    would never end."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"{name} must be a whole number of at least 1, got {value!r}", query_name=""
        )
    return value


def json_object(value: object, name: str) -> dict[str, JSONParam]:
    """``value`` as a dict when it is a mapping with text keys (a JSON object): anything else
    is InvalidInput naming the parameter and the type it got, never the value."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInput(
            f"{name} must be a JSON object (a mapping with text keys), got {type(value).__name__}",
            query_name="",
        )
    return dict(value)


def json_objects(values: object, name: str) -> list[dict[str, JSONParam]]:
    """``values`` as a list of dicts when it is a sequence of JSON objects (not a string)."""
    if not isinstance(values, Sequence) or isinstance(values, str | bytes):
        raise InvalidInput(
            f"{name} must be a list of JSON objects, got {type(values).__name__}", query_name=""
        )
    return [json_object(v, f"{name}[{i}]") for i, v in enumerate(values)]


def texts(values: object, name: str) -> list[str]:
    """``values`` as a list when it is a sequence of strings (not a string itself)."""
    if (
        not isinstance(values, Sequence)
        or isinstance(values, str | bytes)
        or not all(isinstance(v, str) for v in values)
    ):
        raise InvalidInput(f"{name} must be a list of strings", query_name="")
    return list(values)
