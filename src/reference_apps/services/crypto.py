"""Encryption of the stored secrets (OAuth tokens, deploy keys): AES-256-GCM, keys from config.

The keys
    ``REFERENCE_APPS_ENCRYPTION_KEYS`` (the environment, or the project's ``.env``) holds one
    or more ``id:key`` entries separated by commas or whitespace, where ``id`` is 1-32 of
    ``A-Z a-z 0-9 _ . -`` and ``key`` the standard base64 of 32 random bytes
    (``python -m reference_apps.rotate_keys --new-key ID`` prints one). The LAST entry is the
    newest: everything is encrypted under it; the others only decrypt. Without the variable,
    the embedded two-command path (no ``DATABASE_URL``, :attr:`Settings.uses_embedded`) keeps
    its keys in ``.plainsql/encryption-keys`` (git-ignored), created on first use with one
    fresh key and mode 0600; anywhere else a missing variable is
    :class:`MissingEncryptionKey` naming it.

The stored form (``bytea``), one envelope per value::

    0x00 | 0x01 | n | key id (n bytes, ASCII) | nonce (12 bytes) | ciphertext + GCM tag (16)

The first byte, 0x00, is never the first byte of a value stored as text (PostgreSQL text
holds no NUL byte), so a value the migrations converted from text to its UTF-8 bytes (legacy
plaintext, see migrations 0011 and 0026) is told apart from an envelope; the second byte is
the format version. The associated data is the envelope's header (marker, version, key id)
followed by the caller's ``context``, the column and the row's identity (say
``accounts.access_token`` + provider + account id): a ciphertext copied to another row or
column, or whose key id was edited, does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from dotenv import dotenv_values

from plainsql import Settings
from plainsql.errors import ConfigError, PlainSQLError

KEYS_SETTING: Final = "REFERENCE_APPS_ENCRYPTION_KEYS"
KEY_FILE_NAME: Final = "encryption-keys"
KEY_BYTES: Final = 32  # AES-256
NONCE_BYTES: Final = 12  # GCM's standard nonce; random per value
TAG_BYTES: Final = 16
MARKER: Final = 0x00
VERSION: Final = 0x01
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class Secret(str):
    """A secret (a session token, a value sent by email, the plaintext of an OAuth token or a
    deploy key): the text itself wherever a string goes, ``<hidden>`` in its ``repr``. A
    record holding one keeps it out of its own ``repr`` with no hand-written ``__repr__``
    (``NewSession(session=..., token=<hidden>)``), and so do a log line's ``%r`` and a test's
    failure report."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<hidden>"

    @classmethod
    def new(cls) -> Secret:
        """A fresh random secret of 256 bits (``secrets.token_urlsafe(32)``)."""
        return cls(secrets.token_urlsafe(32))


class EncryptionKeyError(ConfigError):
    """The encryption keys are missing, malformed, or lack the key a value was stored under."""


class MissingEncryptionKey(EncryptionKeyError):
    """No key is configured where one is needed; the message names the setting."""


class UnknownKeyId(EncryptionKeyError):
    """A stored value was encrypted under a key id the configured keys do not hold."""

    def __init__(self, message: str, *, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class CorruptCiphertext(PlainSQLError):
    """A stored value is no valid envelope, or fails authentication (edited, moved, wrong key)."""


@dataclass(frozen=True, slots=True, repr=False)
class EncryptionKey:
    """One AES-256 key and its id (the key material is hidden from repr)."""

    key_id: str
    material: bytes

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise EncryptionKeyError(
                f"key id {self.key_id[:40]!r} must be 1-32 of the characters A-Z a-z 0-9 _ . -"
            )
        if len(self.material) != KEY_BYTES:
            raise EncryptionKeyError(
                f"key {self.key_id!r} must be {KEY_BYTES} bytes, got {len(self.material)}"
            )

    def __repr__(self) -> str:
        return f"EncryptionKey(key_id={self.key_id!r}, material=<hidden>)"

    def entry(self) -> str:
        """This key as a configuration entry, ``id:base64``."""
        return f"{self.key_id}:{base64.b64encode(self.material).decode()}"

    @classmethod
    def generate(cls, key_id: str) -> EncryptionKey:
        """A fresh random key."""
        return cls(key_id, secrets.token_bytes(KEY_BYTES))


class KeyRing:
    """The configured keys: the newest (last) encrypts, every one decrypts what it made."""

    def __init__(self, keys: Sequence[EncryptionKey], *, source: str = KEYS_SETTING) -> None:
        if not keys:
            raise MissingEncryptionKey(f"{source} holds no key")
        by_id: dict[str, EncryptionKey] = {}
        for key in keys:
            if key.key_id in by_id:
                raise EncryptionKeyError(f"{source}: key id {key.key_id!r} appears twice")
            by_id[key.key_id] = key
        self._keys = by_id
        self._newest = keys[-1]
        self.source = source

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._keys)!r}, source={self.source!r})"

    @classmethod
    def parse(cls, text: str, *, source: str = KEYS_SETTING) -> KeyRing:
        """Keys from ``id:base64`` entries separated by commas or whitespace (``#`` comments).

        A malformed entry is named by its position and id, never by its key material.
        """
        entries = [
            entry
            for line in text.splitlines()
            if not line.lstrip().startswith("#")
            for entry in re.split(r"[\s,]+", line)
            if entry
        ]
        keys: list[EncryptionKey] = []
        for number, entry in enumerate(entries, start=1):
            key_id, colon, encoded = entry.partition(":")
            if not colon:
                raise EncryptionKeyError(
                    f"{source}: entry {number} is not 'id:base64-key' (no ':' in it)"
                )
            try:
                material = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise EncryptionKeyError(
                    f"{source}: the key of entry {number} ({key_id[:40]!r}) is not base64"
                ) from None
            try:
                keys.append(EncryptionKey(key_id, material))
            except EncryptionKeyError as exc:
                raise EncryptionKeyError(f"{source}: entry {number}: {exc}") from None
        return cls(keys, source=source)

    @property
    def newest_id(self) -> str:
        """The id of the key new values are encrypted under."""
        return self._newest.key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, plaintext: str, *, context: bytes) -> bytes:
        """The envelope of ``plaintext`` under the newest key, bound to ``context``."""
        key = self._newest
        header = _header(key.key_id)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(key.material).encrypt(nonce, plaintext.encode(), header + context)
        return header + nonce + sealed

    def decrypt(self, stored: bytes, *, context: bytes) -> Secret:
        """The plaintext of a stored value: an envelope, or legacy plaintext (see the module).

        Raises UnknownKeyId (the key is not configured) or CorruptCiphertext.
        """
        key_id = key_id_of(stored)
        if key_id is None:
            return Secret(_legacy_plaintext(stored))
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyId(
                f"a stored value is encrypted under key {key_id!r}, which {self.source} "
                f"does not hold (it holds {', '.join(map(repr, self._keys))})",
                key_id=key_id,
            )
        header_length = 3 + len(key_id)
        nonce = stored[header_length : header_length + NONCE_BYTES]
        sealed = stored[header_length + NONCE_BYTES :]
        try:
            plain = AESGCM(key.material).decrypt(nonce, sealed, stored[:header_length] + context)
        except InvalidTag:
            raise CorruptCiphertext(
                f"a value stored under key {key_id!r} fails authentication: it was altered, "
                "moved from another row or column, or the key's material is not the one it "
                "was made with"
            ) from None
        return Secret(plain.decode())

    def encrypt_optional(self, plaintext: str | None, *, context: bytes) -> bytes | None:
        return None if plaintext is None else self.encrypt(plaintext, context=context)

    def decrypt_optional(self, stored: bytes | None, *, context: bytes) -> Secret | None:
        return None if stored is None else self.decrypt(stored, context=context)

    def is_current(self, stored: bytes | None) -> bool:
        """True when ``stored`` is NULL or an envelope under the newest key."""
        return stored is None or key_id_of(stored) == self._newest.key_id


def key_id_of(stored: bytes) -> str | None:
    """The key id an envelope was made under; None for legacy plaintext (no envelope).

    Raises CorruptCiphertext for a value that starts like an envelope but is none.
    """
    if not stored or stored[0] != MARKER:
        return None
    if len(stored) < 3 or stored[1] != VERSION:
        raise CorruptCiphertext("a stored value starts with 0x00 but is no version-1 envelope")
    length = stored[2]
    key_id = stored[3 : 3 + length].decode("ascii", errors="replace")
    if not _KEY_ID.fullmatch(key_id) or len(stored) < 3 + length + NONCE_BYTES + TAG_BYTES:
        raise CorruptCiphertext("a stored value is a truncated or malformed envelope")
    return key_id


def _header(key_id: str) -> bytes:
    raw = key_id.encode("ascii")
    return bytes((MARKER, VERSION, len(raw))) + raw


def _legacy_plaintext(stored: bytes) -> str:
    try:
        return stored.decode()
    except UnicodeDecodeError:
        raise CorruptCiphertext("a stored value is neither an envelope nor UTF-8 text") from None


# --- loading the keys ---------------------------------------------------------------------


def load_key_ring(settings: Settings, environ: Mapping[str, str] | None = None) -> KeyRing:
    """The keys of this project: the setting, else the embedded path's local key file.

    Raises MissingEncryptionKey when neither applies (``DATABASE_URL`` or ``PG*`` is set and
    the setting is not), naming the setting.
    """
    env = os.environ if environ is None else environ
    raw = env.get(KEYS_SETTING)
    source = KEYS_SETTING
    if not raw:
        dotenv_file = settings.project_dir / ".env"
        if dotenv_file.is_file():
            raw = dotenv_values(dotenv_file).get(KEYS_SETTING)
            source = f"{KEYS_SETTING} in .env"
    if raw:
        return KeyRing.parse(raw, source=source)
    if settings.uses_embedded:
        return local_key_ring(settings.state_dir / KEY_FILE_NAME, shown=settings.shown)
    raise MissingEncryptionKey(
        f"{KEYS_SETTING} is not set: the OAuth tokens and deploy keys are encrypted under it. "
        f"Set it to 'id:base64-key' entries, newest last (`python -m reference_apps.rotate_keys "
        f"--new-key ID` prints one). Only the embedded server (no DATABASE_URL) makes a local "
        f"key file by itself."
    )


def local_key_ring(path: Path, *, shown: Callable[[Path], str] = str) -> KeyRing:
    """The keys in ``path``, made on first use with one fresh key and readable by its owner only.

    An existing file that group or others may read is refused (``chmod 600`` it).
    """
    where = shown(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise EncryptionKeyError(
            f"{where} may be read by others (mode {mode:o}): run `chmod 600 {where}`"
        )
    return KeyRing.parse(path.read_text(), source=where)


def _create_key_file(path: Path) -> None:
    """Write a fresh key to a private temporary file, then link it into place atomically:
    of two processes starting at once, one file wins and neither reads a half-written one."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(
                "# Encryption keys of this project's local database (id:base64, newest last).\n"
                "# Made by reference_apps on first use; keep it private, never commit it.\n"
                f"{EncryptionKey.generate('local-1').entry()}\n"
            )
        with contextlib.suppress(FileExistsError):  # another process made it first: its key wins
            os.link(draft, path)
    finally:
        draft.unlink()


__all__ = [
    "KEYS_SETTING",
    "CorruptCiphertext",
    "EncryptionKey",
    "EncryptionKeyError",
    "KeyRing",
    "MissingEncryptionKey",
    "UnknownKeyId",
    "key_id_of",
    "load_key_ring",
    "local_key_ring",
]
