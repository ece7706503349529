"""Input bounds of the services: how many rows a page may ask for, how long a search may be.

Anything over a bound is :class:`plainsql.errors.InvalidInput` naming the parameter, raised
before the database is asked: a 9 MB search text would otherwise run until the statement
timeout, and an unbounded page size reads a whole table. JSON payloads are bounded by the
typed queries themselves (``plainsql.typegen.support.MAX_JSON_CHARS``).
"""

from __future__ import annotations

from typing import Final

from plainsql.errors import InvalidInput

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
