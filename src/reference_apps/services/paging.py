"""Keyset pages with an opaque cursor.

Every list that can grow is read a page at a time in a stable order with a unique tie breaker,
``(created_at DESC, id DESC)`` (or, through a link table, the link's key, ``id``), and the
next page starts strictly after the last row shown:
an index finds it whatever its depth (never OFFSET), and rows inserted meanwhile, before or
after the cursor, neither repeat nor shift a row of the pages still to come.

The cursor is opaque to callers: URL-safe base64 of the list's name (a meetings cursor is
refused by the videos list) and the last row's key, joined by the unit separator. It is not
signed: it carries nothing secret, and a forged one can only move within the caller's own
rows, which the queries scope to the acting user. A malformed or foreign cursor is
:class:`InvalidCursor`, an :class:`~plainsql.errors.InvalidInput` naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from plainsql.errors import InvalidInput

T = TypeVar("T")


class InvalidCursor(InvalidInput):
    """The cursor was not made by this list (malformed, truncated, or another list's)."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page: its rows, and the cursor of the next page (None: this was the last page)."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page starts: strictly after the row (created_at, id); both None: the start.
    created_at is the list's time key (a project list's is updated_at); None in id order."""

    created_at: datetime | None
    id: str | None


START = Keyset(None, None)


# The cursor's fields, joined by the ASCII unit separator: the list's kind and the time key
# hold none, and the id comes last, so even an id holding one splits off whole.
_SEPARATOR = "\x1f"


def encode_cursor(kind: str, created_at: datetime | None, row_id: str) -> str:
    """The opaque cursor of the page after the row (created_at, row_id) of the list ``kind``
    (created_at None: a list in id order)."""
    stamp = "" if created_at is None else created_at.isoformat()
    raw = _SEPARATOR.join((kind, stamp, row_id))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, name: str = "after") -> Keyset:
    """The keyset of ``cursor`` (made by :func:`encode_cursor` for ``kind``); START for None."""
    if cursor is None:
        return START
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found_kind, stamp, row_id = raw.split(_SEPARATOR, 2)
        if found_kind != kind:
            raise ValueError(kind)
        return Keyset(datetime.fromisoformat(stamp) if stamp else None, row_id)
    except (ValueError, binascii.Error) as e:
        raise InvalidCursor(f"{name} is not a cursor of this list ({kind})", query_name="") from e


def page_of(
    kind: str,
    rows: Sequence[T],
    page_size: int,
    key: Callable[[T], tuple[datetime | None, str]],
) -> Page[T]:
    """The page of ``rows`` (read with ``page_size + 1``: one more tells a next page exists)."""
    items = tuple(rows[:page_size])
    if len(rows) <= page_size:
        return Page(items, None)
    return Page(items, encode_cursor(kind, *key(items[-1])))
