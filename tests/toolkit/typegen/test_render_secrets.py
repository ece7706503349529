"""typegen's render: columns holding credentials are kept out of the records' repr."""

from __future__ import annotations

import pytest

from plainsql.typegen.render import _record_field, is_secret_column


@pytest.mark.parametrize(
    "name", ["password", "password_hash", "token", "refresh_token", "deploy_key", "api_key"]
)
def test_credential_columns_are_secret(name: str) -> None:
    assert is_secret_column(name)


@pytest.mark.parametrize("name", ["id", "email", "access_token_expires_at", "token_count", "key"])
def test_ordinary_columns_are_not_secret(name: str) -> None:
    assert not is_secret_column(name)


def test_a_rendered_record_does_not_print_its_password_hash() -> None:
    source = "\n".join(
        [
            "from dataclasses import dataclass, field",
            "@dataclass(frozen=True, slots=True)",
            "class CredentialRow:",
            _record_field("email", "str"),
            _record_field("password_hash", "str"),
        ]
    )
    namespace: dict[str, object] = {}
    exec(source, namespace)
    record = namespace["CredentialRow"]("a@x.io", "$argon2id$v=19$secret-hash")  # type: ignore[operator]
    assert "a@x.io" in repr(record)
    assert "secret-hash" not in repr(record)
