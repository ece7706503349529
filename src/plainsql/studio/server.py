"""Start the studio: bind the port, make the token, print the URL, serve with uvicorn.

uvicorn's own access log is off: it would print the token from the first request's query
string. The studio's gate logs each request under ``plainsql.studio`` without the query.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Callable

import uvicorn

from plainsql.config import Settings, describe_target
from plainsql.server import session_conninfo
from plainsql.studio.app import Studio, create_app, is_local

log = logging.getLogger("plainsql.studio")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    write: bool = False,
    allow_hosts: tuple[str, ...] = (),
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """Serve the studio until interrupted (Ctrl-C)."""
    conninfo = session_conninfo(settings, "plainsql studio", required=False)
    if not is_local(conninfo):
        warn(
            f"warning: the database {describe_target(conninfo)} is not on this machine; the "
            "studio reads it live as the login role"
        )
    if host not in LOOPBACK:
        warn(
            f"warning: listening on {host}, not only on this machine: anyone who can reach it "
            "and learns the token can read the database"
        )
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    extra = tuple(allow_hosts) + ((host,) if host not in LOOPBACK and host != "0.0.0.0" else ())
    app = create_app(
        Studio(settings, conninfo, write=write), token=token, port=actual, extra_hosts=extra
    )
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    say(f"plainsql studio on {describe_target(conninfo)}" + (" (--write)" if write else ""))
    say(f"open http://{shown_host}:{actual}/?{'token'}={token}")
    say("Ctrl-C stops it")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
