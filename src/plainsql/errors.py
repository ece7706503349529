"""plainsql's own exception tree, and the mapping of psycopg errors onto it.

    PlainSQLError
    ├── ConfigError                 bad settings: a malformed URL, a non-numeric pool size
    │   └── MissingExtra            a feature's optional dependency is not installed
    ├── DatabaseUnavailable         the server cannot be reached or refuses the login
    │   ├── PoolExhausted           no free connection in the pool in time (names pool, size)
    │   └── ConnectionLost          the connection died inside a unit of work (rolled back)
    │       └── CommitUncertain     ... during COMMIT: it may or may not have committed
    ├── SessionRequired             session-level work through a transaction pooler (use DIRECT_URL)
    ├── ScratchDatabaseError        a scratch database cannot be created (the role needs CREATEDB)
    ├── SQLFileError                a malformed file under sql/ (names the file and line)
    ├── SQLTextError                SQL text that cannot be read (also a ValueError)
    │   ├── UnterminatedError       a quote, dollar quote or comment that never closes
    │   └── NodeTreeError           a plan node tree typegen cannot read
    ├── QueryNotFound               an unknown query name (also an AttributeError; suggests names)
    ├── QueryError                  a named query failed on the server (carries query_name)
    │   ├── IntegrityError          a constraint refused the write (carries constraint, table)
    │   │   ├── UniqueViolation
    │   │   ├── ForeignKeyViolation
    │   │   ├── CheckViolation
    │   │   └── NotNullViolation
    │   ├── InvalidInput            a value PostgreSQL cannot store (a NUL byte in text, ...)
    │   │   ├── InvalidCursor       a page cursor its list did not make (altered, foreign)
    │   │   └── InvalidScope        a read-your-writes token that is not one (altered, foreign)
    │   ├── PermissionDenied        no privilege, or a row-level security policy refused a row
    │   ├── QueryCanceled           statement_timeout or a cancel request
    │   ├── PreparedStatementLost   a pooler gave the connection another client's statements
    │   └── SerializationFailure    a serialization failure or deadlock: safe to retry
    ├── MigrationError              a migration file is missing, broken or failed to run
    │   └── MigrationLockTimeout    another runner held the lock past the timeout
    ├── LintError                   the linter itself could not run (squawk missing, crashing)
    ├── SchemaDumpError             pg_dump failed, or schema.sql is stale
    ├── SeedError                   a seed file failed (nothing of the run was kept)
    ├── BackupError                 a backup cannot be taken, checked or restored (names the file)
    ├── QueryFailed                 typegen/check could not prepare or describe a query
    ├── StaleTypes                  the generated types describe other SQL than was loaded
    ├── StatsUnavailable            pg_stat_statements is not loaded or not created (says how)
    ├── CacheError                  a query cache cannot open: a query not cacheable, no trigger
    ├── MissingRow                  a query typed to return one row returned none
    └── DomainError                 base of the services' own errors (EmailTaken, NotFound, ...)

Every mapped error keeps the psycopg exception as ``__cause__``. No message built here ever
contains a password (connection errors are scrubbed with :func:`scrub_secrets`) or the row
data PostgreSQL quotes in an error's DETAIL: constraint errors name the constraint, table and
column, and the DETAIL stays on the cause for whoever debugs with the full picture. Where a
DETAIL is shown (migration errors), :func:`redact_row_data` takes the values out of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import psycopg
from psycopg import errors as pgerrors

_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]*)(?=@)")
_PASSWORD_KEYWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|(?:\\.|[^\s&\\])+)", re.S
)


def scrub_secrets(text: str) -> str:
    """Replace every password in URLs and key=value connection strings inside ``text``."""
    text = _PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***", text)
    return _PASSWORD_KEYWORD.sub(lambda m: m.group("head") + "***", text)


# The DETAIL forms in which PostgreSQL quotes row data (src/backend: ri_triggers.c,
# nbtutils/tuplesort "is duplicated", execMain.c "Failing row contains", exclusion
# constraints "conflicts with existing key"). The values go; the column names stay.
# Greedy to the detail's last ")": a value may hold ")", newlines, or look like a suffix.
_KEY_VALUES = re.compile(r"\bKey \((?P<columns>.*?)\)=\(.*\)", re.S)
_FAILING_ROW = re.compile(r"\bFailing row contains \(.*\)", re.S)
_ROW_HIDDEN = "(values hidden)"


def redact_row_data(detail: str) -> str:
    """A server DETAIL without the row data it quotes: ``Key (email)=(a@x.io) already
    exists.`` becomes ``Key (email)=(values hidden) already exists.``, ``Failing row
    contains (...)`` loses its values. For messages meant for people (migration errors),
    which end up in terminals and CI logs; the full DETAIL stays on the psycopg cause."""
    detail = _FAILING_ROW.sub(f"Failing row contains {_ROW_HIDDEN}", detail)
    return _KEY_VALUES.sub(lambda m: f"Key ({m.group('columns')})={_ROW_HIDDEN}", detail)


# The CONTEXT lines in which COPY quotes the data it was reading (copyfromparse.c,
# CopyFromErrorCallback): ``COPY t, line 3, column c: "value"`` and ``COPY t, line 3: "the
# line"``. The value goes; the table, line and column stay.
_COPY_DATA = re.compile(r'^(?P<where>COPY .*?, line \d+(?:, column [^:\n]*)?): ".*?"$', re.M | re.S)


def redact_context(context: str) -> str:
    """A server CONTEXT without the data COPY quotes (see :func:`redact_row_data`)."""
    return _COPY_DATA.sub(lambda m: f"{m.group('where')}: {_ROW_HIDDEN}", context)


# A data exception (SQLSTATE class 22) quotes the value it could not take at the end of its
# message ('invalid input syntax for type integer: "abc"', 'invalid input value for enum
# color: "purple"') or as 'value "99999999999" is out of range for type integer'. Other
# quoted names (a role, a setting) stay: they are names, not data.
_QUOTED_VALUE = re.compile(
    r'(?::\s*"(?:[^"]|"")*"$)|(?:\bvalue "(?:[^"]|"")*"(?= is out of))', re.S
)


def redact_data_value(message: str, sqlstate: str | None) -> str:
    """A data exception's message without the values it quotes (see :func:`redact_row_data`):
    ``invalid input syntax for type integer: (value hidden)``. Migration errors and named
    queries' errors both show this form."""
    if not (sqlstate or "").startswith("22"):
        return message
    return _QUOTED_VALUE.sub(
        lambda m: ": (value hidden)" if m.group(0).startswith(":") else "value (hidden)", message
    )


class PlainSQLError(Exception):
    """Root of every error plainsql raises on purpose."""


class ConfigError(PlainSQLError):
    """The configuration cannot be used as given."""


class MissingExtra(ConfigError):
    """A feature needs one of plainsql's extras (``embedded``, ``testing``, ``lint``)."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class DatabaseUnavailable(PlainSQLError):
    """The server could not be reached, or refused the connection."""

    def __init__(self, message: str, *, target: str = "") -> None:
        super().__init__(scrub_secrets(message))
        self.target = target


class PoolExhausted(DatabaseUnavailable):
    """No connection of the pool became free within the pool's timeout."""

    def __init__(self, message: str, *, pool: str, size: int) -> None:
        super().__init__(message)
        self.pool = pool
        self.size = size


class ConnectionLost(DatabaseUnavailable):
    """The connection died inside a unit of work: the server rolled the transaction back."""

    @classmethod
    def explain(cls, exc: BaseException) -> str:
        return (
            f"the connection to the database was lost inside a transaction, which the server "
            f"rolled back: {_first_line(exc)}"
        )


class CommitUncertain(ConnectionLost):
    """The connection died during COMMIT: the transaction may or may not have committed."""

    @classmethod
    def explain(cls, exc: BaseException) -> str:
        return (
            "the connection to the database was lost during COMMIT: the transaction may or "
            f"may not have committed (check before retrying): {_first_line(exc)}"
        )


class DeadlineExceeded(ConnectionLost):
    """The server did not answer within the client-side deadline (``statement_timeout`` plus a
    grace): the connection was cut off, so a transaction on it did not commit (raised as
    :class:`CommitUncertain` when it was the COMMIT that got no answer)."""

    @classmethod
    def explain(cls, seconds: float, grace: float) -> str:  # type: ignore[override]
        return (
            f"no answer from the database within {seconds:g} s (statement-timeout-ms plus "
            f"{grace:g} s): the connection was closed and its transaction rolled back"
        )


class SQLFileError(PlainSQLError):
    """A file under sql/ cannot be loaded; the message names the file and line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


class SessionRequired(PlainSQLError):
    """Work that needs a server session of its own was asked of a transaction pooler."""

    @classmethod
    def explain(cls, purpose: str) -> SessionRequired:
        return cls(
            f"{purpose} needs a server session of its own, and DATABASE_URL goes through a "
            "transaction pooler (transaction-pooler is set, or ?pgbouncer=true): the next "
            "transaction may run on another server connection. Set DIRECT_URL to the "
            "server's own address (not the pooler's), as Prisma's directUrl; see "
            "docs/pgbouncer.md"
        )


class ScratchDatabaseError(PlainSQLError):
    """The scratch database could not be created (the role needs CREATEDB)."""


class SQLTextError(PlainSQLError, ValueError):
    """SQL text plainsql's readers cannot make sense of; callers turn it into a message."""


class UnterminatedError(SQLTextError):
    """A quote, dollar quote or block comment that never closes; ``offset`` is where it opens."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"unterminated {what}")
        self.offset = offset


class NodeTreeError(SQLTextError):
    """The text is not a node tree this reader understands."""


class QueryNotFound(PlainSQLError, AttributeError):
    """No query (or folder) of that name; ``suggestions`` holds the close names."""

    def __init__(self, name: str, namespace: str, suggestions: list[str]) -> None:
        where = f" in {namespace}" if namespace else ""
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no query named {name!r}{where}{hint}")
        self.name = name
        self.suggestions = suggestions


class QueryError(PlainSQLError):
    """A named query failed on the server."""

    def __init__(self, message: str, *, query_name: str, sqlstate: str | None = None) -> None:
        super().__init__(f"{query_name}: {message}" if query_name else message)
        self.query_name = query_name
        self.sqlstate = sqlstate


class IntegrityError(QueryError):
    """A constraint refused the write."""

    def __init__(
        self,
        message: str,
        *,
        query_name: str,
        sqlstate: str | None = None,
        constraint: str | None = None,
        table: str | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message, query_name=query_name, sqlstate=sqlstate)
        self.constraint = constraint
        self.table = table
        self.column = column


class UniqueViolation(IntegrityError):
    """A unique constraint or index already holds the value."""


class ForeignKeyViolation(IntegrityError):
    """The referenced row does not exist, or is still referenced."""


class CheckViolation(IntegrityError):
    """A CHECK constraint refused the value."""


class NotNullViolation(IntegrityError):
    """A NOT NULL column was given no value."""


class InvalidInput(QueryError):
    """A value PostgreSQL cannot store or parse (a NUL byte in text, a malformed uuid, ...)."""


class InvalidCursor(InvalidInput):
    """A page cursor that its list did not make: malformed, truncated, altered, or another
    list's (:mod:`plainsql.runtime.paging`); the message names the parameter."""


class InvalidScope(InvalidInput):
    """A read-your-writes token (:class:`plainsql.Scope`) that is not a WAL position: a cookie
    altered, truncated or set by another program. An application reading one from a request
    may treat it as no token."""


class PermissionDenied(QueryError):
    """The role lacks the privilege, or a row-level security policy refused the new row
    (SQLSTATE 42501, insufficient_privilege)."""


class QueryCanceled(QueryError):
    """The statement ran past statement_timeout or was cancelled."""


class PreparedStatementLost(QueryError):
    """The server connection holds other prepared statements than this client made: a
    transaction pooler (PgBouncer in transaction mode before 1.21, or without
    ``max_prepared_statements``) shares server connections between clients."""

    HINT = (
        "the server connection holds another client's prepared statements: a transaction "
        "pooler (PgBouncer in transaction mode?) that does not keep them. Declare it with "
        "PLAINSQL_TRANSACTION_POOLER=true (or ?pgbouncer=true on DATABASE_URL), which turns "
        "prepared statements off; set PLAINSQL_POOLER_PREPARED_STATEMENTS=true only for "
        "PgBouncer 1.21+ with max_prepared_statements set (see docs/pgbouncer.md)"
    )


class SerializationFailure(QueryError):
    """A serialization failure or deadlock; the whole transaction may be retried."""


class MigrationError(PlainSQLError):
    """A migration cannot be read, applied or rolled back."""


class MigrationLockTimeout(MigrationError):
    """Another runner held the migration lock for longer than the timeout."""


class LintError(PlainSQLError):
    """The linter itself could not run (squawk missing or crashing)."""


class SchemaDumpError(PlainSQLError):
    """pg_dump failed, or schema.sql is stale."""


class SeedError(PlainSQLError):
    """A seed file failed; nothing of the run was kept."""


class BackupError(PlainSQLError):
    """A backup cannot be taken, checked or restored (the message names the file)."""


class QueryFailed(PlainSQLError):
    """One query could not be prepared or described."""


class StaleTypes(PlainSQLError):
    """The SQL loaded at run time is not the SQL the typed module was generated from."""


class StatsUnavailable(PlainSQLError):
    """``plainsql stats`` cannot read ``pg_stat_statements``; the message says what to run."""


class CacheError(PlainSQLError):
    """A query cache cannot open, or ``plainsql check`` refuses a cached query: the query's
    reads cannot be known (and its directive lists no tables), it is not a plain read, or a
    table it reads has no trigger notifying the cache. Names the file, line, query and table."""


class MissingRow(PlainSQLError):
    """A query typed to return exactly one row returned none (the typing was wrong)."""

    def __init__(self, query_name: str) -> None:
        super().__init__(f"{query_name} returned no row where typegen proved one")
        self.query_name = query_name


class DomainError(PlainSQLError):
    """Base of the errors the services raise about the data itself."""


_INTEGRITY_CLASSES: tuple[tuple[type[psycopg.Error], type[IntegrityError]], ...] = (
    (pgerrors.UniqueViolation, UniqueViolation),
    (pgerrors.ForeignKeyViolation, ForeignKeyViolation),
    (pgerrors.CheckViolation, CheckViolation),
    (pgerrors.NotNullViolation, NotNullViolation),
)

# The connection is gone: the server shut down or crashed, or the link broke.
_CONNECTION_GONE: tuple[type[psycopg.Error], ...] = (
    pgerrors.ConnectionException,
    pgerrors.CannotConnectNow,
    pgerrors.AdminShutdown,
    pgerrors.CrashShutdown,
)
# The server refused a new connection.
_CONNECTION_REFUSED: tuple[type[psycopg.Error], ...] = (
    pgerrors.InvalidAuthorizationSpecification,
    pgerrors.InvalidPassword,
    pgerrors.TooManyConnections,
)


def connection_lost(exc: psycopg.Error) -> bool:
    """True when ``exc`` means the connection is gone (not that a statement failed)."""
    if isinstance(exc, _CONNECTION_GONE):
        return True
    return isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None


# What a client sees when a pooler hands it a server connection whose prepared statements are
# another client's (psycopg names its own _pg3_0, _pg3_1, ... in every session).
_LOST_STATEMENT = re.compile(r'prepared statement "[^"]*" (?:already exists|does not exist)')
_BIND_MISMATCH = re.compile(r"bind message supplies \d+ parameters?, but prepared statement")


def prepared_statement_lost(exc: psycopg.Error) -> bool:
    """True when ``exc`` says the server connection's prepared statements are not ours."""
    text = str(exc)
    if isinstance(exc, pgerrors.DuplicatePreparedStatement | pgerrors.InvalidSqlStatementName):
        return bool(_LOST_STATEMENT.search(text))
    return isinstance(exc, pgerrors.ProtocolViolation) and bool(_BIND_MISMATCH.search(text))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return scrub_secrets(text.splitlines()[0] if text else type(exc).__name__)


def map_error(exc: psycopg.Error, *, query_name: str = "") -> PlainSQLError:
    """Translate a psycopg error into plainsql's tree; the caller raises it ``from exc``."""
    diag = exc.diag
    sqlstate = exc.sqlstate
    for pg_class, ours in _INTEGRITY_CLASSES:
        if isinstance(exc, pg_class):
            # The server's DETAIL ("Key (token)=(...)", "Failing row contains (...)") quotes
            # the data itself, which may be a secret: it stays on the cause, never in a message.
            return ours(
                _first_line(exc),
                query_name=query_name,
                sqlstate=sqlstate,
                constraint=diag.constraint_name,
                table=diag.table_name,
                column=diag.column_name,
            )
    if prepared_statement_lost(exc):
        message = f"{_first_line(exc)}: {PreparedStatementLost.HINT}"
        return PreparedStatementLost(message, query_name=query_name, sqlstate=sqlstate)
    if connection_lost(exc) or isinstance(exc, _CONNECTION_REFUSED):
        prefix = f"{query_name}: " if query_name else ""
        return DatabaseUnavailable(prefix + _first_line(exc))
    if isinstance(exc, pgerrors.InsufficientPrivilege):
        return PermissionDenied(_first_line(exc), query_name=query_name, sqlstate=sqlstate)
    if isinstance(exc, pgerrors.QueryCanceled):
        return QueryCanceled(_first_line(exc), query_name=query_name, sqlstate=sqlstate)
    if isinstance(exc, pgerrors.SerializationFailure | pgerrors.DeadlockDetected):
        return SerializationFailure(_first_line(exc), query_name=query_name, sqlstate=sqlstate)
    if isinstance(exc, psycopg.DataError):
        # Client-side DataError (e.g. a NUL byte, which libpq cannot send) has no sqlstate; a
        # server's quotes the value it refused, which may be a secret: hidden, as migrations do.
        message = redact_data_value(_first_line(exc), sqlstate)
        return InvalidInput(message, query_name=query_name, sqlstate=sqlstate)
    return QueryError(_first_line(exc), query_name=query_name, sqlstate=sqlstate)


def translate_constraint(
    error: IntegrityError, by_constraint: Mapping[str, type[DomainError]]
) -> PlainSQLError:
    """Return the domain error registered for ``error.constraint``, or ``error`` itself.

    A unit of work does this for the constraints declared on its database handle
    (``AsyncDatabase.with_constraint_errors``); by hand:
    ``raise translate_constraint(e, {"users_email_key": EmailTaken}) from e``.
    """
    domain_class = by_constraint.get(error.constraint or "")
    if domain_class is None:
        return error
    return domain_class(str(error))
