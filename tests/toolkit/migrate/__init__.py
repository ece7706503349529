"""Tests of plainsql.migrate, one file per module."""
