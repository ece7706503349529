"""Tests of the pytest plugin (plainsql.testing)."""
