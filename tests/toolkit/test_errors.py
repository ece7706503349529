"""errors.py: psycopg errors from a real server map onto plainsql's tree, cause kept, no secrets."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from plainsql.errors import (
    CheckViolation,
    DatabaseUnavailable,
    DomainError,
    ForeignKeyViolation,
    IntegrityError,
    NotNullViolation,
    QueryError,
    UniqueViolation,
    map_error,
    redact_row_data,
    scrub_secrets,
    translate_constraint,
)


class ThingTaken(DomainError):
    pass


@pytest.fixture
def schema(plainsql_conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    plainsql_conn.execute(
        "CREATE TABLE parents (id int CONSTRAINT parents_pkey PRIMARY KEY, "
        "code text CONSTRAINT parents_code_key UNIQUE, "
        "size int CONSTRAINT parents_size_positive CHECK (size > 0), label text NOT NULL)"
    )
    plainsql_conn.execute(
        "CREATE TABLE children (parent_id int CONSTRAINT children_parent_fkey REFERENCES parents)"
    )
    plainsql_conn.execute("INSERT INTO parents VALUES (1, 'a', 1, 'one')")
    return plainsql_conn


@pytest.mark.parametrize(
    ("statement", "expected_class", "constraint"),
    [
        ("INSERT INTO parents VALUES (2, 'a', 1, 'dup')", UniqueViolation, "parents_code_key"),
        ("INSERT INTO children VALUES (99)", ForeignKeyViolation, "children_parent_fkey"),
        ("INSERT INTO parents VALUES (3, 'c', -1, 'neg')", CheckViolation, "parents_size_positive"),
        ("INSERT INTO parents VALUES (4, 'd', 1, NULL)", NotNullViolation, None),
    ],
)
def test_constraint_errors_map_by_class_and_constraint(
    schema: psycopg.Connection[Any],
    statement: str,
    expected_class: type[IntegrityError],
    constraint: str | None,
) -> None:
    with pytest.raises(psycopg.Error) as caught, schema.transaction():
        schema.execute(statement)
    mapped = map_error(caught.value, query_name="things.create_thing")
    assert type(mapped) is expected_class
    assert isinstance(mapped, IntegrityError)
    assert mapped.constraint == constraint
    assert mapped.query_name == "things.create_thing"
    assert str(mapped).startswith("things.create_thing: ")


def test_other_server_errors_are_query_errors_with_sqlstate(
    schema: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.Error) as caught, schema.transaction():
        schema.execute("SELECT no_such_column FROM parents")
    mapped = map_error(caught.value, query_name="q")
    assert type(mapped) is QueryError
    assert mapped.sqlstate == "42703"


def test_translate_constraint_turns_a_violation_into_the_domain_error(
    schema: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.Error) as caught, schema.transaction():
        schema.execute("INSERT INTO parents VALUES (2, 'a', 1, 'dup')")
    mapped = map_error(caught.value, query_name="q")
    assert isinstance(mapped, UniqueViolation)
    assert isinstance(translate_constraint(mapped, {"parents_code_key": ThingTaken}), ThingTaken)
    assert translate_constraint(mapped, {"other_key": ThingTaken}) is mapped


def test_connection_failure_maps_to_database_unavailable_without_password() -> None:
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect("postgresql://u:s3cret@127.0.0.1:1/x", connect_timeout=2)
    mapped = map_error(caught.value)
    assert isinstance(mapped, DatabaseUnavailable)
    assert "s3cret" not in str(mapped)


def test_scrub_secrets_in_urls_and_keyword_strings() -> None:
    text = "failed for postgresql://app:pa55@db/x and host=db password='p a s s' user=app"
    cleaned = scrub_secrets(text)
    assert "pa55" not in cleaned
    assert "p a s s" not in cleaned
    assert "postgresql://app:***@db/x" in cleaned


def test_constraint_messages_never_quote_the_row_data(schema: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.Error) as caught, schema.transaction():
        schema.execute("INSERT INTO parents VALUES (5, 'tok-SECRET-123', -1, 'x')")
    mapped = map_error(caught.value, query_name="q")
    assert isinstance(mapped, CheckViolation)
    assert "tok-SECRET-123" in (caught.value.diag.message_detail or "")
    assert "tok-SECRET-123" not in str(mapped)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO parents VALUES (2, 'tok-SECRET-123', 1, 'x'), (3, 'tok-SECRET-123', 1, 'y')",
        "INSERT INTO parents VALUES (5, 'tok-SECRET-123', -1, 'x')",
        "INSERT INTO children VALUES (91823)",
        "UPDATE parents SET code = 'tok-SECRET-123) already exists.\nmore'",
        "CREATE UNIQUE INDEX parents_label_key ON parents (lower(label))",
    ],
)
def test_redact_row_data_keeps_the_columns_and_hides_the_values(
    schema: psycopg.Connection[Any], statement: str
) -> None:
    schema.execute("INSERT INTO parents VALUES (6, 'other', 1, 'ONE')")
    schema.execute("INSERT INTO children VALUES (1)")
    schema.execute("INSERT INTO parents VALUES (7, 'tok-SECRET-123', 1, 'one')")
    with pytest.raises(psycopg.Error) as caught, schema.transaction():
        schema.execute(statement)
    detail = caught.value.diag.message_detail or ""
    assert "tok-SECRET-123" in detail or "91823" in detail or "one" in detail

    shown = redact_row_data(detail)

    assert "(values hidden)" in shown
    for value in ("tok-SECRET-123", "91823", "more", "=(one)"):
        assert value not in shown
    assert shown.startswith(("Key (", "Failing row contains"))
