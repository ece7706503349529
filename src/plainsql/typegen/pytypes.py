"""PostgreSQL types to Python annotations: what psycopg returns, and what it takes as a parameter.

A result type is what psycopg's default loaders produce (no type registered on the
connection): a type psycopg has no loader for comes back as ``str`` (its text form), so an
array of an enum or of an extension type is typed ``str``, not ``list[...]``. Enums are
``Literal`` aliases of their labels, json/jsonb the recursive ``JSON`` alias, domains their
base type. Parameters are typed by what psycopg can send for the server's parameter type.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from psycopg import adapters, pq

from plainsql.typegen.pgtypes import Catalog, TypeInfo

JSON_ALIAS = "JSON"
JSON_PARAM_ALIAS = "JSONParam"


@dataclass(frozen=True, slots=True)
class PyType:
    """An annotation as written in generated code, with what it needs imported or defined."""

    text: str
    imports: frozenset[tuple[str, str]] = field(default=frozenset())  # (module, name)
    local: frozenset[str] = field(default=frozenset())  # aliases defined in records.py
    enums: frozenset[int] = field(default=frozenset())  # oids of the enums it names
    dump: str = ""  # the runtime helper that wraps a JSON parameter: "as_json" or "as_jsonb"

    def optional(self, nullable: bool) -> PyType:
        if not nullable:
            return self
        return PyType(f"{self.text} | None", self.imports, self.local, self.enums, self.dump)

    def wrapped(self, template: str) -> PyType:
        """This type inside another: ``list[{}]``."""
        return PyType(template.format(self.text), self.imports, self.local, self.enums)


def _py(text: str, *imports: tuple[str, str]) -> PyType:
    return PyType(text, frozenset(imports))


_DECIMAL = ("decimal", "Decimal")
_DATETIME = ("datetime", "datetime")
_DATE = ("datetime", "date")
_TIME = ("datetime", "time")
_TIMEDELTA = ("datetime", "timedelta")
_UUID = ("uuid", "UUID")
_RANGE = ("psycopg.types.range", "Range")
_MULTIRANGE = ("psycopg.types.multirange", "Multirange")

_SCALARS: dict[str, PyType] = {
    "bool": _py("bool"),
    "int2": _py("int"),
    "int4": _py("int"),
    "int8": _py("int"),
    "oid": _py("int"),
    "float4": _py("float"),
    "float8": _py("float"),
    "numeric": _py("Decimal", _DECIMAL),
    "text": _py("str"),
    "varchar": _py("str"),
    "bpchar": _py("str"),
    "char": _py("str"),
    "name": _py("str"),
    "unknown": _py("str"),
    "bytea": _py("bytes"),
    "uuid": _py("UUID", _UUID),
    "date": _py("date", _DATE),
    "time": _py("time", _TIME),
    "timetz": _py("time", _TIME),
    "timestamp": _py("datetime", _DATETIME),
    "timestamptz": _py("datetime", _DATETIME),
    "interval": _py("timedelta", _TIMEDELTA),
    "void": _py("None"),
    "inet": _py(
        "IPv4Address | IPv6Address | IPv4Interface | IPv6Interface",
        ("ipaddress", "IPv4Address"),
        ("ipaddress", "IPv6Address"),
        ("ipaddress", "IPv4Interface"),
        ("ipaddress", "IPv6Interface"),
    ),
    "cidr": _py(
        "IPv4Network | IPv6Network", ("ipaddress", "IPv4Network"), ("ipaddress", "IPv6Network")
    ),
    "record": _py("tuple[str | None, ...]"),
}

_RANGES: dict[str, str] = {
    "int4range": "int4",
    "int8range": "int8",
    "numrange": "numeric",
    "daterange": "date",
    "tsrange": "timestamp",
    "tstzrange": "timestamptz",
    "int4multirange": "int4",
    "int8multirange": "int8",
    "nummultirange": "numeric",
    "datemultirange": "date",
    "tsmultirange": "timestamp",
    "tstzmultirange": "timestamptz",
}


def _loadable(oid: int) -> bool:
    return adapters.get_loader(oid, pq.Format.TEXT) is not None


def result_type(catalog: Catalog, oid: int) -> PyType:
    """The Python type psycopg returns for a value of type ``oid`` (NULL aside)."""
    info = catalog.type(oid)
    if info.kind == "d":
        return result_type(catalog, info.base)
    if info.kind == "e":
        return _enum(info)
    if info.schema == "pg_catalog" and info.name in ("json", "jsonb"):
        return PyType(JSON_ALIAS, local=frozenset({JSON_ALIAS}))
    if not _loadable(oid):
        return _py("str")  # psycopg's fallback: the value's text form
    if info.is_array:
        return result_type(catalog, info.element).wrapped("list[{}]")
    return _builtin(catalog, info) or _py("object")


def param_type(catalog: Catalog, oid: int) -> PyType:
    """The Python type to pass for a parameter of type ``oid``."""
    info = catalog.type(oid)
    if info.kind == "d":
        return param_type(catalog, info.base)
    if info.kind == "e":
        return _enum(info)
    if info.schema == "pg_catalog" and info.name in ("json", "jsonb"):
        return PyType(JSON_PARAM_ALIAS, local=frozenset({JSON_PARAM_ALIAS}), dump=f"as_{info.name}")
    if info.is_array:
        element = param_type(catalog, info.element)
        if element.dump:
            return _py("list[object]")  # psycopg needs Jsonb() per element: left to the caller
        return element.wrapped("list[{}]")
    if info.schema == "pg_catalog" and info.name == "numeric":
        return _py("Decimal | int", _DECIMAL)
    if info.schema == "pg_catalog" and info.name == "inet":
        return _SCALARS["inet"].wrapped("str | {}")
    return _builtin(catalog, info) or _py("str")


def _builtin(catalog: Catalog, info: TypeInfo) -> PyType | None:
    if info.schema != "pg_catalog":
        return None
    scalar = _SCALARS.get(info.name)
    if scalar is not None:
        return scalar
    subtype = _RANGES.get(info.name)
    if subtype is not None:
        inner = _SCALARS[subtype]
        wrapper = _MULTIRANGE if "multirange" in info.name else _RANGE
        return PyType(f"{wrapper[1]}[{inner.text}]", inner.imports | {wrapper})
    return None


def _enum(info: TypeInfo) -> PyType:
    alias = enum_alias(info)
    return PyType(alias, local=frozenset({alias}), enums=frozenset({info.oid}))


def enum_alias(info: TypeInfo) -> str:
    """``user_role`` -> ``UserRole``; outside ``public`` the schema is prefixed."""
    prefix = "" if info.schema == "public" else camel(info.schema)
    return prefix + camel(info.name)


def camel(name: str) -> str:
    """``team_members`` -> ``TeamMembers``; non-identifier characters separate words."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words)
    if not text or text[0].isdigit():
        text = "T" + text
    return text


def singular(name: str) -> str:
    """A table name's singular, good enough for class names (``categories`` -> ``category``)."""
    if name.endswith("ies") and len(name) > 3:
        return name[:-3] + "y"
    if name.endswith("lves"):
        return name[:-3] + "f"  # shelves, halves
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith(("ss", "us", "is")):
        return name[:-1]
    return name


def is_identifier(name: str) -> bool:
    """Usable as a Python field or parameter name."""
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
