"""What the worker and the producer read: a repository's secrets opened with the key ring, narrowed for pull
requests; and what the database holds is never a plaintext."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pipeline_queue.errors import VaultError
from pipeline_queue.store import add_repository, create_repository_if_missing, put_secret
from pipeline_queue.vault.cipher import KeyRing
from pipeline_queue.vault.repository import (
    OpenedSecret,
    repository_secrets,
    seal_secret,
    seal_webhook_secret,
    secrets_for_build,
    webhook_secret,
)

RING = KeyRing((bytes(range(32)),))
OTHER_RING = KeyRing((bytes(range(1, 33)),))
VALUES = {"docker_password": "hunter2-but-longer", "deploy_token": "tok-3f9a1c0e", "public_ci": "for-forks-too"}
WEBHOOK = "webhook-secret-value-Zq81"


@pytest.fixture
def stored(sessions):
    with sessions.begin() as session:
        add_repository(session, "octo/hello", webhook_secret=seal_webhook_secret(RING, "octo/hello", WEBHOOK))
        for name, value in VALUES.items():
            put_secret(session, "octo/hello", name, ciphertext=seal_secret(RING, "octo/hello", name, value),
                       allow_pull_request=name == "public_ci")
    return sessions


def test_a_repository_s_secrets_open_with_their_flags(stored):
    with stored() as session:
        opened = repository_secrets(session, "octo/hello", ring=RING)
        hook = webhook_secret(session, "octo/hello", ring=RING)
    assert opened == tuple(OpenedSecret(name=name, value=VALUES[name], allow_pull_request=name == "public_ci")
                           for name in sorted(VALUES))
    assert hook == WEBHOOK
    assert all(secret.value not in repr(secret) for secret in opened)


def test_a_pull_request_gets_only_the_secrets_that_allow_it(stored):
    with stored() as session:
        opened = repository_secrets(session, "octo/hello", ring=RING)
    assert secrets_for_build(opened, pull_request=False) == VALUES
    assert secrets_for_build(opened, pull_request=True) == {"public_ci": VALUES["public_ci"]}


def test_a_repository_nobody_registered_has_no_secrets_to_open(sessions):
    with sessions.begin() as session:
        create_repository_if_missing(session, "octo/local")
        assert repository_secrets(session, "octo/local", ring=RING) == ()
        assert repository_secrets(session, "octo/unknown", ring=RING) == ()


def test_the_database_holds_no_plaintext(stored, engine):
    with engine.connect() as connection:
        rows = [tuple(row) for table in ("secrets", "repositories")
                for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]
    dumped = repr(rows).encode() + b"".join(bytes(cell) for row in rows for cell in row
                                            if isinstance(cell, bytes | memoryview))
    for value in (*VALUES.values(), WEBHOOK):
        assert value.encode() not in dumped
    assert b"docker_password" in dumped  # names are stored in the clear: this is where a leak would show


def test_a_ciphertext_copied_into_another_row_does_not_open(stored, engine):
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'docker_password') "
            "WHERE name = 'public_ci'"))
    with stored() as session, pytest.raises(VaultError) as raised:
        repository_secrets(session, "octo/hello", ring=RING)
    assert str(raised.value) == ("secret 'public_ci' of octo/hello does not open with its key: it was altered, or "
                                 "copied from another row")


def test_a_secret_copied_into_the_webhook_column_does_not_open(stored, engine):
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE repositories SET webhook_secret = (SELECT ciphertext FROM secrets WHERE name = 'deploy_token')"))
    with stored() as session, pytest.raises(VaultError, match="the webhook secret of octo/hello does not open"):
        webhook_secret(session, "octo/hello", ring=RING)


def test_a_wrong_key_is_a_clear_error_naming_the_row_only(stored):
    with stored() as session, pytest.raises(VaultError) as raised:
        repository_secrets(session, "octo/hello", ring=OTHER_RING)
    message = str(raised.value)
    assert message.startswith("secret 'deploy_token' of octo/hello was sealed with a key that is not among")
    assert not any(value in message for value in VALUES.values())
