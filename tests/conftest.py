"""Shared test settings: the plainsql pytest plugin provides the database fixtures."""
