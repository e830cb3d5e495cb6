"""The cipher, checked against AES-GCM as the cryptography package does it and the sealed format as documented."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pipeline_queue.errors import PipelineQueueError, VaultError
from pipeline_queue.vault.cipher import (
    KeyRing,
    decrypt,
    encrypt,
    generate_key,
    reseal,
    secret_binding,
    webhook_binding,
)
from tests.conftest import ROOT

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
VALUE = b"correct horse battery staple"
TOKEN = secret_binding("octo/hello", "token")


def _key_id(key: bytes) -> bytes:
    # Written from the module's documented format, not from its code.
    return hashlib.sha256(b"pipeline-queue key id\x00" + key).digest()[:4]


def _shown(error: BaseException) -> str:
    return str(error) + repr(error)


def test_a_sealed_value_has_the_documented_layout_and_opens_with_plain_aes_gcm():
    sealed = encrypt(KeyRing((KEY_A,)), VALUE, TOKEN)
    assert sealed[0] == 1
    assert sealed[1:5] == _key_id(KEY_A)
    assert len(sealed) == 1 + 4 + 12 + len(VALUE) + 16
    nonce, body = sealed[5:17], sealed[17:]
    assert AESGCM(KEY_A).decrypt(nonce, body, sealed[:5] + b"octo/hello\x00token") == VALUE


def test_every_seal_takes_a_fresh_nonce():
    ring = KeyRing((KEY_A,))
    sealed = {encrypt(ring, VALUE, TOKEN) for _ in range(50)}
    assert len(sealed) == 50
    assert len({value[5:17] for value in sealed}) == 50
    assert all(decrypt(ring, value, TOKEN) == VALUE for value in sealed)


def test_the_webhook_binding_is_distinct_from_any_secret_name():
    assert webhook_binding("octo/hello").data == b"octo/hello\x00:webhook"
    assert secret_binding("octo/hello", "webhook").data == b"octo/hello\x00webhook"


@pytest.mark.parametrize("other", [
    secret_binding("octo/hello", "token2"),
    secret_binding("octo/other", "token"),
    secret_binding("octo/hello", "webhook"),
    webhook_binding("octo/hello"),
])
def test_a_ciphertext_moved_to_another_row_does_not_open(other):
    ring = KeyRing((KEY_A,))
    sealed = encrypt(ring, VALUE, TOKEN)
    with pytest.raises(VaultError, match="does not open with its key: it was altered, or copied") as raised:
        decrypt(ring, sealed, other)
    assert str(other) in str(raised.value)


def test_a_webhook_secret_does_not_open_as_a_secret_named_webhook():
    ring = KeyRing((KEY_A,))
    sealed = encrypt(ring, VALUE, webhook_binding("octo/hello"))
    with pytest.raises(VaultError):
        decrypt(ring, sealed, secret_binding("octo/hello", "webhook"))


def test_a_wrong_key_is_a_clear_error_that_shows_nothing_secret():
    sealed = encrypt(KeyRing((KEY_A,)), VALUE, TOKEN)
    with pytest.raises(VaultError) as raised:
        decrypt(KeyRing((KEY_B,)), sealed, TOKEN)
    message = _shown(raised.value)
    assert "secret 'token' of octo/hello was sealed with a key that is not among the 1 configured" in message
    assert "PQ_SECRET_KEY" in message
    assert isinstance(raised.value, PipelineQueueError) and raised.value.exit_code == 1
    for forbidden in (VALUE.decode(), KEY_A.hex(), KEY_B.hex(), base64.b64encode(KEY_A).decode(), sealed.hex(),
                      base64.b64encode(sealed).decode(), _key_id(KEY_A).hex()):
        assert forbidden not in message


@pytest.mark.parametrize(("position", "reason"), [(0, "format"), (3, "not among"), (9, "altered"), (-1, "altered")])
def test_an_edited_byte_anywhere_is_refused(position, reason):
    ring = KeyRing((KEY_A,))
    sealed = bytearray(encrypt(ring, VALUE, TOKEN))
    sealed[position] ^= 0x01
    with pytest.raises(VaultError, match=reason):
        decrypt(ring, bytes(sealed), TOKEN)


def test_a_truncated_value_is_refused():
    with pytest.raises(VaultError, match="too short"):
        decrypt(KeyRing((KEY_A,)), encrypt(KeyRing((KEY_A,)), b"", TOKEN)[:20], TOKEN)


def test_after_a_rotation_both_keys_open_and_reseal_moves_a_value_to_the_first():
    old = encrypt(KeyRing((KEY_A,)), VALUE, TOKEN)
    rotated = KeyRing((KEY_B, KEY_A))
    assert decrypt(rotated, old, TOKEN) == VALUE
    fresh = reseal(rotated, old, TOKEN)
    assert fresh[1:5] == _key_id(KEY_B)
    assert decrypt(KeyRing((KEY_B,)), fresh, TOKEN) == VALUE
    with pytest.raises(VaultError):
        decrypt(KeyRing((KEY_A,)), fresh, TOKEN)


def _two_keys_with_one_id() -> tuple[bytes, bytes]:
    seen: dict[bytes, bytes] = {}
    for number in range(1 << 20):  # a 32-bit id collides after some 77,000 keys
        key = number.to_bytes(32, "big")
        found = seen.setdefault(_key_id(key), key)
        if found != key:
            return found, key
    raise AssertionError("no two keys share an id")


def test_keys_that_share_an_id_are_all_tried_in_order():
    first, second = _two_keys_with_one_id()
    sealed = encrypt(KeyRing((second,)), VALUE, TOKEN)
    assert decrypt(KeyRing((first, second)), sealed, TOKEN) == VALUE
    with pytest.raises(VaultError, match="does not open with its key"):
        decrypt(KeyRing((first,)), sealed, TOKEN)


def test_a_key_ring_never_shows_its_keys_and_refuses_keys_of_another_size():
    ring = KeyRing((KEY_A, generate_key()))
    assert repr(ring) == "KeyRing(2 keys)"
    assert KEY_A.hex() not in repr(ring) and str(KEY_A) not in str(ring)
    with pytest.raises(VaultError, match="key 2 of the key ring is 16 bytes, not 32"):
        KeyRing((KEY_A, b"x" * 16))
    with pytest.raises(VaultError, match="at least one key"):
        KeyRing(())
    assert len(generate_key()) == 32 and generate_key() != generate_key()


def test_the_cipher_loads_no_database_or_cluster_library():
    code = "import json, sys, pipeline_queue.vault.cipher; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout)
    io = ("sqlalchemy", "psycopg", "kubernetes", "redis", "celery", "kombu", "alembic")
    assert [name for name in loaded if name.split(".")[0] in io] == []
    assert "pipeline_queue.store" not in loaded
