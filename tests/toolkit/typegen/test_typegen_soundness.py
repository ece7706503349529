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
import types
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ForwardRef, Literal, Union, get_args, get_origin, get_type_hints
from uuid import UUID

import psycopg
from aiosql.types import SQLOperationType

from plainsql.queries import load_queries

from .conftest import PROJECT
from .project.library_types import queries as generated
from .project.library_types import records

NAMESPACE = {**vars(records), **vars(generated)}


def conforms(value: object, hint: Any) -> bool:
    """Whether ``value`` is of type ``hint`` (the subset of typing the generator writes)."""
    if isinstance(hint, str | ForwardRef):
        hint = eval(hint if isinstance(hint, str) else hint.__forward_arg__, NAMESPACE)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(conforms(value, arg) for arg in get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if origin is Literal:
        return value in get_args(hint)
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin is dict:
        key, item = get_args(hint)
        return isinstance(value, dict) and all(
            conforms(k, key) and conforms(v, item) for k, v in value.items()
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = get_type_hints(hint, NAMESPACE)
        return type(value) is hint and all(
            conforms(getattr(value, f), t) for f, t in fields.items()
        )
    if hint is int:
        return type(value) is int  # not a bool
    return isinstance(hint, type) and isinstance(value, hint)


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
    first_book = conn.execute("SELECT min(id) FROM books").fetchone()
    assert first_book is not None
    return {
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
        "shelf_id": 3,
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


def test_every_result_fits_its_generated_annotation(
    library_conn: psycopg.Connection[Any],
) -> None:
    params = _seed(library_conn)
    q = generated.TypedQueries(load_queries(PROJECT / "sql"))
    operations = {m: fn.operation for m, fn in _loaded_functions()}
    seen_null: set[tuple[str, str]] = set()
    checked = 0
    for name, function in _typed_functions(q):
        if operations[name] in (
            SQLOperationType.SCRIPT,
            SQLOperationType.INSERT_UPDATE_DELETE_MANY,
        ):
            continue
        hints = get_type_hints(function, NAMESPACE)
        arguments = {p: params[p] for p in inspect.signature(function).parameters if p != "conn"}
        if name == "library.delete_author":
            arguments["author_id"] = UUID(int=0)  # keep the data for the queries after it
        result = function(library_conn, **arguments)
        assert conforms(result, hints["return"]), (name, result, hints["return"])
        checked += 1
        rows = result if isinstance(result, list) else [result]
        for row in rows:
            if dataclasses.is_dataclass(row):
                seen_null |= {
                    (name, f.name) for f in dataclasses.fields(row) if getattr(row, f.name) is None
                }
    assert checked >= 40
    # The data does produce the NULLs the nullable types announce.
    assert {
        ("library.list_authors_with_books", "title"),
        ("library.list_books_with_optional_authors", "name"),
        ("library.list_authors_and_books", "name"),
        ("library.list_authors_and_books", "title"),
        ("library.list_authors_with_book_counts", "book_count"),
        ("library.list_pairs_from_cte", "title"),
        ("library.list_authors_with_first_title", "first_title"),
        ("library.list_authors_with_latest_book", "latest_title"),
        ("library.list_books_with_next_book", "next_title"),
        ("library.list_pages_per_author", "author_id"),
        ("library.list_authors_books_and_coauthors", "book_author_name"),
    } <= seen_null


def _loaded_functions() -> list[tuple[str, Any]]:
    loaded = load_queries(PROJECT / "sql")
    return [(name, loaded.get(name)) for name in loaded.available_queries]
