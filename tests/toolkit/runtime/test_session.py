"""runtime/_session.py: which statements need a session of their own (refused through a pooler)."""

from __future__ import annotations

import pytest

from plainsql.runtime._session import session_level


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("LISTEN jobs", "LISTEN"),
        ("  -- wake the workers\n/* queue */ unlisten *", "UNLISTEN"),
        ("SET search_path = app", "SET"),
        ("set session statement_timeout = 0", "SET"),
        ("RESET ALL", "RESET"),
        ("DISCARD ALL", "DISCARD"),
        ("PREPARE q AS SELECT 1", "PREPARE"),
        ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", "DECLARE"),
        ("SELECT pg_advisory_lock(42)", "pg_advisory_lock()"),
        ("SELECT PG_TRY_ADVISORY_LOCK_SHARED (1, 2)", "pg_try_advisory_lock_shared()"),
        ("SELECT pg_advisory_unlock_all()", "pg_advisory_unlock_all()"),
    ],
)
def test_session_level_statements_are_named(query: str, what: str) -> None:
    assert session_level(query) == what


@pytest.mark.parametrize(
    "query",
    [
        "SET LOCAL search_path = app",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET CONSTRAINTS ALL DEFERRED",
        "SELECT pg_advisory_xact_lock(42)",
        "SELECT settings, listen_port FROM config",
        "NOTIFY jobs",
        "DECLARE c CURSOR FOR SELECT 1",
        "UPDATE t SET n = 1",
    ],
)
def test_transaction_scoped_statements_pass(query: str) -> None:
    assert session_level(query) is None
