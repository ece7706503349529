"""The generator's types for the library project's queries against types written by hand.

Each expectation below was written from the SQL and the schema (tests/typegen/project), not
copied from the generator's output: a column is ``| None`` exactly where PostgreSQL can
return NULL for it.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from aiosql.types import SQLOperationType

from plainsql._sqltext import numbered
from plainsql.typegen.describe import load_sources
from plainsql.typegen.model import Method, Model
from plainsql.typegen.render import return_annotation

from .conftest import PROJECT

EXPECTED_COLUMNS: dict[str, list[str]] = {
    # inner, left, right and full joins, both sides
    "library.list_books_with_authors": ["title: str", "author_name: str"],
    "library.list_authors_with_books": ["name: str", "title: str | None", "subtitle: str | None"],
    "library.list_books_with_optional_authors": ["name: str | None", "title: str"],
    "library.list_authors_and_books": ["name: str | None", "title: str | None"],
    # a LEFT JOIN whose WHERE makes it an inner join: PostgreSQL proves the title NOT NULL
    "library.list_authors_with_books_titled": ["name: str", "title: str"],
    # a self join: the same table once NOT NULL, once on the nullable side
    "library.list_books_with_next_book": ["title: str", "next_title: str | None"],
    "library.list_authors_books_and_coauthors": [
        "name: str",
        "title: str | None",
        "book_author_name: str | None",
    ],
    "library.list_authors_without_books": ["name: str"],
    "library.list_authors_with_latest_book": ["name: str", "latest_title: str | None"],
    # the LEFT JOIN the planner runs as a Hash Right Join (see the test below)
    "list_shelf_slots": ["label: str", "position: int | None", "note: str | None"],
    # CTEs, subqueries, a recursive CTE, a UNION, a view
    "library.list_prolific_authors": ["name: str", "book_count: int"],
    "library.list_authors_with_book_counts": ["name: str", "book_count: int | None"],
    "library.list_pairs_from_cte": ["name: str", "title: str | None"],
    # sum() of a NOT NULL column in a group (never empty): NOT NULL
    "library.list_pages_per_author": ["author_id: UUID | None", "total_pages: int"],
    "library.list_authors_with_counts_by_subquery": ["name: str", "book_count: int"],
    "library.list_authors_with_first_title": ["name: str", "first_title: str | None"],
    "library.list_authors_with_book_flag": ["name: str", "has_books: bool"],
    "library.list_book_chain": ["id: int", "title: str"],
    "library.list_labels": ["label: str | None"],
    "library.list_author_book_counts": ["id: UUID", "name: str", "books: int"],
    # aggregates with and without GROUP BY, window functions
    "library.get_book_stats": ["books: int", "min_pages: int | None", "titles: list[str] | None"],
    "library.list_book_stats_by_author": [
        "author_id: UUID | None",
        "books: int",
        "with_subtitle: int",
        "total_pages: int",  # sum() of NOT NULL pages over a group: NOT NULL
        "last_title: str",  # max() of NOT NULL titles over a group
        "average_price: Decimal | None",  # avg() of a nullable column: NULL when all are
    ],
    "library.list_books_ranked": ["title: str", "position: int", "previous_title: str | None"],
    # COALESCE, CASE, literals, casts, IS NULL, operators
    "library.list_author_labels": ["display_name: str", "about: str | None", "rating: Decimal"],
    "library.list_book_lengths": ["length: str", "long_only: str | None"],
    "library.list_book_facts": [
        "one: int",
        "letter: str",
        "id_text: str",
        "untitled: bool",
        "thick: bool",  # a B-tree comparison of NOT NULL values: true or false
        "nothing: str | None",
    ],
    # domains, enums, arrays, jsonb
    "library.get_author_contact": ["email: str", "nick: str | None"],
    "library.list_authors_in_mood": ["name: str", "mood: Mood"],
    "library.list_authors_tagged": ["tags: list[str]", "tag_count: int | None"],
    "library.list_author_settings": [
        "profile: JSON | None",
        "settings: JSON",
        "theme: JSON | None",
        "lang: str | None",
        "matches: bool | None",
    ],
    "library.list_moods": ["moods: str | None"],
    # the overrides: "!" on an expression and on the nullable side of a join, "?" on a column
    "library.list_names_overridden": ["lower_name: str", "maybe_name: str | None"],
    "library.list_authors_with_book_title_forced": ["name: str", "title: str"],
    "library.list_books_up_to": ["title: str"],
    # whole rows of a table, and writes returning rows
    "library.get_author_by_id": [
        "id: UUID",
        "name: str",
        "email: str",
        "nick: str | None",
        "bio: str | None",
        "mood: Mood",
        "tags: list[str]",
        "profile: JSON | None",
        "settings: JSON",
        "rating: Decimal | None",
        "born: date | None",
        "created_at: datetime",
    ],
    "library.list_authors": [],  # filled below: the same row as get_author_by_id
    "library.create_author": [],
    "library.list_author_names": ["id: UUID", "name: str"],
    "library.update_book_price": ["title: str", "author_name: str", "price: Decimal | None"],
    "upsert_shelf": ["id: int", "label: str"],
    "create_shelf_if_missing": ["id: int", "label: str"],
    "library.create_note": ["id: int", "body: str", "updated_at: datetime"],
    "library.upsert_note": ["id: int", "body: str", "updated_at: datetime"],
    # -- precision.sql: one block per rule of docs/typegen.md, each with a nullable neighbour
    # casts from jsonb: NULL for a JSON null on 18 (15 raises), so nullable on every server
    "library.list_author_pins": ["name: str", "pinned: bool | None"],
    "library.list_author_scores": [
        "name: str",
        "score: Decimal | None",
        "first_score: int | None",
    ],
    "library.list_author_settings_text": ["settings_text: str", "pinned: bool | None"],
    # aggregates over a group (never empty); FILTER, ROLLUP, GROUP BY (), no GROUP BY
    "library.list_author_book_extremes": [
        "author_id: UUID | None",
        "most_pages: int",
        "first_title: str",
        "all_thick: bool",
        "titles: str",
        "book_ids: list[int]",
        "some_subtitle: str | None",
    ],
    "library.list_author_book_extremes_filtered": [
        "author_id: UUID | None",
        "most_long_pages: int | None",
        "long_titles: list[str] | None",
        "long_books: int",
    ],
    "library.list_author_book_rollup": ["author_id: UUID | None", "most_pages: int | None"],
    "library.get_book_extremes_without_rows": ["most_pages: int | None", "titles: str | None"],
    "library.get_book_extremes_grouped_by_nothing": [
        "most_pages: int | None",
        "titles: list[str] | None",
    ],
    "library.list_book_sums_by_shelf_parity": [
        "parity: int",
        "total_price: Decimal",
        "average_pages: Decimal",
        "priced_total: Decimal | None",
    ],
    # count(*) in a scalar subquery, with LIMIT 1; OFFSET and GROUP BY keep it nullable
    "library.list_authors_with_limited_counts": [
        "name: str",
        "book_count: int",
        "skipped: int | None",
        "grouped_count: int | None",
    ],
    "library.get_book_total": ["books: int", "no_subtitle: str | None"],
    # EXISTS
    "library.list_authors_with_exists": [
        "name: str",
        "has_books: bool",
        "no_long_books: bool",
        "found: bool | None",
    ],
    "library.get_any_orphans": ["has_orphans: bool", "orphan_author: UUID | None"],
    # IN (subquery)
    "library.list_books_in_long_list": ["title: str", "is_long: bool", "is_short: bool"],
    "library.list_authors_in_book_list": [
        "name: str",
        "listed: bool | None",
        "listed_known: bool",
    ],
    # CASE
    "library.list_book_labels": ["label: str", "long_subtitle: str | None"],
    "library.list_book_sizes": ["parity: str", "known: str | None"],
    "library.list_book_halves": ["size: str", "kind: str", "cost: str | None"],
    # ||, concat, concat_ws, jsonb_build_object/array, cardinality, arithmetic
    "library.list_book_descriptions": ["description: str", "full_title: str | None"],
    "library.list_book_concats": ["joined: str", "listed: str", "by_subtitle: str | None"],
    "library.list_book_documents": ["document: JSON", "pair: JSON", "missing: JSON | None"],
    "library.list_author_tag_counts": ["name: str", "tag_count: int", "tag_length: int | None"],
    "library.list_book_arithmetic": [
        "doubled: int",
        "negated: int",
        "price_and_pages: Decimal",
        "double_price: Decimal | None",
    ],
    # window functions and frames
    "library.list_books_windowed": [
        "title: str",
        "size_rank: int",
        "half: int",
        "previous_title: str",
        "next_title: str | None",
        "previous_or_subtitle: str | None",
        "thinnest: str",
    ],
    "library.list_books_framed": [
        "title: str",
        "upto_next: str",
        "most_pages_by_author: int",
        "before: str | None",
        "after: int | None",
        "other_title: str | None",
    ],
    # generate_series and WITH ORDINALITY
    "library.list_series": ["n: int", "m: int"],
    "library.list_uneven_series": ["short: int | None"],
    "library.list_series_rows_from": ["a: int | None", "n: int"],
    "library.list_book_names_numbered": ["id: int", "name: str | None", "n: int"],
    # INTERSECT and EXCEPT
    "library.list_subtitles_that_are_titles": ["subtitle: str"],
    "library.list_common_subtitles": ["subtitle: str | None"],
    "library.list_titles_except_subtitles": ["title: str"],
    "library.list_subtitles_except_titles": ["subtitle: str | None"],
    # FULL JOIN ... USING
    "library.list_shelves_and_books_by_id": [
        "id: int",
        "title: str | None",
        "label: str | None",
    ],
    "library.list_authors_and_books_by_author": [
        "author_id: UUID | None",
        "name: str | None",
        "title: str | None",
    ],
    # recursive CTEs
    "library.list_countdown": ["i: int", "label: str"],
    "library.list_book_chain_subtitles": ["depth: int", "note: str | None"],
    # WHERE narrowing
    "library.list_subtitled_books": ["title: str", "subtitle: str", "price: Decimal"],
    "library.list_books_subtitled_or_long": ["title: str", "subtitle: str | None"],
    "library.list_authors_with_subtitled_books": [
        "name: str",
        "bio: str | None",
        "subtitle: str | None",
    ],
    "library.list_rated_authors": ["name: str", "rating: Decimal", "born: date | None"],
    "library.list_books_of_author": ["author_id: UUID", "title: str"],
    "library.list_known_bios": ["name: str", "bio: str"],
    "library.list_bios_or_default": ["name: str", "bio: str | None"],
}

EXPECTED_COLUMNS["library.list_authors"] = EXPECTED_COLUMNS["library.get_author_by_id"]
EXPECTED_COLUMNS["library.create_author"] = EXPECTED_COLUMNS["library.get_author_by_id"]

EXPECTED_RETURNS: dict[str, str] = {
    "library.count_books": "int",  # count(*) without GROUP BY: one row, never NULL
    "library.get_author_bio": "str | None",
    "library.get_author_by_id": "AuthorRow | None",
    "library.get_book_stats": "GetBookStatsRow",  # aggregates without GROUP BY: always a row
    "library.list_authors": "list[AuthorRow]",
    "library.create_author": "AuthorRow",  # INSERT ... VALUES ... RETURNING: always the row
    "upsert_shelf": "ShelfRow",  # ON CONFLICT DO UPDATE (no trigger): always the row
    "create_shelf_if_missing": "ShelfRow | None",  # ON CONFLICT DO NOTHING: maybe none
    "library.create_note": "NoteRow",
    "library.upsert_note": "NoteRow | None",  # a BEFORE UPDATE trigger could skip the row
    "library.update_book_price": "UpdateBookPriceRow | None",
    "library.update_author_bio": "int",
    "library.delete_author": "int",
    "library.create_books": "int",
    "reset_empty_shelves": "str",
    "library.list_author_book_counts": "list[AuthorBookCountRow]",
    # LIMIT 1 over one row is one row; a scalar sub-select is one row
    "library.get_book_total": "GetBookTotalRow",
    "library.get_any_orphans": "GetAnyOrphansRow",
    "library.get_book_extremes_without_rows": "GetBookExtremesWithoutRowsRow",
    "library.get_book_extremes_grouped_by_nothing": "GetBookExtremesGroupedByNothingRow",
}

EXPECTED_PARAMS: dict[str, list[str]] = {
    "library.create_author": [
        "name: str",
        "email: str",  # a NOT NULL domain
        "nick: str | None",  # written to a nullable column
        "mood: Mood",
        "profile: JSONParam | None",
    ],
    "library.update_author_bio": ["bio: str | None", "author_id: UUID"],
    # written to a nullable column through a CASE branch (and a nullable domain)
    "library.update_author_nick": ["set_nick: bool", "nick: str | None", "author_id: UUID"],
    "library.update_book_price": ["price: Decimal | int | None", "book_id: int"],
    "library.list_books_up_to": ["max_pages: int | None"],  # tested with IS NULL
    "library.list_authors_in_mood": ["mood: Mood"],
    "library.list_authors_tagged": ["tag: str"],
    "library.list_author_settings": ["filter: JSONParam"],
    "library.list_authors_with_books_titled": ["title: str"],
    "library.create_books": ["author_id: UUID | None", "title: str", "pages: int"],
    "upsert_shelf": ["shelf_id: int", "label: str"],
    "library.list_book_chain": ["book_id: int"],
}


def _methods(model: Model) -> dict[str, Method]:
    return {method.source.name: method for method in model.methods}


def test_every_query_of_the_project_has_a_hand_written_expectation() -> None:
    names = {source.name for source in load_sources(PROJECT / "sql")}
    columns_expected = {
        s.name
        for s in load_sources(PROJECT / "sql")
        if s.operation
        in (
            SQLOperationType.SELECT,
            SQLOperationType.SELECT_ONE,
            SQLOperationType.INSERT_RETURNING,
        )
    }
    assert columns_expected <= set(EXPECTED_COLUMNS)
    assert set(EXPECTED_COLUMNS) <= names
    assert len(EXPECTED_COLUMNS) >= 80


@pytest.mark.parametrize("query", sorted(EXPECTED_COLUMNS))
def test_result_columns(library_model: Model, query: str) -> None:
    record_name = _methods(library_model)[query].record
    record = next(r for r in library_model.records if r.name == record_name)
    assert [f"{f.name}: {f.type.text}" for f in record.fields] == EXPECTED_COLUMNS[query]


@pytest.mark.parametrize("query", sorted(EXPECTED_RETURNS))
def test_return_types(library_model: Model, query: str) -> None:
    assert return_annotation(_methods(library_model)[query]) == EXPECTED_RETURNS[query]


@pytest.mark.parametrize("query", sorted(EXPECTED_PARAMS))
def test_parameter_types(library_model: Model, query: str) -> None:
    params = _methods(library_model)[query].params
    assert [f"{p.name}: {p.type.text}" for p in params] == EXPECTED_PARAMS[query]


def test_identical_shapes_share_a_record_named_after_their_table(library_model: Model) -> None:
    methods = _methods(library_model)
    assert methods["library.create_author"].record == "AuthorRow"
    assert methods["library.get_author_by_id"].record == "AuthorRow"
    assert methods["library.list_authors"].record == "AuthorRow"
    assert methods["upsert_shelf"].record == methods["create_shelf_if_missing"].record == "ShelfRow"
    # Renamed or null-extended columns of a table are not "a row of" it.
    assert methods["library.list_books_with_next_book"].record == "ListBooksWithNextBookRow"
    assert library_model.enums == {"Mood": ("happy", "sad", "meh")}


def _join_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if "Join Type" in plan else []
    for child in plan.get("Plans", []):
        found += _join_nodes(child)
    return found


def test_a_left_join_run_as_a_hash_right_join_keeps_the_right_side_nullable(
    library_conn: psycopg.Connection[Any], library_model: Model
) -> None:
    source = next(s for s in load_sources(PROJECT / "sql") if s.name == "list_shelf_slots")
    assert "LEFT JOIN slots" in source.sql
    row = library_conn.execute(
        "EXPLAIN (VERBOSE, FORMAT JSON) " + numbered(source.sql)[0]
    ).fetchone()
    assert row is not None
    (join,) = _join_nodes(row[0][0]["Plan"])
    # The planner hashed the small preserved side (shelves) and probes with the slots: the
    # nullable side of the LEFT JOIN is the OUTER child of a Hash Right Join.
    assert (join["Node Type"], join["Join Type"]) == ("Hash Join", "Right")
    outer = next(p for p in join["Plans"] if p["Parent Relationship"] == "Outer")
    assert outer["Relation Name"] == "slots"
    record_name = _methods(library_model)["list_shelf_slots"].record
    record = next(r for r in library_model.records if r.name == record_name)
    assert [f"{f.name}: {f.type.text}" for f in record.fields] == [
        "label: str",
        "position: int | None",
        "note: str | None",
    ]
