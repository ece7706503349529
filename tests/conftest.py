"""Shared test helpers. The database fixtures come from plainsql's pytest plugin, and the
tests use them under the plugin's own names (``plainsql_conn``, ``plainsql_async_db`` ...)."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ForwardRef, Literal, Union, get_args, get_origin, get_type_hints

import pytest

Conforms = Callable[[object, Any, Mapping[str, Any]], bool]


@pytest.fixture
def server_folder() -> Iterator[Path]:
    """A folder for a cluster a test starts itself, which the server's unprivileged user can
    enter: outside pytest's own temporary folders, which any pytest started meanwhile (another
    checkout's) makes private to root."""
    made = Path(tempfile.mkdtemp(prefix="plainsql-cluster-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def conforms() -> Conforms:
    """``conforms(value, hint, namespace)``: whether a value fits a generated annotation, for
    the soundness tests of typegen's test project and of the application alike."""
    return _conforms


def _conforms(value: object, hint: Any, namespace: Mapping[str, Any]) -> bool:
    """Whether ``value`` is of type ``hint`` (the subset of typing the generator writes); names
    in ``hint`` are looked up in ``namespace`` (the generated records and queries)."""
    if isinstance(hint, str | ForwardRef):
        hint = eval(hint if isinstance(hint, str) else hint.__forward_arg__, dict(namespace))
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg, namespace) for arg in get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if origin is Literal:
        return value in get_args(hint)
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_conforms(v, item, namespace) for v in value)
    if origin is dict:
        key, item = get_args(hint)
        return isinstance(value, dict) and all(
            _conforms(k, key, namespace) and _conforms(v, item, namespace) for k, v in value.items()
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = get_type_hints(hint, dict(namespace))
        return type(value) is hint and all(
            _conforms(getattr(value, f), t, namespace) for f, t in fields.items()
        )
    if hint is int:
        return type(value) is int  # not a bool
    return isinstance(hint, type) and isinstance(value, hint)
