"""The plugin's fixtures give each test a migrated database of its own."""

from typing import Any

import psycopg


def test_each_test_gets_a_migrated_database(plainsql_conn: psycopg.Connection[Any]) -> None:
    row = plainsql_conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
    assert row is not None
    assert row[0] >= 1
