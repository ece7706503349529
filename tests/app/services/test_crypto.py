"""reference_apps.services.crypto: envelopes, keys, and where the keys come from."""

from __future__ import annotations

import base64
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from plainsql import Settings
from plainsql.config import DatabaseSource
from reference_apps.services.crypto import (
    KEYS_SETTING,
    CorruptCiphertext,
    EncryptionKey,
    EncryptionKeyError,
    KeyRing,
    MissingEncryptionKey,
    Secret,
    UnknownKeyId,
    key_id_of,
    load_key_ring,
)

K1 = EncryptionKey("k1", b"\x01" * 32)
K2 = EncryptionKey("k2", b"\x02" * 32)
CONTEXT = b"accounts.access_token\x00github\x0042"


def entry(key: EncryptionKey) -> str:
    return f"{key.key_id}:{base64.b64encode(key.material).decode()}"


def test_an_envelope_is_tagged_with_its_key_and_gives_the_plaintext_back() -> None:
    ring = KeyRing([K1, K2])

    sealed = ring.encrypt("gho_token", context=CONTEXT)

    assert sealed[:2] == b"\x00\x01"  # the marker text never starts with, then the version
    assert key_id_of(sealed) == "k2"  # the newest key, the last listed
    assert b"gho_token" not in sealed
    assert ring.decrypt(sealed, context=CONTEXT) == "gho_token"
    assert ring.encrypt("gho_token", context=CONTEXT) != sealed  # a fresh nonce each time
    assert KeyRing([K1]).decrypt(KeyRing([K1]).encrypt("é", context=b""), context=b"") == "é"


def test_a_ciphertext_bound_to_another_row_or_altered_does_not_decrypt() -> None:
    ring = KeyRing([K1, K2])
    sealed = ring.encrypt("gho_token", context=CONTEXT)

    with pytest.raises(CorruptCiphertext, match="fails authentication"):
        ring.decrypt(sealed, context=b"accounts.access_token\x00github\x0043")
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(CorruptCiphertext):
        ring.decrypt(flipped, context=CONTEXT)
    relabelled = sealed.replace(b"k2", b"k1", 1)  # the key id is authenticated too
    with pytest.raises(CorruptCiphertext):
        ring.decrypt(relabelled, context=CONTEXT)
    with pytest.raises(CorruptCiphertext, match="truncated"):
        ring.decrypt(sealed[:20], context=CONTEXT)


def test_a_value_under_a_key_no_longer_configured_names_the_key_and_the_setting() -> None:
    sealed = KeyRing([K1]).encrypt("gho_token", context=CONTEXT)

    with pytest.raises(UnknownKeyId) as caught:
        KeyRing([K2]).decrypt(sealed, context=CONTEXT)

    assert caught.value.key_id == "k1"
    assert "'k1'" in str(caught.value)
    assert KEYS_SETTING in str(caught.value)


def test_legacy_plaintext_is_read_as_text_and_is_never_current() -> None:
    ring = KeyRing([K1])
    legacy = b"gho_from_before"

    assert key_id_of(legacy) is None
    assert ring.decrypt(legacy, context=CONTEXT) == "gho_from_before"
    assert not ring.is_current(legacy)
    assert ring.is_current(ring.encrypt("x", context=CONTEXT))
    assert not ring.is_current(KeyRing([K2]).encrypt("x", context=CONTEXT))


def test_keys_are_parsed_from_entries_newest_last() -> None:
    ring = KeyRing.parse(f"# old first\n{entry(K1)},\n  {entry(K2)}\n")
    assert ring.key_ids == ("k1", "k2")
    assert ring.newest_id == "k2"
    sealed = KeyRing([K2]).encrypt("x", context=b"")
    assert ring.decrypt(sealed, context=b"") == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("k1", "no ':'"),
        ("k1:c2VjcmV0LW1hdGVyaWFs!!", "not base64"),
        (f"k1:{base64.b64encode(b'secret-material').decode()}", "must be 32 bytes"),
        (f"bad!id:{base64.b64encode(bytes(32)).decode()}", "key id"),
        (f"{entry(K1)} {entry(K1)}", "appears twice"),
    ],
)
def test_a_malformed_setting_is_named_and_no_key_material_is_shown(text: str, message: str) -> None:
    with pytest.raises(EncryptionKeyError, match=message) as caught:
        KeyRing.parse(text)
    shown = str(caught.value)
    assert KEYS_SETTING in shown
    for secret in ("c2VjcmV0LW1hdGVyaWFs", "secret-material", base64.b64encode(bytes(32)).decode()):
        assert secret not in shown
    assert caught.value.__cause__ is None


def test_no_key_material_in_a_repr() -> None:
    ring = KeyRing([K1])
    for shown in (repr(K1), repr(ring), str(ring)):
        assert base64.b64encode(K1.material).decode() not in shown
        assert "k1" in shown
    assert KeyRing.parse(EncryptionKey.generate("fresh").entry()).newest_id == "fresh"


def test_a_secret_is_its_text_everywhere_but_in_a_repr() -> None:
    @dataclass(frozen=True, slots=True)
    class Holder:
        name: str
        token: Secret
        spare: Secret | None = None

    token = Secret.new()
    held = Holder("ada", token)

    assert repr(held).endswith("Holder(name='ada', token=<hidden>, spare=None)")
    assert token not in f"{token!r} {[token]} {(token,)} {held!r}"
    assert str(token) == f"{token}" == token  # the text itself wherever a string goes
    assert len(token) == 43  # 256 random bits, url-safe base64
    assert Secret.new() != token
    sealed = KeyRing([K1]).encrypt(token, context=CONTEXT)
    opened = KeyRing([K1]).decrypt(sealed, context=CONTEXT)
    assert isinstance(opened, Secret)
    assert (opened, repr(opened)) == (token, "<hidden>")


# --- where the keys come from -------------------------------------------------------------


def embedded_settings(project: Path) -> Settings:
    return Settings(project_dir=project, database_url=None, source=DatabaseSource.EMBEDDED)


def server_settings(project: Path) -> Settings:
    return Settings(
        project_dir=project,
        database_url="postgresql://app@db.example/app",
        source=DatabaseSource.ENVIRONMENT,
    )


def test_the_setting_comes_first_then_the_dotenv_file(tmp_path: Path) -> None:
    ring = load_key_ring(server_settings(tmp_path), {KEYS_SETTING: f"{entry(K1)},{entry(K2)}"})
    assert ring.key_ids == ("k1", "k2")

    (tmp_path / ".env").write_text(f"{KEYS_SETTING}={entry(K2)}\n")
    assert load_key_ring(server_settings(tmp_path), {}).key_ids == ("k2",)
    assert load_key_ring(server_settings(tmp_path), {KEYS_SETTING: entry(K1)}).key_ids == ("k1",)


def test_without_the_setting_a_configured_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingEncryptionKey, match=KEYS_SETTING):
        load_key_ring(server_settings(tmp_path), {})
    assert not (tmp_path / ".plainsql").exists()  # no key file made behind the user's back


def test_the_embedded_path_makes_a_private_key_file_once(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)

    first = load_key_ring(settings, {})

    key_file = tmp_path / ".plainsql" / "encryption-keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = first.encrypt("deploy key", context=b"x")
    again = load_key_ring(settings, {})  # the same file, the same key
    assert again.key_ids == first.key_ids
    assert again.decrypt(sealed, context=b"x") == "deploy key"


def test_processes_starting_at_once_agree_on_one_key_file(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        rings = list(pool.map(lambda _: load_key_ring(settings, {}), range(16)))

    sealed = rings[0].encrypt("deploy key", context=b"x")
    assert all(ring.decrypt(sealed, context=b"x") == "deploy key" for ring in rings)
    assert [p.name for p in (tmp_path / ".plainsql").iterdir()] == ["encryption-keys"]


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)
    load_key_ring(settings, {})
    key_file = tmp_path / ".plainsql" / "encryption-keys"
    key_file.chmod(0o644)

    with pytest.raises(EncryptionKeyError, match=r"chmod 600 \.plainsql/encryption-keys"):
        load_key_ring(settings, {})
