"""Deprecated (it goes in the next release): moved to :mod:`plainsql.runtime.pool`."""

from typing import Any

from plainsql._moved import forward


def __getattr__(name: str) -> Any:
    return forward(__name__, "plainsql.runtime.pool", name, also="plainsql.runtime.pool_async")
