"""What a hostile caller gives the runtime: values PostgreSQL refuses, values psycopg cannot
send, acting user ids that cannot be sent. Each is a plainsql error naming the query and the
parameter, never quoting the value."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from plainsql import open_async_pool
from plainsql.config import Settings
from plainsql.errors import InvalidInput, PlainSQLError
from plainsql.queries import Queries, load_async_queries
from plainsql.runtime.database_async import AsyncDatabase

SECRET = "SECRET-CAST-4711"


@pytest.fixture
def queries(tmp_path: Path) -> Queries:
    (tmp_path / "probe.sql").write_text(
        "-- name: cast_secret(value)$\n"
        "-- The value as an integer.\n"
        "SELECT CAST(:value AS integer);\n\n"
        "-- name: echo_text(value)$\n"
        "-- The value as text.\n"
        "SELECT CAST(:value AS text);\n\n"
        "-- name: echo_json(document)$\n"
        "-- The document as jsonb.\n"
        "SELECT CAST(:document AS jsonb);\n"
    )
    return load_async_queries(tmp_path / "probe.sql")


@pytest.fixture
async def db(plainsql_settings: Settings) -> AsyncIterator[AsyncDatabase]:
    settings = replace(plainsql_settings, transaction_role=None, pool_max_size=2)
    async with open_async_pool(settings) as pool:
        yield AsyncDatabase(pool, settings)


async def test_a_named_query_s_data_error_hides_the_value(
    db: AsyncDatabase, queries: Queries
) -> None:
    async with db.connection() as conn:
        with pytest.raises(InvalidInput) as caught:
            await queries.cast_secret(conn, value=SECRET)
    assert str(caught.value) == (
        "cast_secret: invalid input syntax for type integer: (value hidden)"
    )
    assert SECRET not in repr(caught.value)
    with pytest.raises(InvalidInput) as out_of_range:
        async with db.transaction() as conn:
            await queries.cast_secret(conn, value="98765432109876")
    assert "98765432109876" not in str(out_of_range.value)
    assert "out of range for type integer" in str(out_of_range.value)


@pytest.mark.parametrize(
    ("query", "parameter", "value", "reason"),
    [
        ("echo_text", "value", f"{SECRET}\x00", "NUL byte"),
        ("echo_text", "value", f"{SECRET}\udc80", "not valid UTF-8"),
        ("echo_text", "value", {SECRET}, "set, which psycopg cannot adapt"),
        ("echo_json", "document", {"k": SECRET}, "dict, which psycopg cannot adapt"),
        ("echo_json", "document", Jsonb({"k": {SECRET}}), "cannot be converted"),
        ("echo_text", "value", [f"{SECRET}\udc80"], "not valid UTF-8"),
    ],
    ids=["nul", "surrogate", "set", "bare dict", "jsonb of a set", "surrogate in a list"],
)
async def test_a_parameter_psycopg_cannot_send_is_invalid_input_naming_it(
    db: AsyncDatabase, queries: Queries, query: str, parameter: str, value: Any, reason: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction() as conn:
            await getattr(queries, query)(conn, **{parameter: value})
    message = str(caught.value)
    assert message.startswith(f"{query}: parameter {parameter!r} "), message
    assert reason in message
    assert SECRET not in message
    assert caught.value.__cause__ is not None
    async with db.transaction() as conn:  # the connection is still good
        assert await queries.echo_text(conn, value="fine") == "fine"


@pytest.mark.parametrize(
    ("acting_user", "reason"),
    [(f"{SECRET}\x00", "NUL byte"), (f"{SECRET}\udc80", "not valid UTF-8")],
    ids=["nul", "surrogate"],
)
async def test_an_acting_user_id_that_cannot_be_sent_is_invalid_input(
    db: AsyncDatabase, acting_user: str, reason: str
) -> None:
    for open_unit in (db.transaction, db.connection):
        with pytest.raises(InvalidInput) as caught:
            async with open_unit(acting_user=acting_user):
                pass
        assert reason in str(caught.value)
        assert SECRET not in str(caught.value)
    async with db.transaction(acting_user="fine") as conn:
        assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


def test_every_bad_input_error_is_a_plainsql_error() -> None:
    assert issubclass(InvalidInput, PlainSQLError)
