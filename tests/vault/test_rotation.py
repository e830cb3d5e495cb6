"""Rotation seals every value again under the new key in one transaction; old ciphertexts keep opening until it
commits, and a value that does not open leaves everything as it was."""

from __future__ import annotations

import pytest

from pipeline_queue.errors import VaultError
from pipeline_queue.store import add_repository, all_sealed_secrets, all_sealed_webhook_secrets, put_secret
from pipeline_queue.store.engine import session_factory
from pipeline_queue.vault.cipher import KeyRing, key_id
from pipeline_queue.vault.repository import repository_secrets, seal_secret, seal_webhook_secret, webhook_secret
from pipeline_queue.vault.rotation import Resealed, reseal_all

OLD, NEW, STRANGER = bytes(range(32)), bytes(range(50, 82)), bytes(range(200, 232))
VALUES = {("acme/web", "token"): "web-token-1", ("acme/web", "npm"): "npm-token-2", ("acme/api", "token"): "api-3"}


def _store(sessions, ring: KeyRing) -> None:
    with sessions.begin() as session:
        for repo in ("acme/web", "acme/api", "acme/empty"):
            sealed = seal_webhook_secret(ring, repo, f"hook-of-{repo}") if repo != "acme/empty" else None
            add_repository(session, repo, webhook_secret=sealed)
        for (repo, name), value in VALUES.items():
            put_secret(session, repo, name, ciphertext=seal_secret(ring, repo, name, value))


def _opened(session, ring: KeyRing) -> dict:
    values = {(repo, secret.name): secret.value for repo in ("acme/web", "acme/api")
              for secret in repository_secrets(session, repo, ring=ring)}
    hooks = {repo: webhook_secret(session, repo, ring=ring) for repo in ("acme/web", "acme/api", "acme/empty")}
    return {"secrets": values, "hooks": hooks}


EXPECTED = {"secrets": VALUES, "hooks": {"acme/web": "hook-of-acme/web", "acme/api": "hook-of-acme/api",
                                         "acme/empty": None}}


def test_every_value_is_sealed_again_under_the_new_key_and_stays_readable(sessions):
    _store(sessions, KeyRing((OLD,)))
    rotated = KeyRing((NEW, OLD))
    with sessions.begin() as session:
        assert reseal_all(session, rotated) == Resealed(secrets=3, webhook_secrets=2)
    with sessions() as session:
        assert _opened(session, KeyRing((NEW,))) == EXPECTED
        headers = {sealed.ciphertext[1:5] for sealed in all_sealed_secrets(session)}
        headers |= {sealed.ciphertext[1:5] for sealed in all_sealed_webhook_secrets(session)}
    assert headers == {key_id(NEW)}


def test_old_ciphertexts_open_while_the_rotation_has_not_committed(sessions, engine):
    _store(sessions, KeyRing((OLD,)))
    rotated = KeyRing((NEW, OLD))
    readers = session_factory(engine, read_only=True)
    with sessions.begin() as session:
        reseal_all(session, rotated)
        with readers.begin() as reader:  # another process, say a worker starting a stage meanwhile
            assert _opened(reader, rotated) == EXPECTED
            assert _opened(reader, KeyRing((OLD,))) == EXPECTED
    with readers.begin() as reader:
        assert _opened(reader, rotated) == EXPECTED


def test_a_value_that_does_not_open_aborts_the_rotation_and_changes_nothing(sessions):
    _store(sessions, KeyRing((OLD,)))
    with sessions.begin() as session:
        put_secret(session, "acme/api", "foreign", ciphertext=seal_secret(KeyRing((STRANGER,)), "acme/api",
                                                                          "foreign", "sealed-elsewhere"))
    with sessions() as session:
        before = [sealed.ciphertext for sealed in all_sealed_secrets(session)]
    refused = "secret 'foreign' of acme/api was sealed with a key that is not among"
    with pytest.raises(VaultError, match=refused), sessions.begin() as session:
        reseal_all(session, KeyRing((NEW, OLD)))
    with sessions() as session:
        assert [sealed.ciphertext for sealed in all_sealed_secrets(session)] == before
