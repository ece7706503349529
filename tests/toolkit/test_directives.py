"""_directives.py: `-- plainsql: ...` lines are read, kept per query and checked when loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plainsql import _directives, load_queries
from plainsql.errors import SQLFileError

KNOWN = {"cache": frozenset({"ttl", "tables"}), "replica-safe": frozenset()}

QUERY = """\
-- name: get_answer(x)^
-- The answer.
-- plainsql: {directive}
SELECT :x::int AS answer;
"""


def test_a_directive_is_read_and_left_out_of_the_docstring() -> None:
    doc, found = _directives.split_directives(
        "The answer.\nplainsql: cache ttl=30s tables=a,b\nplainsql: replica-safe", KNOWN
    )
    assert doc == "The answer."
    assert dict(found["cache"].options) == {"ttl": "30s", "tables": "a,b"}
    assert found["replica-safe"].options == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("plainsql: cahce ttl=30s", "unknown directive 'cahce'"),
        ("plainsql: cache ttl", "'ttl' is not key=value"),
        ("plainsql: cache size=3", "takes no option 'size'"),
        ("plainsql: cache ttl=1s ttl=2s", "option 'ttl' given twice"),
        ("plainsql:", "needs a directive name"),
    ],
)
def test_a_malformed_directive_is_refused(line: str, message: str) -> None:
    with pytest.raises(_directives.DirectiveError, match=message):
        _directives.split_directives(f"Doc.\n{line}", KNOWN)


def test_a_directive_given_twice_is_refused() -> None:
    with pytest.raises(_directives.DirectiveError, match="given twice"):
        _directives.split_directives("plainsql: replica-safe\nplainsql: replica-safe", KNOWN)


def test_an_unknown_directive_in_a_file_names_the_file_line_and_query(tmp_path: Path) -> None:
    path = tmp_path / "answers.sql"
    path.write_text(QUERY.format(directive="no-such-thing"))
    with pytest.raises(SQLFileError) as caught:
        load_queries(path)
    assert str(caught.value).startswith(f"{path}:3: query get_answer: unknown directive")


def test_the_loader_keeps_directives_per_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_directives, "KNOWN_DIRECTIVES", KNOWN)
    path = tmp_path / "answers.sql"
    path.write_text(QUERY.format(directive="cache ttl=5s"))
    queries = load_queries(path)
    assert queries.get_answer.__doc__ == "The answer."
    adapter: Any = queries.driver_adapter
    kept = adapter.directives["get_answer"]
    assert dict(kept["cache"].options) == {"ttl": "5s"}
