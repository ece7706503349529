"""Tests of plainsql.runtime: the database handle and its units of work, the pools, faults."""
