"""Directives: what a query's SQL file tells plainsql about the query, beside its SQL.

A line of the comment block under ``-- name:`` that starts with ``plainsql:`` is a directive,
not documentation::

    -- name: get_user_by_id(user_id)^
    -- The user with this id, or nothing.
    -- plainsql: replica-safe
    -- plainsql: cache ttl=30s
    SELECT ...

A directive is a name and options (``key=value``, a value without spaces). The loader strips
directive lines from the query's docstring and keeps them, per query, on the adapter
(``adapter.directives[query_name]``), where the runtime finds them at each call. Each feature
that reads a directive declares its name and the option keys it takes in
:data:`KNOWN_DIRECTIVES`; an unknown name or key, or a name given twice, is an error naming the
file and line, so a typo never silently turns a feature off.
"""

from __future__ import annotations

__all__ = ["KNOWN_DIRECTIVES", "Directive", "DirectiveError", "split_directives"]

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Directive name -> the option keys it accepts. A feature reading a directive adds it here.
KNOWN_DIRECTIVES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # The query cache (plainsql.runtime._reuse, docs/caching.md): how long a result is kept,
        # and the tables to watch when the server cannot tell what the query reads.
        "cache": frozenset({"ttl", "tables"}),
        # The query only reads: a replica may serve it (plainsql.runtime._replicas); `plainsql
        # check` refuses the mark on anything that could write or lock.
        "replica-safe": frozenset(),
    }
)

_PREFIX = re.compile(r"^plainsql\s*:\s*(?P<rest>.*)$")
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_OPTION = re.compile(r"^(?P<key>[a-z][a-z0-9_-]*)=(?P<value>\S+)$")


class DirectiveError(ValueError):
    """A directive line that cannot be read; ``line`` is its text (to find it in the file)."""

    def __init__(self, line: str, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Directive:
    """One ``-- plainsql: name key=value ...`` line of a query."""

    name: str
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def split_directives(
    doc: str, known: Mapping[str, frozenset[str]] | None = None
) -> tuple[str, dict[str, Directive]]:
    """The docstring without its directive lines, and the directives by name.

    ``doc`` is the query's comment block as aiosql reads it (the text after ``--``, a line
    each). Raises :class:`DirectiveError` for an unknown name or option, a malformed option or a
    directive given twice."""
    known = KNOWN_DIRECTIVES if known is None else known
    kept: list[str] = []
    found: dict[str, Directive] = {}
    for line in doc.splitlines():
        match = _PREFIX.match(line.strip())
        if match is None:
            kept.append(line)
            continue
        words = match["rest"].split()
        if not words or not _NAME.match(words[0]):
            raise DirectiveError(line, f"a 'plainsql:' line needs a directive name: {line!r}")
        name, option_words = words[0], words[1:]
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            raise DirectiveError(line, f"unknown directive {name!r} (known: {names})")
        if name in found:
            raise DirectiveError(line, f"directive {name!r} is given twice")
        options: dict[str, str] = {}
        for word in option_words:
            option = _OPTION.match(word)
            if option is None:
                raise DirectiveError(line, f"directive {name!r}: {word!r} is not key=value")
            key = option["key"]
            if key not in known[name]:
                keys = ", ".join(sorted(known[name])) or "none"
                raise DirectiveError(
                    line, f"directive {name!r} takes no option {key!r} (options: {keys})"
                )
            if key in options:
                raise DirectiveError(line, f"directive {name!r}: option {key!r} given twice")
            options[key] = option["value"]
        found[name] = Directive(name, MappingProxyType(options))
    return "\n".join(kept).strip("\n"), found
