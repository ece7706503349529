"""The generated functions under mypy: ``assert_type`` over real calls, and errors on bad calls.

``make lint`` runs mypy over this file, so every ``assert_type`` below is checked statically;
the same calls run against a database built by the library project's migrations. The last
test runs mypy on a small file with mistakes and expects exactly those errors.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any, assert_type
from uuid import UUID, uuid4

import psycopg
import pytest

from plainsql.errors import StaleTypes
from plainsql.queries import load_async_queries, load_queries

from .conftest import PROJECT
from .project.library_types.queries import AsyncTypedQueries, TypedQueries
from .project.library_types.records import (
    JSON,
    AuthorRow,
    GetBookStatsRow,
    ListAuthorsWithBooksRow,
    ListShelfSlotsRow,
    Mood,
    ShelfRow,
    UpdateBookPriceRow,
)

REPO = Path(__file__).resolve().parents[3]


def test_sync_calls_have_the_generated_types(library_conn: psycopg.Connection[Any]) -> None:
    q = TypedQueries(load_queries(PROJECT / "sql"))
    author = q.library.create_author(
        library_conn,
        name="Ursula",
        email="ursula@example.org",
        nick=None,
        mood=Mood.HAPPY,
        profile={"languages": ["en"], "awards": 8},
    )
    assert_type(author, AuthorRow)
    assert isinstance(author, AuthorRow)
    assert_type(author.id, UUID)
    assert_type(author.nick, str | None)
    assert_type(author.mood, Mood)
    assert_type(author.profile, JSON | None)
    assert_type(author.created_at, datetime)
    assert author.created_at.tzinfo is not None  # timestamptz: an aware datetime
    assert (author.name, author.nick, author.mood) == ("Ursula", None, "happy")
    assert author.profile == {"languages": ["en"], "awards": 8}

    found = q.library.get_author_by_id(library_conn, author_id=author.id)
    assert_type(found, AuthorRow | None)
    assert found == author

    count = q.library.create_books(
        library_conn,
        [
            {"author_id": author.id, "title": "The Dispossessed", "pages": 387},
            {"author_id": None, "title": "Anonymous", "pages": 12},
        ],
    )
    assert_type(count, int)
    assert count == 2

    assert_type(q.library.count_books(library_conn), int)
    assert q.library.count_books(library_conn) == 2

    pairs = q.library.list_authors_with_books(library_conn)
    assert_type(pairs, list[ListAuthorsWithBooksRow])
    assert [(p.name, p.title) for p in pairs] == [("Ursula", "The Dispossessed")]

    stats = q.library.get_book_stats(library_conn)
    assert_type(stats, GetBookStatsRow)
    assert stats.books == 2
    assert sorted(stats.titles or []) == ["Anonymous", "The Dispossessed"]

    changed = q.library.update_author_bio(library_conn, author_id=author.id, bio=None)
    assert_type(changed, int)
    assert changed == 1

    bio = q.library.get_author_bio(library_conn, author_id=author.id)
    assert_type(bio, str | None)
    assert bio is None

    # A `$` query's enum value is the member, as a record's field is (psycopg loads a label).
    mood = q.library.get_author_mood(library_conn, author_id=author.id)
    assert_type(mood, Mood | None)
    assert mood is Mood.HAPPY
    assert q.library.get_author_mood(library_conn, author_id=uuid4()) is None
    default = q.library.get_default_mood(library_conn)
    assert_type(default, Mood)
    assert default is Mood.MEH

    slots = q.list_shelf_slots(library_conn)
    assert_type(slots, list[ListShelfSlotsRow])
    assert len(slots) == 10 * 1000  # shelves 1..10 of 20, 1,000 slots each

    shelf = q.upsert_shelf(library_conn, shelf_id=99, label="new")
    assert_type(shelf, ShelfRow)
    assert shelf == ShelfRow(id=99, label="new")
    again = q.create_shelf_if_missing(library_conn, shelf_id=99, label="other")
    assert_type(again, ShelfRow | None)
    assert again is None


async def test_async_calls_have_the_generated_types(
    library_aconn: psycopg.AsyncConnection[Any],
) -> None:
    q = AsyncTypedQueries(load_async_queries(PROJECT / "sql"))
    author = await q.library.create_author(
        library_aconn, name="Ted", email="ted@example.org", nick="T", mood=Mood.MEH, profile=None
    )
    assert_type(author, AuthorRow)
    assert (author.nick, author.profile, author.settings) == ("T", None, {})

    await q.library.create_books(
        library_aconn, [{"author_id": author.id, "title": "Stories", "pages": 281}]
    )
    rows = await q.library.list_authors_in_mood(library_aconn, mood=Mood.MEH)
    assert [(r.name, r.mood) for r in rows] == [("Ted", "meh")]

    priced = await q.library.update_book_price(library_aconn, book_id=10_000, price=5)
    assert_type(priced, UpdateBookPriceRow | None)
    assert priced is None

    assert_type(await q.library.count_books(library_aconn), int)
    assert_type(await q.reset_empty_shelves(library_aconn), str)


def test_the_typed_functions_refuse_sql_changed_since_generation(tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    for path in (PROJECT / "sql").rglob("*.sql"):
        target = sql / path.relative_to(PROJECT / "sql")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    authors = sql / "library" / "authors.sql"
    authors.write_text(authors.read_text().replace("SELECT id, name FROM", "SELECT id, bio FROM"))
    with pytest.raises(StaleTypes, match=r"library\.list_author_names: run `plainsql typegen`"):
        TypedQueries(load_queries(sql))


BAD_CALLS = """
    from typing import Any
    from uuid import uuid4

    import psycopg
    from library_types.queries import TypedQueries


    def use(q: TypedQueries, conn: psycopg.Connection[Any]) -> None:
        q.library.get_author_by_id(conn, author_id=uuid4())
        q.library.get_author_by_id(conn, author=uuid4())
        q.library.get_author_by_id(conn, author_id="not a uuid")
        q.library.list_authors_in_mood(conn, mood="angry")
        q.library.update_author_bio(conn, author_id=uuid4(), bio=None)
        q.library.get_author_bio(conn, author_id=None)
        title: str = q.library.get_author_by_id(conn, author_id=uuid4()).name
"""


@pytest.mark.slow
def test_mypy_rejects_a_wrong_keyword_and_wrong_argument_types(tmp_path: Path) -> None:
    bad = tmp_path / "bad_calls.py"
    bad.write_text(textwrap.dedent(BAD_CALLS))
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(PROJECT), str(REPO / "src")])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--config-file",
            os.devnull,
            "--follow-imports=silent",
            str(bad),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    by_line: dict[int, str] = {}
    for line in result.stdout.splitlines():
        if ": error: " in line:
            where, message = line.split(": error: ", 1)
            number = int(where.split(":")[1])
            by_line[number] = by_line.get(number, "") + message + "\n"
    assert 'Unexpected keyword argument "author"' in by_line[11]
    assert 'incompatible type "str"; expected "UUID"' in by_line[12]
    assert 'incompatible type "str"; expected "Mood"' in by_line[13]
    assert 'incompatible type "None"; expected "UUID"' in by_line[15]
    assert 'Item "None" of "AuthorRow | None" has no attribute "name"' in by_line[16]
    # The correct calls on lines 10 and 14 (None for a nullable column) are accepted.
    assert sorted(by_line) == [11, 12, 13, 15, 16]
