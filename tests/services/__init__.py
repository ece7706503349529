"""Tests of plainsql.services, one module each."""
