"""Deprecated (it goes in the next release): moved to :mod:`plainsql.runtime._adapter_async`."""

from typing import Any

from plainsql._moved import forward


def __getattr__(name: str) -> Any:
    return forward(__name__, "plainsql.runtime._adapter_async", name)
