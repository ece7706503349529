"""plainsql: named SQL queries in plain files and plain-SQL migrations for PostgreSQL."""

__version__ = "0.1.0"
