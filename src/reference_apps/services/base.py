"""What every service holds: the database handle, with its declared constraint errors, and the
application's typed queries, built once and shared (see README.md, "Conventions")."""

from __future__ import annotations

from types import MappingProxyType
from typing import ClassVar

from plainsql import AsyncDatabase, AsyncUnit, ConstraintErrors
from reference_apps.db.queries import AsyncTypedQueries


class Service:
    """A service: ``Service(db, q)`` with ``q = AsyncTypedQueries(load_async_queries(sql))``
    built once per application. ``constraint_errors`` declares which constraint's refusal
    becomes which domain error; every unit of work of the service applies it."""

    constraint_errors: ClassVar[ConstraintErrors] = MappingProxyType({})

    def __init_subclass__(cls, *, constraint_errors: ConstraintErrors | None = None) -> None:
        """``class TeamService(Service, constraint_errors={"teams_slug_key": SlugTaken})``:
        the declaration, once per service."""
        super().__init_subclass__()
        if constraint_errors is not None:
            cls.constraint_errors = MappingProxyType(dict(constraint_errors))

    def __init__(self, db: AsyncDatabase, q: AsyncTypedQueries) -> None:
        self.db = (
            db.with_constraint_errors(self.constraint_errors) if self.constraint_errors else db
        )
        self.q = q

    def reading(self, acting_user_id: str | None) -> AsyncUnit:
        """A read-only unit of work acting as ``acting_user_id``, for one typed query."""
        return self.db.unit(acting_user=acting_user_id, read_only=True)

    def writing(self, acting_user_id: str | None) -> AsyncUnit:
        """A unit of work acting as ``acting_user_id``, for one typed query."""
        return self.db.unit(acting_user=acting_user_id)
