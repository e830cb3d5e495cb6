"""Where keys come from: PQ_SECRET_KEY in base64 or hex, else a key file created 0600 and refused when others may
read it; rotation puts a new key first and keeps the old ones."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from pipeline_queue.errors import VaultError
from pipeline_queue.settings import Settings, VaultConfig
from pipeline_queue.vault import keys
from pipeline_queue.vault.cipher import KeyRing, decrypt, encrypt, secret_binding

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
BINDING = secret_binding("octo/hello", "token")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _environment(text: str) -> VaultConfig:
    return Settings.from_env({"PQ_SECRET_KEY": text}).vault


@pytest.mark.parametrize("text", [
    base64.b64encode(KEY_A).decode(),
    base64.urlsafe_b64encode(KEY_A).decode().rstrip("="),
    KEY_A.hex(),
    KEY_A.hex().upper(),
    f"  {KEY_A.hex()}  ",
])
def test_the_environment_key_is_base64_or_hex(text, tmp_path):
    source = keys.load_key_ring(_environment(text), data_dir=tmp_path)
    assert source.ring.keys == (KEY_A,)
    assert source.from_environment and source.origin == "PQ_SECRET_KEY"
    assert not (tmp_path / keys.KEY_FILE).exists()


def test_several_environment_keys_seal_with_the_first():
    ring = keys.environment_ring(f"{base64.b64encode(KEY_B).decode()}, {KEY_A.hex()}")
    assert ring.keys == (KEY_B, KEY_A)


@pytest.mark.parametrize(("text", "which"), [
    ("not-a-key", "the key"),
    (base64.b64encode(b"x" * 16).decode(), "the key"),
    ("zz" * 32, "the key"),
    (f"{KEY_A.hex()},", "key 2 of 2"),
    (f"{KEY_A.hex()},short-one", "key 2 of 2"),
])
def test_a_bad_environment_key_names_the_variable_and_never_repeats_it(text, which, tmp_path):
    with pytest.raises(VaultError) as raised:
        keys.load_key_ring(_environment(text), data_dir=tmp_path)
    message = str(raised.value)
    assert message.startswith(f"PQ_SECRET_KEY: {which} is not 32 bytes written in base64 or hex")
    for part in text.split(","):
        if part:
            assert part not in message


def test_settings_never_show_the_key():
    settings = Settings.from_env({"PQ_SECRET_KEY": KEY_A.hex()})
    assert settings.vault.secret_key == KEY_A.hex()
    assert KEY_A.hex() not in repr(settings) and KEY_A.hex() not in str(settings)
    assert Settings.from_env({}).vault.secret_key == ""


def test_the_key_file_is_created_0600_on_first_use_and_kept(tmp_path):
    data_dir = tmp_path / "data"
    previous = os.umask(0)  # even a permissive umask must not widen the file
    try:
        first = keys.load_key_ring(VaultConfig(), data_dir=data_dir, create=True)
    finally:
        os.umask(previous)
    path = data_dir / keys.KEY_FILE
    assert first.origin == str(path) and not first.from_environment
    assert _mode(path) == 0o600
    assert len(first.ring.keys) == 1
    again = keys.load_key_ring(VaultConfig(), data_dir=data_dir)
    assert again.ring == first.ring
    assert [name for name in os.listdir(data_dir) if name != keys.KEY_FILE] == []  # no temporary file left


def test_without_a_key_file_reading_is_a_clear_error(tmp_path):
    with pytest.raises(VaultError, match=r"no secret key: .*secret\.key does not exist and PQ_SECRET_KEY is unset"):
        keys.load_key_ring(VaultConfig(), data_dir=tmp_path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_key_file_others_may_read_or_write_is_refused(tmp_path, mode):
    path = tmp_path / keys.KEY_FILE
    keys.write_key_file(path, (KEY_A,))
    path.chmod(mode)
    with pytest.raises(VaultError) as raised:
        keys.load_key_ring(VaultConfig(), data_dir=tmp_path)
    message = str(raised.value)
    assert f"open to group or others (mode {mode:04o})" in message and f"chmod 600 {path}" in message
    assert base64.b64encode(KEY_A).decode() not in message


def test_a_key_file_is_read_with_comments_and_the_newest_key_first(tmp_path):
    path = tmp_path / keys.KEY_FILE
    path.write_text(f"# mine\n\n{base64.b64encode(KEY_B).decode()}\n{KEY_A.hex()}\n")
    path.chmod(0o600)
    assert keys.read_key_file(path).keys == (KEY_B, KEY_A)


def test_a_damaged_key_file_is_named_without_its_content(tmp_path):
    path = tmp_path / keys.KEY_FILE
    path.write_text("# only a comment\n")
    path.chmod(0o600)
    with pytest.raises(VaultError, match="holds no key"):
        keys.read_key_file(path)
    path.write_text("garbage-that-is-no-key\n")
    with pytest.raises(VaultError) as raised:
        keys.read_key_file(path)
    assert "is not 32 bytes" in str(raised.value) and "garbage" not in str(raised.value)


def test_creating_a_key_file_that_exists_keeps_the_first(tmp_path):
    path = tmp_path / keys.KEY_FILE
    keys.write_key_file(path, (KEY_A,), exclusive=True)
    with pytest.raises(FileExistsError):
        keys.write_key_file(path, (KEY_B,), exclusive=True)
    assert keys.read_key_file(path).keys == (KEY_A,)


def test_rotating_the_key_file_puts_a_new_key_first_and_keeps_the_old(tmp_path):
    first = keys.load_key_ring(VaultConfig(), data_dir=tmp_path, create=True).ring
    sealed = encrypt(first, b"value", BINDING)
    rotated = keys.rotation_ring(VaultConfig(), data_dir=tmp_path)
    assert rotated.ring.keys[1:] == first.keys and rotated.ring.primary not in first.keys
    assert keys.load_key_ring(VaultConfig(), data_dir=tmp_path).ring == rotated.ring
    assert _mode(tmp_path / keys.KEY_FILE) == 0o600
    assert decrypt(rotated.ring, sealed, BINDING) == b"value"
    assert len(keys.rotation_ring(VaultConfig(), data_dir=tmp_path).ring.keys) == 3


def test_rotating_environment_keys_needs_a_new_key_put_first(tmp_path):
    with pytest.raises(VaultError) as raised:
        keys.rotation_ring(_environment(KEY_A.hex()), data_dir=tmp_path)
    message = str(raised.value)
    assert "PQ_SECRET_KEY holds one key" in message and "PQ_SECRET_KEY=NEW,OLD" in message
    assert KEY_A.hex() not in message
    source = keys.rotation_ring(_environment(f"{KEY_B.hex()},{KEY_A.hex()}"), data_dir=tmp_path)
    assert source.ring == KeyRing((KEY_B, KEY_A)) and source.from_environment
    assert not (tmp_path / keys.KEY_FILE).exists()
