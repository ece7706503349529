"""`import plainsql`: the declared public names, and the old module paths that still work."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

import plainsql

PUBLIC = {
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
    "deduplicate_reads",
    "at_least_one",
    "errors",
    "exactly_one",
    "load_async_queries",
    "load_queries",
    "load_settings",
    "open_async_cache",
    "open_async_pool",
    "open_cache",
    "open_async_replicas",
    "open_pool",
    "open_replicas",
}

# old module path -> (a name it held, where that name lives now)
MOVED = {
    "plainsql.runtime_async": ("AsyncDatabase", "plainsql.runtime.database_async"),
    "plainsql.runtime_sync": ("Database", "plainsql.runtime.database"),
    "plainsql.runtime_common": ("begin_statement", "plainsql.runtime._unit"),
    "plainsql.adapter_async": ("AsyncPsycopgAdapter", "plainsql.runtime._adapter_async"),
    "plainsql.adapter_sync": ("PsycopgAdapter", "plainsql.runtime._adapter"),
    "plainsql.adapter_common": ("AdapterBase", "plainsql.runtime._adapter_common"),
    "plainsql.connection_async": ("AsyncPlainConnection", "plainsql.runtime.connection_async"),
    "plainsql.connection_sync": ("PlainConnection", "plainsql.runtime.connection"),
    "plainsql.pool": ("open_async_pool", "plainsql.runtime.pool_async"),
    "plainsql.commands": ("run_command", "plainsql.runtime._libpq"),
    "plainsql.deadline": ("Guarded", "plainsql.runtime._deadline"),
    "plainsql.typegen.runtime": ("checked_sql", "plainsql.typegen.support"),
}


def test_all_lists_the_public_names_and_each_resolves() -> None:
    assert set(plainsql.__all__) == PUBLIC
    for name in plainsql.__all__:
        assert getattr(plainsql, name) is not None, name
    assert plainsql.errors.PlainSQLError.__module__ == "plainsql.errors"


def test_importing_plainsql_opens_nothing() -> None:
    code = (
        "import threading, plainsql; "
        "print(threading.active_count(), sorted(plainsql.__all__) == plainsql.__all__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["1", "True"]  # no watchdog, no pool worker started


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_still_works_and_warns(old: str) -> None:
    name, new = MOVED[old]
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated") as caught:
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)
    message = str(caught[0].message)
    assert message.endswith(f"import {name} from {'plainsql' if name in PUBLIC else new}")
    assert caught[0].filename == __file__  # the warning points at the caller's line


def test_a_from_import_through_an_old_path_warns_at_the_importing_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from plainsql.pool import open_pool  # noqa: F401
    assert [w.category for w in caught] == [DeprecationWarning]
    assert caught[0].filename == __file__
    assert "import open_pool from plainsql" in str(caught[0].message)
