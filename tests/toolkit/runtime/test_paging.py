"""plainsql.runtime.paging: keyset pages over any (key, id) order, with opaque cursors."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

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


ITEMS = KeysetList[Item, Decimal, uuid.UUID]("items", lambda r: (r.score, r.id))


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
            rows = await queries.list_items_page(
                conn, before_score=page.key, before_id=page.id, page_size=page.limit
            )
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
    keyset = KeysetList[tuple[object, uuid.UUID], object, uuid.UUID]("t", lambda r: r)
    row = (key, uuid.uuid4())
    page = keyset.request(keyset.cursor(row), 10)
    assert (page.key, page.id) == row
    assert type(page.key) is type(key)
    assert type(page.id) is uuid.UUID


def test_malformed_altered_and_foreign_cursors_are_invalid_cursor_naming_the_parameter() -> None:
    meetings = KeysetList[tuple[int, str], int, str]("meetings", lambda r: r)
    videos = KeysetList[tuple[int, str], int, str]("videos", lambda r: r)
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
    signed = KeysetList[tuple[int, str], int, str]("l", lambda r: r, secret=b"k" * 32)
    unsigned = KeysetList[tuple[int, str], int, str]("l", lambda r: r)
    other_key = KeysetList[tuple[int, str], int, str]("l", lambda r: r, secret=b"j" * 32)
    assert signed.request(signed.cursor((1, "a")), 5).id == "a"
    for forged in (unsigned.cursor((1, "a")), other_key.cursor((1, "a"))):
        with pytest.raises(InvalidCursor):
            signed.request(forged, 5)


def test_the_page_size_is_bounded_and_the_last_page_has_no_cursor() -> None:
    keyset = KeysetList[int, int, int]("n", lambda r: (r, r), max_page_size=3)
    for size in (0, 4):
        with pytest.raises(InvalidInput, match=f"page_size must be between 1 and 3, got {size}"):
            keyset.request(None, size)
    first = keyset.request(None, 2)
    assert (first.key, first.id, first.limit) == (None, None, 3)
    assert first.of([9, 8, 7]) == Page((9, 8), keyset.cursor(8))
    assert first.of([9, 8]) == Page((9, 8), None)
