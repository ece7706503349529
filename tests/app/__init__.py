"""The reference applications' tests, on the schema their migrations build."""
