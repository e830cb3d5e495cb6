"""Sealing repository secrets: AES-256-GCM, a fresh nonce per value, the ciphertext bound to its row.

Pure: bytes in, bytes out, no file, database or environment. A sealed value reads

    version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext and GCM tag (16 bytes)

and the associated data is the version, the key id and the row's binding (`Binding.data`), so a ciphertext copied
into another row, or a header edited, does not open. The key id (the first bytes of a fingerprint of the key, which
says nothing about the key) picks the key to open with, so values sealed before a rotation open with the old key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pipeline_queue.errors import VaultError

KEY_BYTES = 32
"""AES-256."""

NONCE_BYTES = 12
"""96 bits, random for every value: GCM's recommended nonce size."""

KEY_ID_BYTES = 4
"""Enough to tell a handful of keys apart; a collision only means one more key is tried."""

FORMAT_VERSION = 1
"""The first byte of every sealed value."""

_TAG_BYTES = 16
_HEADER_BYTES = 1 + KEY_ID_BYTES
_BODY_START = _HEADER_BYTES + NONCE_BYTES
_FINGERPRINT_LABEL = b"pipeline-queue key id\x00"
_WEBHOOK = ":webhook"
"""The binding's tail for a webhook secret: ':' is not allowed in a secret name, so no secret can share it."""


@dataclass(frozen=True)
class Binding:
    """The row a ciphertext belongs to: a repository's secret, or (with no `secret`) its webhook secret."""

    repo: str
    """The repository's `owner/name`."""
    secret: str = ""
    """The secret's name; empty for the repository's webhook secret."""

    @property
    def data(self) -> bytes:
        """The associated data: `owner/name` NUL `secret name`, or `owner/name` NUL `:webhook`."""
        return f"{self.repo}\0{self.secret or _WEBHOOK}".encode()

    def __str__(self) -> str:
        if self.secret == STAGE_TAIL:
            return f"the Secrets of {self.repo.replace(':', ' ', 1)}"
        if self.secret:
            return f"secret {self.secret!r} of {self.repo}"
        return f"the webhook secret of {self.repo}"


def secret_binding(repo: str, name: str) -> Binding:
    """The binding of secret `name` of repository `repo`."""
    if not name:
        raise VaultError(f"a secret of {repo} needs a name")
    return Binding(repo=repo, secret=name)


def webhook_binding(repo: str) -> Binding:
    """The binding of the webhook secret of repository `repo`."""
    return Binding(repo=repo)


STAGE_TAIL = ":stage"
"""The binding's tail for a stage's Secrets: like the webhook's, no secret name can be it."""


def stage_binding(stage_key: str) -> Binding:
    """The binding of a stage's Secrets: `stage:KEY` is no repository slug (no `:` in one), `:stage` no secret name,
    so no other row's ciphertext opens as a stage's."""
    return Binding(repo=f"stage:{stage_key}", secret=STAGE_TAIL)


@dataclass(frozen=True)
class KeyRing:
    """The keys values are sealed with: the first seals, every one opens. Never shown (`repr` counts them)."""

    keys: tuple[bytes, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise VaultError("a key ring needs at least one key")
        for number, key in enumerate(self.keys, start=1):
            if len(key) != KEY_BYTES:
                raise VaultError(f"key {number} of the key ring is {len(key)} bytes, not {KEY_BYTES}")

    def __repr__(self) -> str:
        return f"KeyRing({len(self.keys)} keys)"

    @property
    def primary(self) -> bytes:
        """The key new values are sealed with."""
        return self.keys[0]

    def candidates(self, wanted: bytes) -> list[bytes]:
        """The keys whose id is `wanted`, in ring order."""
        return [key for key in self.keys if key_id(key) == wanted]


def generate_key() -> bytes:
    """A new random 256-bit key."""
    return secrets.token_bytes(KEY_BYTES)


def key_id(key: bytes) -> bytes:
    """The id sealed values carry: the first bytes of a labelled SHA-256 of the key."""
    return hashlib.sha256(_FINGERPRINT_LABEL + key).digest()[:KEY_ID_BYTES]


def encrypt(ring: KeyRing, plaintext: bytes, binding: Binding) -> bytes:
    """`plaintext` sealed with the ring's first key, bound to `binding`."""
    header = bytes([FORMAT_VERSION]) + key_id(ring.primary)
    nonce = secrets.token_bytes(NONCE_BYTES)
    return header + nonce + AESGCM(ring.primary).encrypt(nonce, plaintext, header + binding.data)


def decrypt(ring: KeyRing, sealed: bytes, binding: Binding) -> bytes:
    """The plaintext of a value `encrypt` sealed for `binding`; VaultError (naming the row only) if it does not open."""
    if len(sealed) < _BODY_START + _TAG_BYTES:
        raise VaultError(f"{binding} is not a sealed value (too short): the stored row is damaged")
    header, nonce, body = sealed[:_HEADER_BYTES], sealed[_HEADER_BYTES:_BODY_START], sealed[_BODY_START:]
    if header[0] != FORMAT_VERSION:
        raise VaultError(f"{binding} is sealed in a format this version of pipeline-queue does not know")
    keys = ring.candidates(header[1:])
    if not keys:
        raise VaultError(
            f"{binding} was sealed with a key that is not among the {len(ring.keys)} configured "
            "(a wrong or missing key: check PQ_SECRET_KEY or the key file in the data directory)"
        )
    for key in keys:
        try:
            return AESGCM(key).decrypt(nonce, body, header + binding.data)
        except InvalidTag:
            continue
    raise VaultError(f"{binding} does not open with its key: it was altered, or copied from another row")


def reseal(ring: KeyRing, sealed: bytes, binding: Binding) -> bytes:
    """A value sealed under any key of the ring, sealed again under its first key (for key rotation)."""
    return encrypt(ring, decrypt(ring, sealed, binding), binding)
