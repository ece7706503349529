"""Keyset paging over any ``(key, id)`` order, with opaque, versioned cursors bound to their list.

A list read a page at a time is ordered by a key and a unique tie breaker, e.g. ``ORDER BY
created_at DESC, id DESC``, and its query takes where to start (``before_created_at``,
``before_id``: both NULL for the first page) and a row limit. Declare the list once, with the
names its query gives those three parameters (a TypedDict, so that mypy checks the call)::

    class Before(TypedDict):
        before_created_at: datetime | None
        before_id: str | None
        page_size: int

    MEETINGS = KeysetList("meetings", lambda r: (r.created_at, r.id), Before)

and each call is three steps::

    page = MEETINGS.request(after, page_size)            # bounds the size, reads the cursor
    rows = await q.list_meetings(conn, user_id=user, **page.arguments)  # one row more
    return page.of(rows)                                  # the Page, with the next cursor

The cursor is opaque: URL-safe base64 of a version byte, a digest and the last row's key and
id (JSON, each value tagged with its type: a datetime comes back a datetime, a UUID a UUID).
The digest covers the version, the list's name and the payload, so a cursor that was
truncated, altered, or made by another list is :class:`~plainsql.errors.InvalidCursor`,
naming the parameter. By default the digest is a plain SHA-256 (no key, nothing to
configure): it catches a damaged or foreign cursor, not a forged one, which is enough where
the query scopes rows to the caller (a forged cursor moves only within the caller's own
rows). Give ``secret=`` (bytes the application keeps, e.g. read from its own secret store)
to make it an HMAC: a cursor then cannot be forged without the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Generic, TypeVar, cast, is_typeddict
from uuid import UUID

from plainsql.errors import InvalidCursor, InvalidInput

R = TypeVar("R")
K = TypeVar("K")
I = TypeVar("I")  # noqa: E741 - the id of (key, id)
A = TypeVar("A", bound=Mapping[str, object])  # the TypedDict of the query's cursor arguments

DEFAULT_MAX_PAGE_SIZE: Final = 500
_VERSION: Final = b"\x01"
_DIGEST_BYTES: Final = 12

# A key or id value as JSON: [tag, text]; the tag tells how to read the text back.
_TAGS: Final[dict[type, str]] = {
    str: "s",
    int: "i",
    UUID: "u",
    datetime: "t",
    date: "d",
    Decimal: "n",
}
_READ: Final[dict[str, Callable[[str], object]]] = {
    "s": str,
    "i": int,
    "u": UUID,
    "t": datetime.fromisoformat,
    "d": date.fromisoformat,
    "n": Decimal,
}


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page: its rows, and the cursor of the next page (None: this was the last page)."""

    items: tuple[R, ...]
    next_cursor: str | None


def _encode_value(value: object) -> list[str] | None:
    if value is None:
        return None
    tag = _TAGS.get(type(value))
    if tag is None:  # bool is an int's subclass, and neither a key nor an id
        raise TypeError(
            f"a keyset value must be one of str, int, UUID, datetime, date, Decimal, "
            f"not {type(value).__name__}"
        )
    return [tag, value.isoformat() if isinstance(value, date) else str(value)]


def _decode_value(item: object) -> object:
    if item is None:
        return None
    if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
        raise ValueError("not a tagged value")
    tag, text = item
    return _READ[tag](text)


@dataclass(frozen=True, slots=True)
class PageRequest(Generic[R, K, I, A]):
    """Where a page starts (``key``, ``id``: both None for the first page) and how many rows
    to ask for (``limit``: one more than the page, which tells whether a next page exists)."""

    keyset: KeysetList[R, K, I, A]
    key: K | None
    id: I | None
    size: int

    @property
    def limit(self) -> int:
        return self.size + 1

    @property
    def arguments(self) -> A:
        """``key``, ``id`` and ``limit`` under the names the list's query gives them (the
        list's ``arguments``), to pass as ``query(conn, ..., **page.arguments)``."""
        names = self.keyset.argument_names
        values = (self.id, self.limit) if len(names) == 2 else (self.key, self.id, self.limit)
        return cast(A, dict(zip(names, values, strict=True)))

    def of(self, rows: Sequence[R]) -> Page[R]:
        """The page of ``rows`` (read with :attr:`limit`) and the cursor of the next one."""
        items = tuple(rows[: self.size])
        if len(rows) <= self.size:
            return Page(items, None)
        return Page(items, self.keyset.cursor(items[-1]))


class KeysetList(Generic[R, K, I, A]):
    """A list read in keyset pages: its name (what its cursors are bound to), the ``(key, id)``
    of a row, and ``arguments``, the TypedDict of its query's cursor parameters: their names
    in order, the key's, the id's and the row limit's (just the id's and the limit's for a list
    in id order, whose row key is ``(None, id)``). The name should say what the list is and how
    it is filtered, e.g. ``"meetings-by-status"``: a cursor of one list is refused by another."""

    __slots__ = ("_secret", "argument_names", "max_page_size", "name", "row_key")

    def __init__(
        self,
        name: str,
        row_key: Callable[[R], tuple[K, I]],
        arguments: type[A],
        *,
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
        secret: bytes | None = None,
    ) -> None:
        names = tuple(getattr(arguments, "__annotations__", {})) if is_typeddict(arguments) else ()
        if len(names) not in (2, 3):
            raise TypeError(
                f"KeysetList {name!r}: arguments must be a TypedDict of the query's cursor "
                f"parameters, (key, id, limit) or (id, limit), got {arguments!r}"
            )
        self.name = name
        self.row_key = row_key
        self.argument_names: tuple[str, ...] = names
        self.max_page_size = max_page_size
        self._secret = secret

    def _digest(self, payload: bytes) -> bytes:
        message = _VERSION + self.name.encode() + b"\x00" + payload
        if self._secret is None:
            return hashlib.sha256(message).digest()[:_DIGEST_BYTES]
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_DIGEST_BYTES]

    def cursor(self, row: R) -> str:
        """The opaque cursor of the page after ``row``."""
        key, id_ = self.row_key(row)
        payload = json.dumps([_encode_value(key), _encode_value(id_)], separators=(",", ":"))
        data = payload.encode()
        raw = _VERSION + self._digest(data) + data
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def request(
        self, after: str | None, page_size: int, *, name: str = "after"
    ) -> PageRequest[R, K, I, A]:
        """The page after the cursor ``after`` (None: the first page) of ``page_size`` rows.

        A page size outside 1 to ``max_page_size`` is :class:`~plainsql.errors.InvalidInput`
        naming ``page_size``; a cursor this list did not make, :class:`InvalidCursor` naming
        ``name``."""
        if not 1 <= page_size <= self.max_page_size:
            raise InvalidInput(
                f"page_size must be between 1 and {self.max_page_size}, got {page_size}",
                query_name="",
            )
        if after is None:
            return PageRequest(self, None, None, page_size)
        key, id_ = self._decode(after, name)
        return PageRequest(self, key, id_, page_size)

    def _decode(self, cursor: str, name: str) -> tuple[K | None, I | None]:
        refused = f"{name} is not a cursor of this list ({self.name})"
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor(refused, query_name="") from exc
        version, digest, data = raw[:1], raw[1 : 1 + _DIGEST_BYTES], raw[1 + _DIGEST_BYTES :]
        if version != _VERSION or not hmac.compare_digest(digest, self._digest(data)):
            raise InvalidCursor(refused, query_name="")
        try:
            key, id_ = (_decode_value(v) for v in json.loads(data))
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidCursor(refused, query_name="") from exc
        # The digest proves this list's cursor() wrote the values: they are its K and I.
        return key, id_  # type: ignore[return-value]
