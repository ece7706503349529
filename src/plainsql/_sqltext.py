"""A lexer for PostgreSQL text that knows where `:name` parameters can and cannot be.

aiosql finds parameters with one regular expression that ignores dollar quotes, comments and
array slices, and hands psycopg SQL in which a literal ``%`` breaks. This module walks the
SQL once, token by token, and is the single source of truth for:

- which ``:name`` are parameters (not inside '...', "...", $tag$...$tag$, comments, or a
  ``::cast``; not an array-slice bound such as ``arr[lo:hi]``);
- the psycopg form of a query: parameters become ``%(name)s`` and every other ``%`` is
  doubled, so ``like 'a%'`` and ``select '%'`` reach the server unchanged;
- the server's form of that psycopg form (``$1..$n``), for ``PREPARE`` and ``EXPLAIN``.

Array slices: inside ``[...]`` a colon directly after an identifier, a digit, ``)`` or
``]`` is a slice separator (``arr[1:2]``, ``arr[lo:hi]``). To use parameters as slice
bounds put a space before each one: ``arr[ :lo : :hi ]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from plainsql.errors import UnterminatedError


class TokenKind(Enum):
    CODE = "code"
    STRING = "string"  # '...', E'...', U&'...'
    IDENTIFIER = "identifier"  # "..."
    DOLLAR = "dollar"  # $tag$ ... $tag$
    LINE_COMMENT = "line_comment"
    BLOCK_COMMENT = "block_comment"
    PARAMETER = "parameter"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    start: int

    @property
    def parameter_name(self) -> str:
        return self.text[1:] if self.kind is TokenKind.PARAMETER else ""


_IDENT_START = re.compile(r"[A-Za-z_\u0080-\uffff]")
_PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_SLICE_LEFT = re.compile(r"[A-Za-z0-9_)\]\"]")


def _string_end(sql: str, start: int, backslash_escapes: bool) -> int:
    """Index just past the closing quote of the string opening at ``start``."""
    i = start + 1
    n = len(sql)
    while i < n:
        ch = sql[i]
        if backslash_escapes and ch == "\\":
            i += 2
            continue
        if ch == "'":
            if i + 1 < n and sql[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    raise UnterminatedError("string literal", start)


def _block_comment_end(sql: str, start: int) -> int:
    depth = 0
    i = start
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise UnterminatedError("block comment", start)


def tokenize(sql: str) -> Iterator[Token]:
    """Split ``sql`` into tokens; CODE tokens are maximal runs of everything else."""
    i = 0
    n = len(sql)
    code_start = 0
    bracket_depth = 0

    def flush(upto: int) -> Iterator[Token]:
        if upto > code_start:
            yield Token(TokenKind.CODE, sql[code_start:upto], code_start)

    while i < n:
        ch = sql[i]
        special: Token | None = None
        if ch == "'":
            prev = sql[i - 1] if i else ""
            escapes = prev in "eE" and (i < 2 or not re.match(r"[A-Za-z0-9_]", sql[i - 2]))
            end = _string_end(sql, i, escapes)
            begin = i - 1 if escapes else i
            special = Token(TokenKind.STRING, sql[begin:end], begin)
            if escapes:
                yield from flush(begin)
                code_start = begin
        elif ch == '"':
            end = sql.find('"', i + 1)
            while end != -1 and sql.startswith('""', end):
                end = sql.find('"', end + 2)
            if end == -1:
                raise UnterminatedError("quoted identifier", i)
            special = Token(TokenKind.IDENTIFIER, sql[i : end + 1], i)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            special = Token(TokenKind.LINE_COMMENT, sql[i:end], i)
        elif ch == "/" and sql.startswith("/*", i):
            special = Token(TokenKind.BLOCK_COMMENT, sql[i : _block_comment_end(sql, i)], i)
        elif ch == "$" and (i == 0 or not re.match(r"[A-Za-z0-9_]", sql[i - 1])):
            tag = _DOLLAR_TAG.match(sql, i)
            if tag:
                close = sql.find(tag.group(0), tag.end())
                if close == -1:
                    raise UnterminatedError(f"dollar-quoted string {tag.group(0)}", i)
                special = Token(TokenKind.DOLLAR, sql[i : close + len(tag.group(0))], i)
        elif ch == "[":
            bracket_depth += 1
        elif ch == "]":
            bracket_depth = max(0, bracket_depth - 1)
        elif ch == ":":
            if sql.startswith("::", i):
                i += 2  # a cast, and never the start of a parameter
                continue
            param = _PARAM.match(sql, i)
            prev = sql[i - 1] if i else ""
            is_slice = bracket_depth > 0 and bool(prev) and bool(_SLICE_LEFT.match(prev))
            if param and not is_slice:
                special = Token(TokenKind.PARAMETER, param.group(0), i)
        if special is None:
            i += 1
            continue
        if special.start == i:
            yield from flush(i)
        yield special
        i = special.start + len(special.text)
        code_start = i
    yield from flush(n)


def parameter_names(sql: str) -> list[str]:
    """The parameters of ``sql`` in order of first use, each once."""
    seen: dict[str, None] = {}
    for token in tokenize(sql):
        if token.kind is TokenKind.PARAMETER:
            seen.setdefault(token.parameter_name, None)
    return list(seen)


def to_pyformat(sql: str) -> str:
    """psycopg's form of ``sql``: ``:name`` -> ``%(name)s``, any other ``%`` -> ``%%``."""
    out: list[str] = []
    for token in tokenize(sql):
        if token.kind is TokenKind.PARAMETER:
            out.append(f"%({token.parameter_name})s")
        else:
            out.append(token.text.replace("%", "%%"))
    return "".join(out)


_PYFORMAT = re.compile(r"%%|%\((\w+)\)s")


def numbered(pyformat_sql: str) -> tuple[str, list[str]]:
    """psycopg's ``%(name)s`` form (:func:`to_pyformat`) as the server's ``$1..$n`` form
    (``%%`` as ``%``), and the parameter names in the order of their numbers."""
    order: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _PYFORMAT.sub(replace, pyformat_sql), order


def blank_block_comments(sql: str) -> str:
    """``sql`` with each /* */ comment replaced by its newlines, so line numbers still hold."""
    out: list[str] = []
    for token in tokenize(sql):
        if token.kind is TokenKind.BLOCK_COMMENT:
            out.append("\n" * token.text.count("\n") or " ")
        else:
            out.append(token.text)
    return "".join(out)


_OVERRIDE = re.compile(r'^"(?P<name>(?:[^"]|"")+)(?P<mark>[!?])"$')
_ENDS_WITH_AS = re.compile(r"(?:^|[^A-Za-z0-9_$])[Aa][Ss]\s*$")


def strip_nullability_overrides(sql: str) -> tuple[str, dict[str, bool]]:
    """``sql`` without typegen's nullability marks, and the marks by column name.

    ``AS "title!"`` (never NULL) and ``AS "title?"`` (may be NULL) tell ``plainsql typegen``
    what the server cannot prove; the server must see ``AS "title"``, so the column is
    ``title`` at run time. Returns ``{"title": True}`` for ``!`` and ``False`` for ``?``.
    Only a quoted alias right after ``AS`` is a mark: ``"a!"`` elsewhere is left alone.
    """
    if '!"' not in sql and '?"' not in sql:
        return sql, {}  # the common case, without a second pass of the lexer
    out: list[str] = []
    marks: dict[str, bool] = {}
    last_code = ""
    for token in tokenize(sql):
        text = token.text
        if token.kind is TokenKind.CODE:
            last_code = text if text.strip() else last_code  # AS /* note */ "x!" still counts
        elif token.kind is TokenKind.IDENTIFIER and _ENDS_WITH_AS.search(last_code):
            match = _OVERRIDE.match(text)
            if match:
                text = f'"{match.group("name")}"'
                marks[match.group("name").replace('""', '"')] = match.group("mark") == "!"
            last_code = ""
        elif token.kind not in (TokenKind.LINE_COMMENT, TokenKind.BLOCK_COMMENT):
            last_code = ""
        out.append(text)
    return "".join(out), marks


def line_of(sql: str, offset: int) -> int:
    """1-based line number of character ``offset`` in ``sql``."""
    return sql.count("\n", 0, max(0, offset)) + 1
