"""plainsql: named SQL queries in plain files and plain-SQL migrations for PostgreSQL.

Everything a program needs is imported from here (``__all__``), plus the error tree in
:mod:`plainsql.errors` and the pytest plugin in :mod:`plainsql.testing`. Any other module is
internal and may change without notice. Importing plainsql opens nothing and reads nothing.
"""

from plainsql import errors
from plainsql.config import Settings, load_settings
from plainsql.queries import Queries, load_async_queries, load_queries
from plainsql.runtime._replicas import Scope
from plainsql.runtime._reuse import deduplicate_reads
from plainsql.runtime.cache import QueryCache, open_cache
from plainsql.runtime.cache_async import AsyncQueryCache, open_async_cache
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
from plainsql.runtime.replicas import Replicas, open_replicas
from plainsql.runtime.replicas_async import AsyncReplicas, open_async_replicas

__version__ = "0.1.0"

__all__ = [
    "AsyncConn",
    "AsyncDatabase",
    "AsyncPool",
    "AsyncQueryCache",
    "AsyncReplicas",
    "AsyncUnit",
    "Conn",
    "ConstraintErrors",
    "Database",
    "KeysetList",
    "Page",
    "PageRequest",
    "Pool",
    "Queries",
    "QueryCache",
    "Replicas",
    "Scope",
    "Settings",
    "Unit",
    "__version__",
    "at_least_one",
    "deduplicate_reads",
    "errors",
    "exactly_one",
    "load_async_queries",
    "load_queries",
    "load_settings",
    "open_async_cache",
    "open_async_pool",
    "open_async_replicas",
    "open_cache",
    "open_pool",
    "open_replicas",
]
