"""Scratch databases on the configured server: a unique name, built from template0, dropped after.

``plainsql verify``, ``lint``, ``schema dump`` and ``drift`` build what the migrations make
in a scratch database so they never touch the configured one. template0 is the pristine
template, so the result does not depend on what someone put into template1.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from plainsql.config import Settings
from plainsql.server import connect, server_conninfo


@contextmanager
def scratch_database(settings: Settings, purpose: str = "scratch") -> Iterator[str]:
    """Create an empty database; yield its connection string; drop it whatever happens."""
    base = server_conninfo(settings)
    name = f"plainsql_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
    with connect(settings, base, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield make_conninfo(base, dbname=name)
    finally:
        with suppress(psycopg.Error), connect(settings, base, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
