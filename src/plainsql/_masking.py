"""Connection strings as people may see them: the password masked, read with libpq's own rules.

A URL or key=value string is read by libpq (``psycopg.conninfo.conninfo_to_dict``), so what is
masked is what libpq would send as the password, whatever it holds (``#``, ``?``, ``@`` as
``%40``, spaces, quotes). The masked text keeps the user's own spelling and is read back by
libpq to prove it: it must say exactly what the original says, the password aside; otherwise
the parsed keywords are shown (``make_conninfo``). A string libpq cannot read, or a URL libpq
reads differently from how a person would (a ``/`` in the password ends libpq's user part, so
the rest of the password becomes the host, the port or the database name) is not shown at all.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from psycopg.conninfo import conninfo_to_dict, make_conninfo

MASK = "***"
NOT_SHOWN = "(a connection string that is not shown: any part of it may be the password)"

_URL_PREFIX = re.compile(r"^postgres(?:ql)?://", re.I)
# key=value form: a key, '=', then a quoted value (backslash escapes) or an unquoted run
# (backslash escapes, up to white space), as libpq's conninfo_parse reads it.
_KEYWORD = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'?|(?:\\.|[^\s\\])*)", re.S
)


def _parse(conninfo: str) -> dict[str, str] | None:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    except Exception:  # psycopg.ProgrammingError, quoting the string it could not read
        return None


def _url_user_part(url: str) -> tuple[int, int] | None:
    """Where libpq's user[:password] part lies in a URL (libpq scans to the first '@' or '/')."""
    start = _URL_PREFIX.match(url)
    if start is None:
        return None
    end = start.end()
    while end < len(url) and url[end] not in "@/":
        end += 1
    if end == len(url) or url[end] != "@":
        return None
    return start.end(), end


def misread_url(url: str) -> bool:
    """A URL whose password libpq reads as something else: a '/' in the password comes before
    the '@' (libpq ends the user part at the first '/'), or an '@' in it is not encoded (which
    '@' ends the user part is then a guess): the password would be the host, port or database."""
    start = _URL_PREFIX.match(url)
    if start is None:
        return False
    authority = url[start.end() :].split("/", 1)[0]
    unread = _url_user_part(url) is None and "@" in url.split("?", 1)[0]
    return unread or authority.count("@") > 1


def _masked_text(conninfo: str) -> str:
    """The password's spelling in ``conninfo`` replaced by :data:`MASK`."""
    user_part = _url_user_part(conninfo)
    if _URL_PREFIX.match(conninfo):
        text = conninfo
        if user_part is not None:
            start, end = user_part
            user, colon, _ = text[start:end].partition(":")
            if colon:
                text = f"{text[:start]}{user}:{MASK}{text[end:]}"
        head, question, query = text.partition("?")
        if question:
            pairs = [
                f"password={MASK}" if pair.split("=", 1)[0] == "password" else pair
                for pair in query.split("&")
            ]
            text = f"{head}?{'&'.join(pairs)}"
        return text
    return _KEYWORD.sub(
        lambda m: f"{m.group('key')}={MASK}" if m.group("key") == "password" else m.group(0),
        conninfo,
    )


def mask_conninfo(conninfo: str) -> str:
    """``conninfo`` with its password replaced by ``***``: the only form shown to a person."""
    if not conninfo:
        return conninfo
    params = _parse(conninfo)
    if params is None or misread_url(conninfo):
        return NOT_SHOWN
    expected = dict(params)
    if "password" in expected:
        expected["password"] = MASK
    masked = _masked_text(conninfo)
    if _parse(masked) == expected:
        return masked
    return make_conninfo("", **expected)


def password_spellings(conninfo: str) -> list[str]:
    """Every way the password of ``conninfo`` may appear in a message (as libpq reads it,
    as written, percent-encoded), also for a string libpq cannot read; longest first."""
    found: set[str] = set()
    params = _parse(conninfo) or {}
    if params.get("password"):
        found.add(params["password"])
    if _URL_PREFIX.match(conninfo):
        authority = conninfo[_URL_PREFIX.match(conninfo).end() :]  # type: ignore[union-attr]
        for userinfo in (authority.split("@", 1)[0], authority.rsplit("@", 1)[0]):
            if "@" in authority and ":" in userinfo:
                found.add(userinfo.split(":", 1)[1])
        for pair in conninfo.partition("?")[2].split("&"):
            if pair.startswith("password="):
                found.add(pair[len("password=") :])
    else:
        for match in _KEYWORD.finditer(conninfo):
            if match.group("key") == "password":
                found.add(match.group("value").strip("'"))
    spellings = {s for p in found for s in (p, unquote(p), quote(p, safe=""))}
    return sorted((s for s in spellings if len(s) >= 3), key=len, reverse=True)


def hide_password(text: str, conninfo: str) -> str:
    """``text`` (an error message about ``conninfo``) without ``conninfo``'s password."""
    for spelling in password_spellings(conninfo):
        text = text.replace(spelling, MASK)
    return text
