"""The content keys (issue 21): a keyring of 256-bit AES keys, newest first, each known by an id
derived from it; and what rotating to the newest did. Pure values; store/sealing.py uses them,
proxy/privacy/keys.py makes them from the settings."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
KEY_ID_LABEL = b"llmlog content key id v1\x00"


def key_id(secret: bytes) -> str:
    """The id a key is known by in the store: 8 hex digits of SHA-256 over a fixed label and the key.
    It tells keys apart; it says nothing usable about the key."""
    return hashlib.sha256(KEY_ID_LABEL + secret).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Key:
    id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Keyring:
    """The configured keys, newest first (it seals; the others only open). Built by
    proxy/privacy/keys.py from the settings."""

    keys: tuple[Key, ...]
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring holds at least one key")
        for key in self.keys:
            if len(key.secret) != KEY_BYTES:
                raise ValueError(f"key {key.id}: {len(key.secret)} bytes, not {KEY_BYTES}")
        # the first key of an id wins: the same key given twice is one key
        ciphers: dict[str, AESGCM] = {}
        for key in self.keys:
            ciphers.setdefault(key.id, AESGCM(key.secret))
        object.__setattr__(self, "_ciphers", ciphers)

    @classmethod
    def of(cls, secrets: Sequence[bytes]) -> Keyring:
        return cls(tuple(Key(key_id(s), s) for s in secrets))

    @property
    def newest(self) -> Key:
        return self.keys[0]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def cipher(self, key_id: str) -> AESGCM | None:
        return self._ciphers.get(key_id)


@dataclass(slots=True)
class RekeyResult:
    """What `Store.rekey` did: entries moved from older keys, entries sealed that were in clear,
    entries that could not be opened (their ids; left as they are, or their content removed), key
    ids forgotten."""

    resealed: int = 0
    sealed_clear: int = 0
    failed: list[str] = field(default_factory=list)
    dropped: int = 0  # of the failed, entries whose content was removed (`drop_unreadable`)
    forgotten: list[str] = field(default_factory=list)
