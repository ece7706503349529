"""Base classes of the services' domain errors; each service module defines its own subclasses.

DomainError (plainsql.errors)
├── NotFound            the row does not exist, or belongs to another user
├── AlreadyExists       a unique fact is already taken (email, slug, youtube id, ...)
└── Conflict            the row is not in a state that allows the change (a lost race,
                        an illegal transition, the last owner leaving)
"""

from __future__ import annotations

from plainsql.errors import DomainError


class NotFound(DomainError):
    """The row does not exist, or is not visible to the caller."""


class AlreadyExists(DomainError):
    """A unique value is already taken."""


class Conflict(DomainError):
    """The current state of the data does not allow the change."""
