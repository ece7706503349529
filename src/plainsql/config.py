"""Settings: which PostgreSQL server to use and how to talk to it, from the environment and `.env`.

Resolution order for the server, first match wins:

1. ``DATABASE_URL`` in the process environment;
2. ``DATABASE_URL`` in the project's ``.env`` file;
3. libpq's own variables (``PGHOST``, ``PGHOSTADDR``, ``PGPORT``, ``PGDATABASE``, ``PGSERVICE``):
   the connection string is left empty and libpq reads them;
4. the embedded PostgreSQL server, data in ``<project>/.plainsql/pgdata``.

Nothing here runs at import time; :func:`load_settings` reads the environment when called.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dotenv import dotenv_values
from psycopg.conninfo import conninfo_to_dict

from plainsql.errors import ConfigError, scrub_secrets

LIBPQ_TARGET_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE")
STATE_DIR_NAME = ".plainsql"


class DatabaseSource(StrEnum):
    """Where the connection target came from; shown by ``plainsql db url``."""

    ENVIRONMENT = "DATABASE_URL"
    DOTENV = ".env"
    LIBPQ = "PG* variables"
    EMBEDDED = "embedded"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything plainsql needs to reach the database; immutable once loaded."""

    project_dir: Path
    database_url: str | None
    source: DatabaseSource
    pool_min_size: int = 1
    pool_max_size: int = 10
    pool_max_idle: float = 30.0
    pool_timeout: float = 10.0
    connect_timeout: int = 5
    statement_timeout_ms: int = 30_000
    application_name: str = "plainsql"

    @property
    def sql_dir(self) -> Path:
        return self.project_dir / "sql"

    @property
    def migrations_dir(self) -> Path:
        return self.project_dir / "migrations"

    @property
    def state_dir(self) -> Path:
        return self.project_dir / STATE_DIR_NAME

    @property
    def pgdata_dir(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def uses_embedded(self) -> bool:
        return self.source is DatabaseSource.EMBEDDED


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``migrations/`` or ``pyproject.toml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "migrations").is_dir() or (folder / "pyproject.toml").is_file():
            return folder
    return start


def _number(raw: Mapping[str, str | None], name: str, default: float, kind: type) -> float:
    value = raw.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return float(number) if kind is float else number


def normalize_url(url: str) -> str:
    """Accept SQLAlchemy-style ``postgresql+psycopg://`` and ``postgres://`` URLs as libpq does."""
    url = url.strip()
    match = re.match(r"^(postgres(?:ql)?)\+[a-z0-9_]+://", url)
    if match:
        url = "postgresql://" + url[match.end() :]
    try:
        conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError with the raw string inside
        raise ConfigError(f"DATABASE_URL is not a valid connection string: {mask_url(url)}") from (
            exc if "password" not in str(exc) else None
        )
    return url


def load_settings(
    environ: Mapping[str, str] | None = None, project_dir: Path | None = None
) -> Settings:
    """Read the settings from ``environ`` (default: ``os.environ``) and the project's ``.env``."""
    env = dict(os.environ if environ is None else environ)
    root = Path(env["PLAINSQL_PROJECT_DIR"]) if env.get("PLAINSQL_PROJECT_DIR") else None
    root = (project_dir or root or find_project_dir(Path.cwd())).resolve()
    dotenv_file = root / ".env"
    dotenv: dict[str, str | None] = (
        dict(dotenv_values(dotenv_file)) if dotenv_file.is_file() else {}
    )
    merged: dict[str, str | None] = {**dotenv, **env}

    url: str | None
    if env.get("DATABASE_URL"):
        url, source = normalize_url(env["DATABASE_URL"]), DatabaseSource.ENVIRONMENT
    elif dotenv.get("DATABASE_URL"):
        url, source = normalize_url(str(dotenv["DATABASE_URL"])), DatabaseSource.DOTENV
    elif any(env.get(name) for name in LIBPQ_TARGET_VARIABLES):
        url, source = "", DatabaseSource.LIBPQ
    else:
        url, source = None, DatabaseSource.EMBEDDED

    min_size = int(_number(merged, "PLAINSQL_POOL_MIN_SIZE", 1, int))
    max_size = int(_number(merged, "PLAINSQL_POOL_MAX_SIZE", 10, int))
    if max_size < 1 or min_size > max_size:
        raise ConfigError(
            f"pool sizes must satisfy 0 <= PLAINSQL_POOL_MIN_SIZE <= PLAINSQL_POOL_MAX_SIZE "
            f">= 1, got {min_size} and {max_size}"
        )
    return Settings(
        project_dir=root,
        database_url=url,
        source=source,
        pool_min_size=min_size,
        pool_max_size=max_size,
        pool_max_idle=_number(merged, "PLAINSQL_POOL_MAX_IDLE", 30.0, float),
        pool_timeout=_number(merged, "PLAINSQL_POOL_TIMEOUT", 10.0, float),
        connect_timeout=int(_number(merged, "PLAINSQL_CONNECT_TIMEOUT", 5, int)) or 5,
        statement_timeout_ms=int(_number(merged, "PLAINSQL_STATEMENT_TIMEOUT_MS", 30_000, int)),
        application_name=str(merged.get("PLAINSQL_APPLICATION_NAME") or "plainsql"),
    )


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``: the only form of a URL shown to a person."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub_secrets(url)
    if not parts.scheme or (not parts.netloc and not parts.query):
        return scrub_secrets(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k == "password" else v) for k, v in parse_qsl(query, True)]
        query = urlencode(pairs, safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe_target(conninfo: str) -> str:
    """``host:port/dbname`` of a connection string, for messages; never includes a password."""
    try:
        params = conninfo_to_dict(conninfo)
    except Exception:
        return "(unparseable connection string)"
    host = str(params.get("host") or os.environ.get("PGHOST") or "the default socket")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    dbname = str(params.get("dbname") or os.environ.get("PGDATABASE") or "")
    return f"{host}:{port}/{dbname}" if dbname else f"{host}:{port}"
