"""The studio's gate: a token on every request, the Host allowlist, no cross-site requests.

The URL printed at start carries a random token (``/?token=...``, as a notebook server does).
The first request that shows it gets the token back in an HttpOnly, SameSite=Strict cookie
named after the port, and a redirect to the same address without it, so the token leaves
the address bar and the history. Every later request must carry that cookie: a request
without the token is refused with 401, one with a wrong token with 403, never redirected. A
Host header outside the allowlist is 403 (a DNS-rebinding page reaches 127.0.0.1 under its
own name). A POST must come from the studio's own pages: ``Sec-Fetch-Site: same-origin`` or
an ``Origin`` equal to the studio's, else 403. The access log (``plainsql.studio``) shows the
method, the path and the status, never the query string, which may hold the token or a value.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("plainsql.studio")

TOKEN_PARAMETER = "token"
_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
]


def cookie_name(port: int) -> str:
    """One cookie per port: two studios on one host (cookies ignore ports) never mix."""
    return f"plainsql_studio_{port}"


def allowed_hosts(port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    names = ["127.0.0.1", "localhost", "[::1]", *extra]
    return frozenset(h for name in names for h in (f"{name}:{port}".lower(), name.lower()))


class Gate:
    """ASGI middleware in front of the whole studio (static files included)."""

    def __init__(self, app: ASGIApp, *, token: str, port: int, hosts: frozenset[str]) -> None:
        self.app = app
        self.token = token
        self.port = port
        self.hosts = hosts
        self.cookie = cookie_name(port)
        self.origins = {f"http://{h}" for h in hosts if h.endswith(f":{port}")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the studio has none: refused before anything
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":  # lifespan: the pool opens and closes with the app
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        path = scope["path"]
        status_seen: list[int] = []

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        try:
            refusal = self._refusal(headers, method, scope)
            if refusal is not None:
                await _plain(send_logged, *refusal)
                return
            query = [
                (k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
            ]
            shown = [v for k, v in query if k == TOKEN_PARAMETER]
            if shown:
                if not any(self._matches(v) for v in shown):
                    await _plain(
                        send_logged, 403, "wrong token: open the URL plainsql studio printed"
                    )
                    return
                rest = urlencode([(k, v) for k, v in query if k != TOKEN_PARAMETER])
                here = "/" + path.lstrip("/")  # "//host" would send the browser elsewhere
                await _redirect(send_logged, here + (f"?{rest}" if rest else ""), self._cookie())
                return
            if not self._matches(_cookie(headers.get("cookie", ""), self.cookie)):
                await _plain(
                    send_logged,
                    401,
                    "this studio needs its token: open the URL `plainsql studio` printed",
                )
                return
            await self.app(scope, receive, send_logged)
        finally:
            log.info("%s %s %s", method, path, status_seen[0] if status_seen else "-")

    def _matches(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.token.encode())

    def _cookie(self) -> str:
        return f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def _refusal(
        self, headers: dict[str, str], method: str, scope: Scope
    ) -> tuple[int, str] | None:
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return 403, "this Host is not allowed (the studio answers on 127.0.0.1 and localhost)"
        if method in ("GET", "HEAD"):
            if (
                headers.get("sec-fetch-site") == "cross-site"
                and headers.get("sec-fetch-mode") != "navigate"
            ):
                return 403, "cross-site requests are refused"
            return None
        # A browser says where a request comes from in Sec-Fetch-Site; Origin is the fallback
        # (it is "null" under this studio's no-referrer policy, so the first one decides).
        site = headers.get("sec-fetch-site")
        if site is not None:
            return None if site == "same-origin" else (403, "cross-site requests are refused")
        origin = headers.get("origin")
        if origin is None:
            return 403, "a POST must come from the studio's own pages (no Origin header)"
        if origin.lower() not in self.origins:
            return 403, "cross-site requests are refused (Origin is not the studio)"
        return None


def _cookie(header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str, cookie: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
