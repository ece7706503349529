"""Settings: the project's folders and conventions, and which PostgreSQL server to use and how.

Every setting has a key in ``[tool.plainsql]`` of the project's ``pyproject.toml`` and an
environment variable that overrides it; the variable may also sit in the project's ``.env``.
First match wins: the process environment, then ``.env``, then ``pyproject.toml``, then the
default. :data:`OPTIONS` is the one table of them (the README prints it).

The project folder is, first match wins: the ``project_dir`` argument (the CLI's
``--project-dir``), ``PLAINSQL_PROJECT_DIR``, the nearest folder at or above the current
directory whose ``pyproject.toml`` has a ``[tool.plainsql]`` table, else the nearest one
holding ``migrations/``, else the first search from the folder of the running script (so
``python /path/to/project/scripts/job.py`` works from anywhere), else the current directory.

The server, first match wins:

1. ``DATABASE_URL`` in the process environment;
2. ``DATABASE_URL`` in the project's ``.env`` file;
3. libpq's own variables (``PGHOST``, ``PGHOSTADDR``, ``PGPORT``, ``PGDATABASE``, ``PGSERVICE``):
   the connection string is left empty and libpq reads them;
4. the embedded PostgreSQL server, data in ``<project>/.plainsql/pgdata``.

``DIRECT_URL`` (environment, then ``.env``) is the server's own address for session-level
work when ``DATABASE_URL`` goes through a transaction pooler (``transaction-pooler``, or
``?pgbouncer=true`` on the URL): see :func:`plainsql.server.session_conninfo`.
``replica-urls`` lists streaming replicas of that server, which may serve reads
(docs/replicas.md).

Nothing here runs at import time; :func:`load_settings` reads the environment when called.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dotenv import dotenv_values
from psycopg.conninfo import conninfo_to_dict

from plainsql._masking import mask_conninfo, misread_url
from plainsql.errors import ConfigError

LIBPQ_TARGET_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE")
STATE_DIR_NAME = ".plainsql"
PYPROJECT = "pyproject.toml"
TOOL_TABLE = "plainsql"

# squawk rules that plainsql's runner makes redundant: it sets lock_timeout on every migration
# session itself, and statement_timeout = 0 on purpose (a migration may rewrite a big table).
DEFAULT_SQUAWK_EXCLUDE = (
    "require-lock-timeout",
    "require-statement-timeout",
    "require-timeout-settings",
)
TYPEGEN_FLAVOURS = ("sync", "async")
DEFAULT_SLOW_QUERY_MS = 1000
DEFAULT_REPLICA_MAX_LAG_MS = 2000
DEFAULT_REPLICA_POLL_MS = 100


class DatabaseSource(StrEnum):
    """Where the connection target came from; shown by ``plainsql db url``."""

    ENVIRONMENT = "DATABASE_URL"
    DOTENV = ".env"
    LIBPQ = "PG* variables"
    EMBEDDED = "embedded"


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """Everything plainsql needs to know about a project; immutable once loaded.

    Folder settings are kept as configured (relative to the project folder, or absolute) and
    resolved by the properties, so ``dataclasses.replace(settings, project_dir=...)`` moves
    them all along.
    """

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
    sql_path: Path = Path("sql")
    migrations_path: Path = Path("migrations")
    seeds_path: Path = Path("seeds")
    schema_path: Path = Path("schema.sql")
    typegen_out: Path | None = None
    typegen_flavours: tuple[str, ...] = TYPEGEN_FLAVOURS
    updated_at_function: str | None = None
    squawk_exclude: tuple[str, ...] = DEFAULT_SQUAWK_EXCLUDE
    squawk_pg_version: str | None = None
    embedded_database: str = "plainsql"
    acting_user_setting: str = "plainsql.acting_user"
    transaction_role: str | None = None
    prepared_statements: bool = True
    transaction_pooler: bool = False
    pooler_prepared_statements: bool = False
    direct_url: str | None = None
    ddl_lock_timeout_ms: int = 500
    ddl_retry_seconds: float = 300.0
    studio_secret_columns: tuple[str, ...] = ()
    name_statements: bool = True
    slow_query_ms: int | None = DEFAULT_SLOW_QUERY_MS
    cache_max_entries: int = 10_000
    cache_max_mb: int = 64
    replica_urls: tuple[str, ...] = ()
    replica_max_lag_ms: int = DEFAULT_REPLICA_MAX_LAG_MS
    replica_poll_ms: int = DEFAULT_REPLICA_POLL_MS

    @property
    def sql_dir(self) -> Path:
        return self.project_dir / self.sql_path

    @property
    def migrations_dir(self) -> Path:
        return self.project_dir / self.migrations_path

    @property
    def seeds_dir(self) -> Path:
        return self.project_dir / self.seeds_path

    @property
    def schema_file(self) -> Path:
        return self.project_dir / self.schema_path

    @property
    def typegen_dir(self) -> Path | None:
        return None if self.typegen_out is None else self.project_dir / self.typegen_out

    @property
    def state_dir(self) -> Path:
        return self.project_dir / STATE_DIR_NAME

    @property
    def pgdata_dir(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def uses_embedded(self) -> bool:
        return self.source is DatabaseSource.EMBEDDED

    def shown(self, path: Path) -> str:
        """``path`` as messages show it: relative to the project folder when inside it."""
        return shown_path(path, self.project_dir)

    def __repr__(self) -> str:
        """Every field, the URL's password masked (a repr ends up in logs and tracebacks)."""
        shown = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        for name in ("database_url", "direct_url"):
            if shown[name]:
                shown[name] = mask_url(shown[name])
        shown["replica_urls"] = tuple(mask_url(url) for url in self.replica_urls)
        return "Settings(" + ", ".join(f"{name}={value!r}" for name, value in shown.items()) + ")"


def shown_path(path: Path, project_dir: Path) -> str:
    """``migrations/0001_users.sql`` for a path inside ``project_dir``, else the path itself."""
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


# --- the options table ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One setting: its ``[tool.plainsql]`` key, its environment variable, what it means."""

    target: str  # the Settings field it fills
    key: str
    env: str
    default: str
    meaning: str
    parse: Callable[[str, Any], Any] = field(repr=False)
    nullable: bool = False  # an empty value turns the setting off (``PLAINSQL_X=``)


def _integer(name: str, raw: Any) -> int:
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return number


def _seconds(name: str, raw: Any) -> float:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return number


_DURATION_UNITS = {"ms": 1, "s": 1000, "min": 60_000}


def duration_ms(name: str, raw: Any) -> int:
    """A duration as PostgreSQL's ``lock_timeout`` takes it: ``500ms``, ``2s``, ``1min``; a bare
    number is milliseconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min)?\s*", str(raw))
    if isinstance(raw, bool) or match is None:
        raise ConfigError(f"{name} must be a duration like 500ms, 2s or 1min, got {raw!r}")
    return round(float(match.group(1)) * _DURATION_UNITS[match.group(2) or "ms"])


def _text(name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{name} must be a non-empty string, got {raw!r}")
    return raw.strip()


def _path(name: str, raw: Any) -> Path:
    return Path(_text(name, raw))


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _setting_name(name: str, raw: Any) -> str:
    value = _text(name, raw)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_.]*", value):
        raise ConfigError(f"{name} must be a custom setting name like 'app.user_id', got {raw!r}")
    return value


def _names(name: str, raw: Any) -> tuple[str, ...]:
    """A TOML array of strings, or a comma-separated string (environment variables)."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{name} must be a list of names, got {raw!r}")
    return tuple(i.strip() for i in items if i.strip())


def _urls(name: str, raw: Any) -> tuple[str, ...]:
    """Connection strings: a TOML array, or URLs separated by spaces (an environment variable;
    not commas, which a multi-host URL holds). Each is read as ``DATABASE_URL`` is, and a bad
    one is named by its place in the list, never shown (it may hold a password)."""
    items = raw.split() if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{name} must be a list of connection URLs")
    urls = []
    for number, item in enumerate((i for i in items if i.strip()), start=1):
        url, pooled = split_pooler_parameter(normalize_url(item, f"{name}, URL {number},"))
        if pooled:
            raise ConfigError(
                f"{name}, URL {number}, says pgbouncer=true: a replica is connected to directly"
            )
        urls.append(url)
    return tuple(urls)


def _flavours(name: str, raw: Any) -> tuple[str, ...]:
    flavours = _names(name, raw)
    unknown = sorted(set(flavours) - set(TYPEGEN_FLAVOURS))
    if unknown or not flavours:
        raise ConfigError(f"{name} must name one or both of 'sync', 'async', got {raw!r}")
    return tuple(f for f in TYPEGEN_FLAVOURS if f in flavours)


def _role_name(name: str, raw: Any) -> str:
    value = _text(name, raw)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", value):
        raise ConfigError(
            f"{name} must be a role name of letters, digits and underscores, got {raw!r}"
        )
    return value


def _identifier(name: str, raw: Any) -> str:
    value = _text(name, raw)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", value):
        raise ConfigError(f"{name} must be a SQL function name, got {raw!r}")
    return value


OPTIONS: tuple[Option, ...] = (
    Option("sql_path", "sql-dir", "PLAINSQL_SQL_DIR", "sql",
           "folder of the named queries (`*.sql`, a subfolder is a namespace)", _path),
    Option("migrations_path", "migrations-dir", "PLAINSQL_MIGRATIONS_DIR", "migrations",
           "folder of the migrations and their rollbacks", _path),
    Option("seeds_path", "seeds-dir", "PLAINSQL_SEEDS_DIR", "seeds",
           "folder of the demo data `plainsql seed` loads", _path),
    Option("schema_path", "schema-file", "PLAINSQL_SCHEMA_FILE", "schema.sql",
           "where `plainsql schema dump` writes the schema for review", _path),
    Option("typegen_out", "typegen-out", "PLAINSQL_TYPEGEN_OUT", "(none: typegen asks)",
           "package folder `plainsql typegen` writes", _path),
    Option("typegen_flavours", "typegen-flavours", "PLAINSQL_TYPEGEN_FLAVOURS",
           '["sync", "async"]', "which typed query classes typegen emits", _flavours),
    Option("updated_at_function", "updated-at-function", "PLAINSQL_UPDATED_AT_FUNCTION",
           "(none: no rule)", "trigger function that keeps `updated_at`; lint then asks every "
           "table with `updated_at` for a `<table>_<function>` trigger", _identifier,
           nullable=True),
    Option("squawk_exclude", "squawk-exclude", "PLAINSQL_SQUAWK_EXCLUDE",
           ", ".join(DEFAULT_SQUAWK_EXCLUDE), "squawk rules `plainsql lint` turns off "
           "(the list replaces the default)", _names),
    Option("squawk_pg_version", "squawk-pg-version", "PLAINSQL_SQUAWK_PG_VERSION",
           "(squawk's)", "server version squawk's version-dependent rules assume",
           _text, nullable=True),
    Option("acting_user_setting", "acting-user-setting", "PLAINSQL_ACTING_USER_SETTING",
           "plainsql.acting_user", "transaction-local setting a unit of work's acting user "
           "goes into (for policies and triggers)", _setting_name),
    Option("transaction_role", "transaction-role", "PLAINSQL_TRANSACTION_ROLE",
           "(none: the login role)", "role every unit of work acts as (`SET LOCAL ROLE`, "
           "sent with its `BEGIN`): the login role must be a member of it; migrations and "
           "seeds keep the login role", _role_name, nullable=True),
    Option("prepared_statements", "prepared-statements", "PLAINSQL_PREPARED_STATEMENTS", "true",
           "psycopg's automatic prepared statements; `false` for a pooler that cannot keep "
           "them (PgBouncer in transaction mode before 1.21)", _boolean),
    Option("transaction_pooler", "transaction-pooler", "PLAINSQL_TRANSACTION_POOLER", "false",
           "`DATABASE_URL` goes through a transaction pooler (PgBouncer `pool_mode = "
           "transaction`; also `?pgbouncer=true` on the URL): prepared statements off, each "
           "unit's statement timeout sent with its `BEGIN`, session-level work only on "
           "`DIRECT_URL` (see docs/pgbouncer.md)", _boolean),
    Option("pooler_prepared_statements", "pooler-prepared-statements",
           "PLAINSQL_POOLER_PREPARED_STATEMENTS", "false", "the transaction pooler keeps "
           "prepared statements (PgBouncer 1.21+ with `max_prepared_statements`)", _boolean),
    Option("ddl_lock_timeout_ms", "ddl-lock-timeout", "PLAINSQL_DDL_LOCK_TIMEOUT", "500ms",
           "`lock_timeout` of every migration: a migration waiting longer for a table lock "
           "is rolled back and retried (the application's queries never queue behind it "
           "for longer)", duration_ms),
    Option("ddl_retry_seconds", "ddl-retry-seconds", "PLAINSQL_DDL_RETRY_SECONDS", "300",
           "how long a migration that hit `ddl-lock-timeout` keeps retrying (backoff from "
           "1 s doubling to 30 s, with jitter) before it fails", _seconds),
    Option("studio_secret_columns", "studio-secret-columns", "PLAINSQL_STUDIO_SECRET_COLUMNS",
           "(none)", "columns `plainsql studio` masks besides those commented "
           "`plainsql:secret ...` (`column`, `table.column` or `schema.table.column`)", _names),
    Option("name_statements", "name-statements", "PLAINSQL_NAME_STATEMENTS", "true",
           "each named query's SQL carries `/*query='namespace.query'*/`, seen in "
           "`pg_stat_activity`, `pg_stat_statements` and the server log "
           "([docs/observability.md](docs/observability.md))", _boolean),
    Option("slow_query_ms", "slow-query-ms", "PLAINSQL_SLOW_QUERY_MS",
           str(DEFAULT_SLOW_QUERY_MS), "a query call slower than this many milliseconds is "
           "logged (`plainsql.slow_query`, WARNING: name, duration, rows, parameter names); "
           "empty turns it off", _integer, nullable=True),
    Option("cache_max_entries", "cache-max-entries", "PLAINSQL_CACHE_MAX_ENTRIES", "10000",
           "most results a query cache keeps (`-- plainsql: cache`); the least recently used "
           "goes first ([docs/caching.md](docs/caching.md))", _integer),
    Option("cache_max_mb", "cache-max-mb", "PLAINSQL_CACHE_MAX_MB", "64",
           "most memory (MB, estimated) a query cache's results take", _integer),
    Option("replica_urls", "replica-urls", "PLAINSQL_REPLICA_URLS", "(none)",
           "streaming replicas of the server that may serve reads: a list of URLs (in the "
           "environment, separated by spaces), each with a pool of its own "
           "([docs/replicas.md](docs/replicas.md))", _urls),
    Option("replica_max_lag_ms", "replica-max-lag", "PLAINSQL_REPLICA_MAX_LAG", "2s",
           "a replica further behind the server than this serves no read until it catches "
           "up", duration_ms),
    Option("replica_poll_ms", "replica-poll", "PLAINSQL_REPLICA_POLL", "100ms",
           "how often each replica's replay position (and the server's WAL position) is "
           "read, in the background: routing never asks per call", duration_ms),
    Option("embedded_database", "embedded-database", "PLAINSQL_EMBEDDED_DATABASE", "plainsql",
           "database created on the embedded server", _text),
    Option("pool_min_size", "pool-min-size", "PLAINSQL_POOL_MIN_SIZE", "1",
           "connections the pool keeps open", _integer),
    Option("pool_max_size", "pool-max-size", "PLAINSQL_POOL_MAX_SIZE", "10",
           "most connections the pool opens", _integer),
    Option("pool_max_idle", "pool-max-idle", "PLAINSQL_POOL_MAX_IDLE", "30",
           "seconds an idle connection above the minimum stays open", _seconds),
    Option("pool_timeout", "pool-timeout", "PLAINSQL_POOL_TIMEOUT", "10",
           "seconds a caller waits for a free connection", _seconds),
    Option("connect_timeout", "connect-timeout", "PLAINSQL_CONNECT_TIMEOUT", "5",
           "libpq's connect timeout, seconds", _integer),
    Option("statement_timeout_ms", "statement-timeout-ms", "PLAINSQL_STATEMENT_TIMEOUT_MS",
           "30000", "`statement_timeout` of every pooled connection (migrations: none)",
           _integer),
    Option("application_name", "application-name", "PLAINSQL_APPLICATION_NAME", "plainsql",
           "`application_name`, shown in `pg_stat_activity`", _text),
)  # fmt: skip


def _has_tool_table(folder: Path) -> bool:
    pyproject = folder / PYPROJECT
    if not pyproject.is_file():
        return False
    try:
        return TOOL_TABLE in _read_toml(pyproject).get("tool", {})
    except ConfigError:
        return True  # a broken pyproject.toml is still the project's; loading it says what's wrong


def is_project(folder: Path) -> bool:
    """Whether ``folder`` is a plainsql project: it has migrations/ or a [tool.plainsql] table."""
    return (folder / "migrations").is_dir() or _has_tool_table(folder)


def _nearest(start: Path, found: Callable[[Path], bool]) -> Path | None:
    start = start.resolve()
    return next((f for f in (start, *start.parents) if found(f)), None)


def _script_dir() -> Path | None:
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    return Path(script).resolve().parent if script else None


def find_project_dir(start: Path) -> Path:
    """The project folder for a command run in ``start`` (see the module docstring)."""
    script = _script_dir()
    return (
        _nearest(start, _has_tool_table)
        or _nearest(start, lambda f: (f / "migrations").is_dir())
        or (_nearest(script, _has_tool_table) if script else None)
        or start.resolve()
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as TOML: {exc}") from exc


def project_table(project_dir: Path) -> dict[str, Any]:
    """``[tool.plainsql]`` of the project's pyproject.toml (empty when there is none)."""
    pyproject = project_dir / PYPROJECT
    if not pyproject.is_file():
        return {}
    table = _read_toml(pyproject).get("tool", {}).get(TOOL_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.{TOOL_TABLE}] must be a table")
    known = {option.key for option in OPTIONS}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown [tool.{TOOL_TABLE}] key {unknown[0]!r}; "
            f"known keys: {', '.join(sorted(known))}"
        )
    return table


def split_pooler_parameter(url: str) -> tuple[str, bool]:
    """Prisma's ``?pgbouncer=true``: the URL without it (libpq refuses unknown parameters),
    and whether it declared a transaction pooler."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, False
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not parts.scheme.startswith("postgres") or all(k != "pgbouncer" for k, _ in pairs):
        return url, False
    flag = _boolean("pgbouncer= in the URL", dict(pairs)["pgbouncer"])
    query = urlencode([(k, v) for k, v in pairs if k != "pgbouncer"], safe="/")
    return urlunsplit(parts._replace(query=query)), flag


def normalize_url(url: str, name: str = "DATABASE_URL") -> str:
    """Accept SQLAlchemy-style ``postgresql+psycopg://`` and ``postgres://`` URLs as libpq does."""
    url = url.strip()
    match = re.match(r"^(postgres(?:ql)?)\+[a-z0-9_]+://", url)
    if match:
        url = "postgresql://" + url[match.end() :]
    authority = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#]*)", url)
    if authority and authority.group(1).count("@") > 1:
        # libpq splits at the LAST '@' and would take part of the password for the host:
        # nothing of such a URL is shown, since any part of it may be the secret.
        raise ConfigError(
            f"{name} has more than one '@' before the host: percent-encode an '@' in "
            "the user name or password as %40 (the URL is not shown: it holds the password)"
        )
    if misread_url(url):
        raise ConfigError(
            f"{name} has a '/' before its '@': libpq ends the user name and password at "
            "the first '/', so it would read part of the password as the host or database; "
            "percent-encode a '/' in the password as %2F (the URL is not shown: it holds the "
            "password)"
        )
    bare = split_pooler_parameter(url)[0]  # its own error names a bad pgbouncer= value
    try:
        conninfo_to_dict(bare)
    except Exception:  # psycopg's message quotes the part it could not read: maybe the password
        raise ConfigError(
            f"{name} is not a valid connection string (libpq cannot read it; it is not "
            "shown: it holds the password). Percent-encode spaces (%20) and '@' (%40) in a URL, "
            "or quote a value with spaces in key=value form (password='a b')"
        ) from None
    return url


def load_settings(
    environ: Mapping[str, str] | None = None, project_dir: Path | None = None
) -> Settings:
    """Read the settings from ``environ`` (default: ``os.environ``), ``.env`` and pyproject."""
    env = dict(os.environ if environ is None else environ)
    root = Path(env["PLAINSQL_PROJECT_DIR"]) if env.get("PLAINSQL_PROJECT_DIR") else None
    root = (project_dir or root or find_project_dir(Path.cwd())).resolve()
    dotenv_file = root / ".env"
    dotenv: dict[str, str | None] = (
        dict(dotenv_values(dotenv_file)) if dotenv_file.is_file() else {}
    )
    table = project_table(root)

    values: dict[str, Any] = {}
    for option in OPTIONS:
        for source, raw in (
            (option.env, env.get(option.env)),
            (f"{option.env} in .env", dotenv.get(option.env)),
            (f"[tool.{TOOL_TABLE}] {option.key}", table.get(option.key)),
        ):
            if raw is None or (raw == "" and not option.nullable):
                continue  # an empty variable counts as unset
            values[option.target] = None if raw == "" else option.parse(source, raw)
            break

    url: str | None
    direct = env.get("DIRECT_URL") or dotenv.get("DIRECT_URL")
    if direct:
        values["direct_url"], pooled = split_pooler_parameter(normalize_url(direct, "DIRECT_URL"))
        if pooled:
            raise ConfigError("DIRECT_URL says pgbouncer=true: it must be the server's own address")
    if env.get("DATABASE_URL"):
        url, source = normalize_url(env["DATABASE_URL"]), DatabaseSource.ENVIRONMENT
    elif dotenv.get("DATABASE_URL"):
        url, source = normalize_url(str(dotenv["DATABASE_URL"])), DatabaseSource.DOTENV
    elif any(env.get(name) for name in LIBPQ_TARGET_VARIABLES):
        url, source = "", DatabaseSource.LIBPQ
    else:
        url, source = None, DatabaseSource.EMBEDDED

    if url:
        url, declared = split_pooler_parameter(url)
        if declared:
            values["transaction_pooler"] = True
    settings = Settings(project_dir=root, database_url=url, source=source, **values)
    if settings.pool_max_size < 1 or settings.pool_min_size > settings.pool_max_size:
        raise ConfigError(
            f"pool sizes must satisfy 0 <= PLAINSQL_POOL_MIN_SIZE <= PLAINSQL_POOL_MAX_SIZE "
            f">= 1, got {settings.pool_min_size} and {settings.pool_max_size}"
        )
    if settings.replica_urls and settings.replica_poll_ms < 10:
        raise ConfigError(
            f"PLAINSQL_REPLICA_POLL must be at least 10ms, got {settings.replica_poll_ms}ms"
        )
    if settings.connect_timeout == 0:
        settings = replace(settings, connect_timeout=5)  # libpq's 0 means wait forever
    return settings


def options_table() -> str:
    """The settings as a Markdown table: the README's copy is checked against it."""
    lines = [
        "| `[tool.plainsql]` key | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        lines.append(f"| `{option.key}` | `{option.env}` | {option.default} | {option.meaning} |")
    return "\n".join(lines)


def mask_url(url: str) -> str:
    """The URL (or key=value string) with its password replaced by ``***``, as libpq reads it:
    the only form of a connection string shown to a person (see :mod:`plainsql._masking`)."""
    return mask_conninfo(url)


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
