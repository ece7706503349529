"""plainsql: named SQL queries in plain files and plain-SQL migrations for PostgreSQL.

Everything a program needs is imported from here (``__all__``), plus the error tree in
:mod:`plainsql.errors` and the pytest plugin in :mod:`plainsql.testing`. Any other module is
internal and may change without notice. Importing plainsql opens nothing and reads nothing.
"""

from plainsql import errors
from plainsql.config import Settings, load_settings
from plainsql.queries import Queries, load_async_queries, load_queries
from plainsql.runtime.database import Database, Unit
from plainsql.runtime.database_async import (
    AsyncDatabase,
    AsyncUnit,
    ConstraintErrors,
    at_least_one,
    exactly_one,
)
from plainsql.runtime.paging import KeysetList, Page, PageRequest
from plainsql.runtime.pool import Conn, Pool, open_pool
from plainsql.runtime.pool_async import AsyncConn, AsyncPool, open_async_pool

__version__ = "0.1.0"

__all__ = [
    "AsyncConn",
    "AsyncDatabase",
    "AsyncPool",
    "AsyncUnit",
    "Conn",
    "ConstraintErrors",
    "Database",
    "KeysetList",
    "Page",
    "PageRequest",
    "Pool",
    "Queries",
    "Settings",
    "Unit",
    "__version__",
    "at_least_one",
    "errors",
    "exactly_one",
    "load_async_queries",
    "load_queries",
    "load_settings",
    "open_async_pool",
    "open_pool",
]
