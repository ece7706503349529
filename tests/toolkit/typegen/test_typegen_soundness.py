"""The generated types hold at run time: every value each query returns fits its annotation.

Every read and write of the library project runs through the generated functions on data
made to produce NULLs wherever the schema allows them (authors without books, books without
authors, empty optional columns). Each result is checked against the annotation the
generated module declares, evaluated at run time; and the NULLs the nullable types announce
are seen to come back.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, get_args, get_type_hints
from uuid import UUID

import psycopg
import pytest
from aiosql.types import SQLOperationType

from plainsql.errors import PlainSQLError
from plainsql.queries import load_queries

from .conftest import PROJECT
from .project.library_types import queries as generated
from .project.library_types import records

NAMESPACE = {**vars(records), **vars(generated)}
Conforms = Callable[[object, Any, Mapping[str, Any]], bool]  # the `conforms` fixture


def _seed(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    q = generated.TypedQueries(load_queries(PROJECT / "sql"))
    full = q.library.create_author(
        conn,
        name="Full",
        email="full@example.org",
        nick="F",
        mood=records.Mood.HAPPY,
        profile={"lang": "en", "tags": ["a", 1, None]},
    )
    conn.execute(
        "UPDATE authors SET bio = 'bio', rating = 4.5, born = '1950-01-01',"
        ' tags = \'{sci-fi,classic}\', settings = \'{"theme": "dark", "lang": "en"}\''
        " WHERE id = %s",
        (full.id,),
    )
    sparse = q.library.create_author(
        conn,
        name="Sparse",
        email="sparse@example.org",
        nick=None,
        mood=records.Mood.SAD,
        profile=None,
    )
    q.library.create_author(
        conn,
        name="Bookless",
        email="none@example.org",
        nick=None,
        mood=records.Mood.MEH,
        profile=None,
    )
    q.library.create_books(
        conn,
        [
            {"author_id": full.id, "title": "Dune", "pages": 412},
            {"author_id": full.id, "title": "Dune Messiah", "pages": 256},
            {"author_id": sparse.id, "title": "Thin", "pages": 90},
            {"author_id": None, "title": "Orphan", "pages": 333},
        ],
    )
    conn.execute("UPDATE books SET subtitle = 'The first', price = 9.99 WHERE title = 'Dune'")
    # precision.sql: a subtitle that is also a title (INTERSECT), JSON nulls to cast (NULL on
    # PostgreSQL 18, an error before), a rated author born on an unknown date.
    conn.execute("UPDATE books SET subtitle = 'Dune' WHERE title = 'Dune Messiah'")
    conn.execute(
        'UPDATE authors SET settings = settings || \'{"pinned": true, "score": 7.5}\''
        " WHERE id = %s",
        (full.id,),
    )
    conn.execute(
        'UPDATE authors SET settings = \'{"pinned": null, "score": null}\' WHERE id = %s',
        (sparse.id,),
    )
    conn.execute("UPDATE authors SET rating = 2 WHERE name = 'Bookless'")
    first_book = conn.execute("SELECT min(id) FROM books").fetchone()
    assert first_book is not None
    sparse_book = conn.execute("SELECT id FROM books WHERE title = 'Thin'").fetchone()
    assert sparse_book is not None
    return {
        "sparse": {
            "author_id": sparse.id,
            "book_id": sparse_book[0],
            "price": None,
            "profile": None,
            "tag": "classic",
            "note_id": 2,
            "shelf_id": 22,
        },
        "author_id": full.id,
        "book_id": first_book[0],
        "title": "Dune",
        "mood": "happy",
        "tag": "sci-fi",
        "filter": {"lang": "en"},
        "max_pages": None,
        "bio": None,
        "price": Decimal("12.50"),
        "name": "Another",
        "email": "another@example.org",
        "nick": None,
        "set_nick": True,
        "profile": {"x": 1},
        "shelf_id": 21,  # a new shelf (no slots): create_shelf_if_missing returns it
        "label": "third",
        "note_id": 1,
        "body": "a note",
    }


def _typed_functions(q: generated.TypedQueries) -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for owner, prefix in ((q, ""), (q.library, "library.")):
        for name, _ in inspect.getmembers(type(owner), inspect.isfunction):
            if not name.startswith("_"):
                found.append((prefix + name, getattr(owner, name)))
    return sorted(found)


# Columns whose NULL only PostgreSQL 18 returns: a JSON null cast to a scalar, which 15 to 17
# refuse with this error (the fixture's {"pinned": null, "score": null} author makes it).
JSON_NULL_CASTS = {
    ("library.list_author_pins", "pinned"),
    ("library.list_author_scores", "score"),
    ("library.list_author_scores", "first_score"),
}
JSON_NULL_CAST_ERROR = "cannot cast jsonb null to type"

# Typed "| None" by an override ("?") on a column that is never NULL: nothing to see.
FORCED_NULLABLE = {("library.list_names_overridden", "maybe_name")}


def _nullable_fields(hint: Any) -> set[str]:
    """The fields typed ``| None`` of the record a query function returns."""
    record = next(
        (
            arg
            for arg in (hint, *get_args(hint), *(a for h in get_args(hint) for a in get_args(h)))
            if isinstance(arg, type) and dataclasses.is_dataclass(arg)
        ),
        None,
    )
    if record is None:
        return set()
    # The annotations as written: JSON is an alias whose union holds None (JSON null) too.
    return {name for name, text in record.__annotations__.items() if text.endswith("| None")}


READS = (SQLOperationType.SELECT, SQLOperationType.SELECT_ONE, SQLOperationType.SELECT_VALUE)


def _run_every_query(
    conn: psycopg.Connection[Any], params: dict[str, Any], conforms: Conforms, *, populated: bool
) -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[str], list[str]]:
    """Run every query through its typed function (only the reads on empty tables); returns
    the (query, field) pairs typed ``| None``, those seen NULL, the queries that returned no
    row and the mismatches."""
    q = generated.TypedQueries(load_queries(PROJECT / "sql"))
    operations = {m: fn.operation for m, fn in _loaded_functions()}
    json_nulls_raise = conn.info.server_version < 180000
    nullable: set[tuple[str, str]] = set()
    seen_null: set[tuple[str, str]] = set()
    empty: list[str] = []
    mismatches: list[str] = []
    for name, function in _typed_functions(q):
        operation = operations[name]
        if operation in (SQLOperationType.SCRIPT, SQLOperationType.INSERT_UPDATE_DELETE_MANY):
            continue
        if not populated and operation not in READS:
            continue
        hints = get_type_hints(function, NAMESPACE)
        nullable |= {(name, f) for f in _nullable_fields(hints["return"])}
        arguments = {p: params[p] for p in inspect.signature(function).parameters if p != "conn"}
        if name == "library.delete_author":
            arguments["author_id"] = UUID(int=0)  # keep the data for the queries after it
        if populated and json_nulls_raise and any(query == name for query, _ in JSON_NULL_CASTS):
            with pytest.raises(PlainSQLError, match=JSON_NULL_CAST_ERROR), conn.transaction():
                function(conn, **arguments)
            continue
        result = function(conn, **arguments)
        if not conforms(result, hints["return"], NAMESPACE):
            mismatches.append(f"{name}: {result!r} is not {hints['return']}")
        rows = result if isinstance(result, list) else [result]
        if operation is not SQLOperationType.SELECT_VALUE and rows in ([], [None]):
            empty.append(name)
        for row in rows:
            if dataclasses.is_dataclass(row):
                seen_null |= {
                    (name, f.name) for f in dataclasses.fields(row) if getattr(row, f.name) is None
                }
    return nullable, seen_null, empty, mismatches


def test_every_result_fits_its_generated_annotation(
    library_conn: psycopg.Connection[Any], conforms: Conforms
) -> None:
    """Every query over data made to produce NULLs, then over empty tables (where aggregates
    without GROUP BY return NULL): each value fits its annotation, each query returns a row
    on the data, and every column typed ``| None`` is seen NULL."""
    params = _seed(library_conn)
    nullable, seen_null, empty, mismatches = _run_every_query(
        library_conn, params, conforms, populated=True
    )
    assert mismatches == []
    assert empty == []
    # Again for the other author and book: the point queries see the sparse row's NULLs.
    _, seen_on_sparse, _, mismatches = _run_every_query(
        library_conn, params | params["sparse"], conforms, populated=True
    )
    assert mismatches == []
    seen_null |= seen_on_sparse
    with library_conn.transaction():
        library_conn.execute("TRUNCATE books, authors, notes, slots, shelves")
        _, seen_on_empty, _, mismatches_on_empty = _run_every_query(
            library_conn, params, conforms, populated=False
        )
        assert mismatches_on_empty == []
        raise psycopg.Rollback
    assert len(nullable) >= 90
    unseen = nullable - seen_null - seen_on_empty - FORCED_NULLABLE
    if library_conn.info.server_version < 180000:
        unseen -= JSON_NULL_CASTS  # the test above expected the error instead
    assert sorted(unseen) == [], "\n".join(map(str, sorted(unseen)))


def _loaded_functions() -> list[tuple[str, Any]]:
    loaded = load_queries(PROJECT / "sql")
    return [(name, loaded.get(name)) for name in loaded.available_queries]
