"""Deprecated (it goes in the next release): moved to :mod:`plainsql.typegen.support`."""

from typing import Any

from plainsql._moved import forward


def __getattr__(name: str) -> Any:
    return forward(__name__, "plainsql.typegen.support", name)
