"""sqltext.py: the lexer finds parameters only where PostgreSQL would see them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plainsql._sqltext import blank_block_comments, numbered, parameter_names, to_pyformat
from plainsql.errors import UnterminatedError


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select :a, :b, :a", ["a", "b"]),
        ("select x::int, :a::text", ["a"]),
        ("select ':no', \":no\", $$ :no $$, $t$ :no $t$ -- :no\n, :yes", ["yes"]),
        ("select /* :no /* nested :no */ */ :yes", ["yes"]),
        ("select arr[1:2], arr[lo:hi], arr[ :lo : :hi ]", ["lo", "hi"]),
        ("select E'it\\'s :no', :yes", ["yes"]),
        ("select $1, :yes", ["yes"]),
    ],
)
def test_parameter_names(sql: str, expected: list[str]) -> None:
    assert parameter_names(sql) == expected


def test_percent_signs_are_doubled_everywhere_but_placeholders() -> None:
    assert (
        to_pyformat("select 'a%' like :p, 5 % 2, \"x%\" -- 100%")
        == "select 'a%%' like %(p)s, 5 %% 2, \"x%%\" -- 100%%"
    )


def test_dollar_body_is_left_alone() -> None:
    body = "create function f(x int) returns int language sql as $fn$ select x + :y $fn$"
    assert to_pyformat(body) == body


@pytest.mark.parametrize("sql", ["select 'open", 'select "open', "select $$ open", "/* open"])
def test_unterminated_quotes_are_reported_with_their_offset(sql: str) -> None:
    with pytest.raises(UnterminatedError) as caught:
        parameter_names(sql)
    assert caught.value.offset >= 0


def test_numbered_gives_each_parameter_one_number_in_order_of_first_use() -> None:
    sql = to_pyformat("select :b, 'a%' like :a, 5 % 2, :b -- 100%")
    assert numbered(sql) == ("select $1, 'a%' like $2, 5 % 2, $1 -- 100%", ["b", "a"])


def test_numbered_without_parameters() -> None:
    assert numbered(to_pyformat("select '%(x)s', 1")) == ("select '%(x)s', 1", [])


def test_blank_block_comments_keeps_line_numbers() -> None:
    sql = "a /* one\ntwo\nthree */ b\nc"
    assert blank_block_comments(sql).count("\n") == sql.count("\n")
    assert "one" not in blank_block_comments(sql)


_plain_sql = st.text(
    alphabet=st.characters(exclude_characters="%:'\"$-/[]E\\e", exclude_categories=["Cs"]),
    max_size=80,
)


@given(_plain_sql)
def test_text_without_special_characters_is_unchanged(sql: str) -> None:
    assert to_pyformat(sql) == sql


@given(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), _plain_sql)
def test_a_parameter_in_any_context_of_plain_text_is_found(name: str, around: str) -> None:
    sql = f"{around} :{name} {around}"
    assert parameter_names(sql) == [name]
    assert f"%({name})s" in to_pyformat(sql)
