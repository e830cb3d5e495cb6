"""Where the keys come from: `PQ_SECRET_KEY`, else a key file in the data directory (created 0600 on first use).

Both hold one or more 32-byte keys, in base64 or hex, the first one sealing and every one opening (`KeyRing`).
`PQ_SECRET_KEY` separates them with commas; the key file has one per line, `#` starting a comment. No message here
ever shows a key: a bad one is named by its position and its source.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipeline_queue.errors import VaultError
from pipeline_queue.settings import VaultConfig
from pipeline_queue.vault.cipher import KEY_BYTES, KeyRing, generate_key

KEY_FILE = "secret.key"
"""In the data directory, mode 0600, when `PQ_SECRET_KEY` is unset: the newest key first, older ones after it."""

ENVIRONMENT_VARIABLE = "PQ_SECRET_KEY"

MAX_KEY_FILE = 64 * 1024
"""A key file is a few lines; anything larger is not one."""

GENERATE_HINT = "generate one with `openssl rand -base64 32`"

_HEADER = (
    "# pipeline-queue repository secret keys (base64): the first seals new values, every one opens.\n"
    "# Keep this file mode 0600 and back it up with the database: without it the secrets cannot be read.\n"
)


@dataclass(frozen=True)
class KeySource:
    """Where a ring was read from, to name in messages: the variable, or the key file's path."""

    ring: KeyRing
    origin: str
    from_environment: bool


def load_key_ring(config: VaultConfig, *, data_dir: Path, create: bool = False) -> KeySource:
    """The configured keys: `PQ_SECRET_KEY`, else the key file, created with a new key when `create` allows."""
    if config.secret_key.strip():
        return KeySource(environment_ring(config.secret_key), ENVIRONMENT_VARIABLE, from_environment=True)
    path = key_file(data_dir)
    if not path.exists():
        if not create:
            raise VaultError(f"no secret key: {path} does not exist and {ENVIRONMENT_VARIABLE} is unset "
                             "(a key is created when the first secret is added)")
        return KeySource(_create_key_file(path), str(path), from_environment=False)
    return KeySource(read_key_file(path), str(path), from_environment=False)


def rotation_ring(config: VaultConfig, *, data_dir: Path) -> KeySource:
    """The ring to re-seal every value with: the key file gains a new first key (the old ones stay after it).

    Keys from `PQ_SECRET_KEY` cannot be changed from here: the operator puts a new key first (`NEW,OLD`) in every
    process's environment, and rotation re-seals under it; with a single key there is nothing to rotate to, which is
    a VaultError saying how to proceed.
    """
    if config.secret_key.strip():
        ring = environment_ring(config.secret_key)
        if len(ring.keys) < 2:
            raise VaultError(
                f"{ENVIRONMENT_VARIABLE} holds one key, and this command cannot change the environment: put a new key "
                f"first ({ENVIRONMENT_VARIABLE}=NEW,OLD; {GENERATE_HINT}) for every pipeline-queue process, then run "
                "`pipeline-queue secret rotate-key` again to re-seal every value with it"
            )
        return KeySource(ring, ENVIRONMENT_VARIABLE, from_environment=True)
    path = key_file(data_dir)
    return KeySource(add_key_to_file(path), str(path), from_environment=False)


def key_file(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def environment_ring(text: str) -> KeyRing:
    """The keys of `PQ_SECRET_KEY`: comma-separated, each 32 bytes in base64 or hex."""
    parts = [part.strip() for part in text.split(",")]
    return KeyRing(tuple(_decode(part, number, len(parts), source=ENVIRONMENT_VARIABLE)
                         for number, part in enumerate(parts, start=1)))


def read_key_file(path: Path) -> KeyRing:
    """The keys of a key file, refused when group or others may read or write it."""
    text = _read_private(path)
    lines = [line.strip() for line in text.splitlines()]
    keys = [line for line in lines if line and not line.startswith("#")]
    if not keys:
        raise VaultError(f"{path} holds no key: restore it from a backup, or remove it to start with a new key "
                         "(secrets sealed with the old key are then lost)")
    return KeyRing(tuple(_decode(key, number, len(keys), source=str(path)) for number, key in enumerate(keys, start=1)))


def write_key_file(path: Path, keys: tuple[bytes, ...], *, exclusive: bool = False) -> None:
    """Write the keys (mode 0600) so that a reader sees the old file or the new one, never half of one.

    With `exclusive`, an existing file is kept and FileExistsError raised (two processes creating it at once).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    body = _HEADER + "".join(base64.b64encode(key).decode("ascii") + "\n" for key in keys)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)
        else:
            temporary.replace(path)
        _sync_directory(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def add_key_to_file(path: Path) -> KeyRing:
    """Put a new key first in the key file, keeping the older ones after it; the new ring."""
    old = read_key_file(path).keys if path.exists() else ()
    ring = KeyRing((generate_key(), *old))
    write_key_file(path, ring.keys)
    return ring


def _create_key_file(path: Path) -> KeyRing:
    ring = KeyRing((generate_key(),))
    try:
        write_key_file(path, ring.keys, exclusive=True)
    except FileExistsError:
        return read_key_file(path)  # another process created it first: use its key
    return ring


def _read_private(path: Path) -> str:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise VaultError(f"cannot read the key file {path} ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise VaultError(f"the key file {path} is not a regular file")
        if status.st_mode & 0o077:
            raise VaultError(
                f"the key file {path} is open to group or others (mode {stat.S_IMODE(status.st_mode):04o}); it "
                f"opens every repository secret, so it is not used: run `chmod 600 {path}`"
            )
        raw = handle.read(MAX_KEY_FILE + 1)
    if len(raw) > MAX_KEY_FILE:
        raise VaultError(f"the key file {path} is larger than {MAX_KEY_FILE // 1024} KiB: it is not a key file")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise VaultError(f"the key file {path} is not text (one base64 key per line)") from None


def _decode(text: str, number: int, count: int, *, source: str) -> bytes:
    """One key from base64 (standard or URL-safe, padding optional) or hex; the error never repeats the text."""
    key = _from_hex(text) if len(text) == 2 * KEY_BYTES else _from_base64(text)
    if key is None or len(key) != KEY_BYTES:
        which = f"key {number} of {count}" if count > 1 else "the key"
        raise VaultError(f"{source}: {which} is not {KEY_BYTES} bytes written in base64 or hex ({GENERATE_HINT})")
    return key


def _from_hex(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return _from_base64(text)


def _from_base64(text: str) -> bytes | None:
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


def _sync_directory(directory: Path) -> None:
    # A renamed key file must survive a crash as surely as the values re-sealed under it.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
