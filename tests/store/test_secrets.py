"""Repository secrets in the store: put adds or replaces, listing shows no value, names follow Drone's rules, and
what is stored is exactly the ciphertext given (the vault seals; the store never sees a plaintext)."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from pipeline_queue import store
from pipeline_queue.errors import UsageError

SECRET_WORDS = {"password", "passwd", "pass", "token", "auth", "value", "ciphertext", "data", "plaintext"}


@pytest.fixture
def registered(sessions):
    with sessions.begin() as session:
        store.add_repository(session, "octo/hello")
        store.add_repository(session, "octo/other")
    return sessions


def test_a_secret_record_has_no_field_that_could_hold_a_value():
    names = {field.name for field in dataclasses.fields(store.SecretRecord)}
    assert names == {"repo", "name", "allow_pull_request", "created", "updated"}
    assert not any(SECRET_WORDS & set(name.split("_")) for name in names)


def test_putting_adds_then_replaces_value_and_flag(registered):
    with registered.begin() as session:
        added = store.put_secret(session, "octo/hello", "docker_password", ciphertext=b"first", allow_pull_request=True)
    with registered.begin() as session:
        replaced = store.put_secret(session, "octo/hello", "docker_password", ciphertext=b"second")
    assert added.created is True and replaced.created is False
    assert added.secret.allow_pull_request is True and replaced.secret.allow_pull_request is False
    assert replaced.secret.created == added.secret.created and replaced.secret.updated > added.secret.updated
    with registered() as session:
        [sealed] = store.sealed_secrets(session, "octo/hello")
    assert sealed == store.SealedSecret(repo="octo/hello", name="docker_password", allow_pull_request=False,
                                        ciphertext=b"second")


def test_the_store_keeps_exactly_the_ciphertext_it_is_given(registered):
    sealed = bytes(range(256))
    with registered.begin() as session:
        store.put_secret(session, "octo/hello", "token", ciphertext=sealed)
    with registered() as session:
        stored = session.execute(sa.text("SELECT ciphertext FROM secrets")).scalar_one()
    assert bytes(stored) == sealed


def test_secrets_are_listed_by_name_per_repository(registered):
    with registered.begin() as session:
        for name in ("zeta", "alpha", "mid/dle"):
            store.put_secret(session, "octo/hello", name, ciphertext=b"x")
        store.put_secret(session, "octo/other", "alpha", ciphertext=b"y", allow_pull_request=True)
    with registered() as session:
        listed = store.list_secrets(session, "octo/hello")
        other = store.list_secrets(session, "octo/other")
        everything = store.all_sealed_secrets(session)
    assert [secret.name for secret in listed] == ["alpha", "mid/dle", "zeta"]
    assert {secret.repo for secret in listed} == {"octo/hello"}
    assert [(secret.name, secret.allow_pull_request) for secret in other] == [("alpha", True)]
    assert [(sealed.repo, sealed.name) for sealed in everything] == [
        ("octo/hello", "alpha"), ("octo/hello", "mid/dle"), ("octo/hello", "zeta"), ("octo/other", "alpha")]


def test_a_sealed_secret_keeps_its_ciphertext_out_of_its_repr():
    sealed = store.SealedSecret(repo="octo/hello", name="token", allow_pull_request=False, ciphertext=b"\x01opaque")
    assert "opaque" not in repr(sealed) and "ciphertext" not in repr(sealed)


def test_removing_a_secret(registered):
    with registered.begin() as session:
        store.put_secret(session, "octo/hello", "token", ciphertext=b"x")
        store.put_secret(session, "octo/hello", "keep", ciphertext=b"x")
    with registered.begin() as session:
        assert store.remove_secret(session, "octo/hello", "token").name == "token"
    with registered.begin() as session:
        assert [secret.name for secret in store.list_secrets(session, "octo/hello")] == ["keep"]
        with pytest.raises(UsageError, match="octo/hello has no secret 'token'"):
            store.remove_secret(session, "octo/hello", "token")


def test_a_repository_nobody_registered_has_no_secrets(sessions):
    with sessions.begin() as session:
        store.create_repository_if_missing(session, "octo/local")
    for slug in ("octo/local", "octo/unknown"):
        with sessions.begin() as session:
            with pytest.raises(UsageError, match=f"repository {slug} is not registered"):
                store.put_secret(session, slug, "token", ciphertext=b"x")
            with pytest.raises(UsageError, match="not registered"):
                store.list_secrets(session, slug)
            assert store.sealed_secrets(session, slug) == []


@pytest.mark.parametrize("name", ["DOCKER_PASSWORD", "docker-password", "a.b", "path/to/secret", "x", "9", "n" * 255])
def test_drone_secret_names(name):
    assert store.validate_secret_name(name) == name


@pytest.mark.parametrize(("name", "message"), [
    ("", "may hold only"),
    ("has space", "may hold only"),
    ("colon:name", "may hold only"),
    ("ünïcode", "may hold only"),
    ("new\nline", "may hold only"),
    ("n" * 256, "at most 255 characters, not 256"),
])
def test_other_secret_names_are_refused(registered, name, message):
    with pytest.raises(UsageError, match=message):
        store.validate_secret_name(name)
    with registered.begin() as session, pytest.raises(UsageError, match=message):
        store.put_secret(session, "octo/hello", name, ciphertext=b"x")


def test_resealing_replaces_only_the_ciphertext_it_read(registered):
    with registered.begin() as session:
        store.put_secret(session, "octo/hello", "token", ciphertext=b"old")
    with registered.begin() as session:
        [read] = store.sealed_secrets(session, "octo/hello")
        store.put_secret(session, "octo/hello", "token", ciphertext=b"written meanwhile")
        assert store.reseal_secret(session, read, b"resealed") is False
        [current] = store.sealed_secrets(session, "octo/hello")
        assert current.ciphertext == b"written meanwhile"
        assert store.reseal_secret(session, current, b"resealed") is True
        [after] = store.sealed_secrets(session, "octo/hello")
    assert after.ciphertext == b"resealed"
