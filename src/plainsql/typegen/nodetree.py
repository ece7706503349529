"""Read PostgreSQL's node-tree text (``nodeToString``: what ``debug_print_plan`` prints) into dicts.

The format is the server's own serialisation of a plan: ``{SEQSCAN :field value ...}`` for a
node, ``( ... )`` for a list, ``(b 1 2)`` / ``(i 1 2)`` / ``(o 1 2)`` for bitmapsets and
integer/oid lists, ``<>`` for NULL, ``"..."`` for a String node, and bare tokens (with
backslash escapes) for scalars. A node becomes a dict with its type under ``"_type"``;
scalars stay strings (read them with :func:`integer` and :func:`boolean`).

PostgreSQL 16 and later print the fields of embedded structs with their path
(``:scan.plan.targetlist``); 15 prints ``:targetlist``. Field names are reduced to their
last component, so both read the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from plainsql.errors import NodeTreeError

Node = dict[str, Any]

_TOKEN = re.compile(r"[(){}]|(?:\\.|[^\s(){}\\])+", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_INT_LIST_TAGS = frozenset({"b", "i", "o", "x"})


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token text, is a bare token that may be a field name) in order."""
    out: list[tuple[str, bool]] = []
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        if raw in "(){}":
            out.append((raw, False))
        elif raw.startswith("\\"):
            out.append((_ESCAPE.sub(r"\1", raw), False))  # escaped: never a field name
        else:
            out.append((_ESCAPE.sub(r"\1", raw), True))
    return out


def parse(text: str) -> Any:
    """The value written in ``text`` (usually one node)."""
    tokens = _tokens(text)
    value, end = _value(tokens, 0)
    if end != len(tokens):
        raise NodeTreeError(f"unexpected text after the node tree at token {end}")
    return value


def _is_field(token: tuple[str, bool]) -> bool:
    text, bare = token
    return bare and len(text) > 1 and text.startswith(":")


def _value(tokens: list[tuple[str, bool]], i: int) -> tuple[Any, int]:
    text, bare = tokens[i]
    if text == "{" and not bare:
        return _node(tokens, i + 1)
    if text == "(" and not bare:
        return _list(tokens, i + 1)
    if bare and text == "<>":
        return None, i + 1
    if bare and len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1], i + 1
    return text, i + 1


def _node(tokens: list[tuple[str, bool]], i: int) -> tuple[Node, int]:
    node: Node = {"_type": tokens[i][0]}
    i += 1
    while True:
        if i >= len(tokens):
            raise NodeTreeError("unterminated node")
        token = tokens[i]
        if token == ("}", False):
            return node, i + 1
        if not _is_field(token):
            raise NodeTreeError(f"expected a field name in {node['_type']}, got {token[0]!r}")
        name = token[0][1:].rpartition(".")[2]
        i += 1
        items: list[Any] = []
        while i < len(tokens) and tokens[i] != ("}", False) and not _is_field(tokens[i]):
            item, i = _value(tokens, i)
            items.append(item)
        # A field holds one value; a Datum holds "length [ bytes ]"; an empty array nothing.
        node.setdefault(name, items[0] if len(items) == 1 else (items or None))


def _list(tokens: list[tuple[str, bool]], i: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    if i < len(tokens) and tokens[i][1] and tokens[i][0] in _INT_LIST_TAGS:
        i += 1
        while tokens[i] != (")", False):
            items.append(int(tokens[i][0]))
            i += 1
        return items, i + 1
    while True:
        if i >= len(tokens):
            raise NodeTreeError("unterminated list")
        if tokens[i] == (")", False):
            return items, i + 1
        item, i = _value(tokens, i)
        items.append(item)


def integer(value: Any, default: int = 0) -> int:
    """A scalar field as an int (``default`` when absent)."""
    if value is None:
        return default
    return int(value)


def boolean(value: Any) -> bool:
    return bool(value == "true")


def node_type(value: Any) -> str:
    """The type of a node (``""`` for anything else)."""
    return str(value["_type"]) if isinstance(value, dict) else ""


def walk(value: Any) -> Iterator[Node]:
    """Every node anywhere under ``value``, ``value`` included (a plan: its subplans, their
    expressions), depth first, like :func:`ast.walk`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
