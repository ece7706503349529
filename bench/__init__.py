"""Benchmarks (`make bench`): plainsql against raw psycopg, in one run on the same database."""
