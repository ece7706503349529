"""plainsql.runtime.paging: keyset pages over any (key, id) order, with opaque cursors."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import psycopg
import pytest

from plainsql import open_async_pool
from plainsql.config import Settings
from plainsql.errors import InvalidCursor, InvalidInput
from plainsql.queries import load_async_queries
from plainsql.runtime.database_async import AsyncDatabase
from plainsql.runtime.paging import KeysetList, Page

# A project of its own: one table whose order (score DESC, id DESC) has many ties on score.
SQL = """
-- name: list_items_page(before_score, before_id, page_size)
-- One page of the items, best score first, ties broken by id.
SELECT id, score FROM paging_items
WHERE :before_score::numeric IS NULL
   OR (score, id) < (:before_score::numeric, :before_id::uuid)
ORDER BY score DESC, id DESC
LIMIT :page_size
"""


@dataclass(frozen=True)
class Item:
    id: uuid.UUID
    score: Decimal


class BeforeScore(TypedDict):
    """How list_items_page names where a page starts and its row limit."""

    before_score: Decimal | None
    before_id: uuid.UUID | None
    page_size: int


class AfterId(TypedDict):
    after_id: str | None
    page_size: int


class OneName(TypedDict):
    page_size: int


class Pair(TypedDict):
    key: object
    id: object
    limit: int


def _item_key(item: Item) -> tuple[Decimal, uuid.UUID]:
    return (item.score, item.id)


ITEMS = KeysetList("items", _item_key, BeforeScore)


@pytest.fixture
async def db(
    plainsql_settings: Settings, plainsql_database_url: str
) -> AsyncIterator[AsyncDatabase]:
    with psycopg.connect(plainsql_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE paging_items (id uuid PRIMARY KEY, score numeric NOT NULL)")
        conn.execute(
            "INSERT INTO paging_items SELECT gen_random_uuid(), (g % 7)::numeric / 2"
            " FROM generate_series(1, 250) g"
        )
    settings = replace(plainsql_settings, transaction_role=None)
    async with open_async_pool(settings) as pool:
        yield AsyncDatabase(pool, settings)


async def test_a_walk_page_by_page_returns_every_row_once_in_order(
    db: AsyncDatabase, tmp_path: Path
) -> None:
    (tmp_path / "items.sql").write_text(SQL)
    queries: Any = load_async_queries(tmp_path)
    seen: list[Item] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = ITEMS.request(cursor, 40)
        async with db.transaction(read_only=True) as conn:
            rows = await queries.list_items_page(conn, **page.arguments)
        result: Page[Item] = page.of([Item(**r) for r in rows])
        seen.extend(result.items)
        pages += 1
        if (cursor := result.next_cursor) is None:
            break
    assert pages == 7  # 250 rows: six full pages and a last one of 10
    assert len({i.id for i in seen}) == 250
    assert seen == sorted(seen, key=lambda i: (i.score, i.id), reverse=True)


@pytest.mark.parametrize(
    "key",
    [datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), date(2026, 1, 2), 7, "b", Decimal("2.50"), None],
)
def test_a_cursor_gives_back_the_key_and_id_with_their_types(key: object) -> None:
    keyset = KeysetList[tuple[object, uuid.UUID], object, uuid.UUID, Pair]("t", lambda r: r, Pair)
    row = (key, uuid.uuid4())
    page = keyset.request(keyset.cursor(row), 10)
    assert (page.key, page.id) == row
    assert type(page.key) is type(key)
    assert type(page.id) is uuid.UUID


def test_malformed_altered_and_foreign_cursors_are_invalid_cursor_naming_the_parameter() -> None:
    meetings = KeysetList[tuple[int, str], int, str, Pair]("meetings", lambda r: r, Pair)
    videos = KeysetList[tuple[int, str], int, str, Pair]("videos", lambda r: r, Pair)
    cursor = meetings.cursor((1, "m1"))
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1  # one bit of the payload
    altered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in ("not a cursor!", "", cursor[:-4], altered, videos.cursor((1, "m1"))):
        with pytest.raises(InvalidCursor, match=r"^after is not a cursor of this list \(meetings"):
            meetings.request(bad, 10)
    with pytest.raises(InvalidCursor, match=r"^since "):
        meetings.request("x", 10, name="since")
    assert "m1" not in cursor  # opaque
    assert "meetings" not in cursor


def test_a_signed_list_refuses_a_cursor_made_without_its_secret() -> None:
    signed = KeysetList[tuple[int, str], int, str, Pair]("l", lambda r: r, Pair, secret=b"k" * 32)
    unsigned = KeysetList[tuple[int, str], int, str, Pair]("l", lambda r: r, Pair)
    other_key = KeysetList[tuple[int, str], int, str, Pair](
        "l", lambda r: r, Pair, secret=b"j" * 32
    )
    assert signed.request(signed.cursor((1, "a")), 5).id == "a"
    for forged in (unsigned.cursor((1, "a")), other_key.cursor((1, "a"))):
        with pytest.raises(InvalidCursor):
            signed.request(forged, 5)


def test_the_page_size_is_bounded_and_the_last_page_has_no_cursor() -> None:
    keyset = KeysetList[int, int, int, Pair]("n", lambda r: (r, r), Pair, max_page_size=3)
    for size in (0, 4):
        with pytest.raises(InvalidInput, match=f"page_size must be between 1 and 3, got {size}"):
            keyset.request(None, size)
    first = keyset.request(None, 2)
    assert (first.key, first.id, first.limit) == (None, None, 3)
    assert first.of([9, 8, 7]) == Page((9, 8), keyset.cursor(8))
    assert first.of([9, 8]) == Page((9, 8), None)


def test_a_page_request_gives_the_query_its_arguments_under_the_declared_names() -> None:
    first = ITEMS.request(None, 20)
    assert first.arguments == {"before_score": None, "before_id": None, "page_size": 21}
    last = Item(uuid.uuid4(), Decimal("1.5"))
    after = ITEMS.request(ITEMS.cursor(last), 5).arguments
    assert after == {"before_score": Decimal("1.5"), "before_id": last.id, "page_size": 6}
    # A list in id order names two: the id's and the row limit's.
    by_id = KeysetList[tuple[None, str], None, str, AfterId]("by-id", lambda r: r, AfterId)
    page = by_id.request(by_id.cursor((None, "v7")), 10)
    assert page.arguments == {"after_id": "v7", "page_size": 11}


@pytest.mark.parametrize("arguments", [dict, Item, OneName])
def test_arguments_that_are_no_typeddict_of_two_or_three_names_are_refused(
    arguments: Any,
) -> None:
    with pytest.raises(TypeError, match=r"KeysetList 'l': arguments must be a TypedDict"):
        KeysetList("l", _item_key, arguments)
