"""Module paths of the previous release, kept for one more: each forwards to the new home.

A shim module defines only a module-level ``__getattr__`` calling :func:`forward`, so every
name read through an old path (``from plainsql.pool import open_pool``) warns, pointing at the
caller's line, and says where to import it from now.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any


def forward(old: str, new: str, name: str, *, also: str | None = None) -> Any:
    """``name`` of module ``new`` (or ``also``, where the old module was split in two), read
    through the deprecated module path ``old``."""
    if name.startswith("__"):  # the import system's own probes (__path__, __all__ ...)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")
    import plainsql

    if also is not None and not hasattr(importlib.import_module(new), name):
        new = also
    where = "plainsql" if name in plainsql.__all__ else new
    warnings.warn(
        f"{old} is deprecated and goes in the next release: import {name} from {where}",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(new), name)
