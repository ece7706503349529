"""Tests of plainsql.backup: backup, restore and verify on small projects of their own."""
