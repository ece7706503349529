"""Statement names: each named query's SQL carries ``/*query='namespace.query'*/``.

The comment is in the sqlcommenter format (``key='value'``, the value URL-encoded and
quoted) and holds one static key: the query's full name, never a value, a user or a request
id, so the text of a query is the same on every call and psycopg's prepared statements keep
working. It goes right after the statement's first word (``SELECT /*query='...'*/ ...``), not
at the end where sqlcommenter puts it: ``pg_stat_activity`` cuts a long query at
``track_activity_query_size`` bytes, and PostgreSQL 18's ``pg_stat_statements`` keeps the text
from the first token to the last, dropping comments before and after the statement. Comments
never change a ``queryid``. The long form is docs/observability.md.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

KEY = "query"
_FIRST_WORD = re.compile(r"\A(\s*(?:(?:--[^\n]*(?:\n|\Z)|/\*.*?\*/)\s*)*)([A-Za-z_]+)", re.S)
_COMMENT = re.compile(rf"/\*{KEY}='([^'*]*)'\*/")


def comment(name: str) -> str:
    """``/*query='auth.get_user_by_email'*/``: the sqlcommenter comment naming ``name``."""
    return f"/*{KEY}='{quote(name, safe='._-')}'*/"


def named(sql: str, name: str, *, pyformat: bool) -> str:
    """``sql`` with the comment naming ``name`` after its first word (at its start when it has
    none). ``pyformat``: the SQL is psycopg's ``%(param)s`` form, where a ``%`` is doubled."""
    text = comment(name)
    if pyformat:
        text = text.replace("%", "%%")
    match = _FIRST_WORD.match(sql)
    if match is None:
        return f"{text} {sql}"
    return f"{sql[: match.end()]} {text}{sql[match.end() :]}"


def unnamed(sql: str) -> str:
    """``sql`` without the comment :func:`named` put in (the SQL as written)."""
    match = _COMMENT.search(sql)
    if match is None:
        return sql
    start, end = match.span()
    if start > 0 and sql[start - 1] == " ":
        return sql[: start - 1] + sql[end:]  # after the first word
    return sql[end + 1 :] if start == 0 else sql  # at the start, before a space


def names_in(sql: str) -> list[str]:
    """The statement names in ``sql`` (a query text from ``pg_stat_statements`` or
    ``pg_stat_activity``), in order, each once."""
    seen: dict[str, None] = {}
    for match in _COMMENT.finditer(sql):
        seen.setdefault(unquote(match.group(1)), None)
    return list(seen)
