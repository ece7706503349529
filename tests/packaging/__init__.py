"""Packaging tests: plainsql built and installed as a user would (make test-standalone)."""
