"""Repositories as records: registering (also a row earlier builds created), reading, listing, updating, removing
(refused while a build is unfinished), slug and setting checks, and the migration of rows that existed before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from pipeline_queue.errors import UsageError
from pipeline_queue.store import (
    RepositoryRecord,
    add_repository,
    create_build,
    create_repository_if_missing,
    finish_build,
    get_repository,
    list_builds,
    list_repositories,
    list_secrets,
    put_secret,
    remove_repository,
    sealed_webhook_secret,
    update_repository,
    validate_slug,
)
from pipeline_queue.store.migrate import alembic_config
from tests.store.builders import new_build

SEALED = b"\x01sealed-webhook-secret-bytes"


def test_a_registered_repository_has_its_settings_and_defaults(sessions):
    with sessions.begin() as session:
        added = add_repository(session, "octo/hello", webhook_secret=SEALED)
        custom = add_repository(session, "octo/deploy", trusted=True, clone_url="https://git.example.com/octo/d.git",
                                config_path="ci/pipeline.yml", namespace="ci-deploy")
    assert (added.slug, added.registered, added.trusted, added.clone_url) == ("octo/hello", True, False, "")
    assert (added.config_path, added.namespace, added.has_webhook_secret) == (".drone.yml", "", True)
    assert added.created == added.updated and added.created.tzinfo is not None
    assert (custom.trusted, custom.clone_url, custom.config_path, custom.namespace, custom.has_webhook_secret) == (
        True, "https://git.example.com/octo/d.git", "ci/pipeline.yml", "ci-deploy", False)
    with sessions() as session:
        assert get_repository(session, "octo/hello") == added
        assert sealed_webhook_secret(session, "octo/hello").ciphertext == SEALED
        assert sealed_webhook_secret(session, "octo/deploy") is None


def test_a_record_carries_no_webhook_secret():
    assert "webhook_secret" not in {field.name for field in dataclasses.fields(RepositoryRecord)}
    assert "has_webhook_secret" in {field.name for field in dataclasses.fields(RepositoryRecord)}


def test_adding_a_registered_repository_again_is_refused(sessions):
    with sessions.begin() as session:
        add_repository(session, "octo/hello")
    with sessions.begin() as session, pytest.raises(UsageError, match="octo/hello is already registered"):
        add_repository(session, "octo/hello", trusted=True)


def test_a_repository_builds_created_is_unregistered_and_adding_it_keeps_its_builds(sessions):
    with sessions.begin() as session:
        build = create_build(session, new_build("octo/local"), stages=[]).build
        implicit = create_repository_if_missing(session, "octo/local")
    assert implicit.registered is False and implicit.trusted is False and implicit.has_webhook_secret is False
    with sessions.begin() as session:
        assert list_repositories(session) == []
        assert [record.slug for record in list_repositories(session, include_unregistered=True)] == ["octo/local"]
        registered = add_repository(session, "octo/local", trusted=True)
    assert registered.id == implicit.id and registered.registered and registered.created == implicit.created
    with sessions() as session:
        assert [b.id for b in list_builds(session, repo="octo/local")] == [build.id]
        assert create_repository_if_missing(session, "octo/local").registered is True


def test_repositories_are_listed_by_slug(sessions):
    with sessions.begin() as session:
        for slug in ("zeta/app", "acme/web", "acme/api"):
            add_repository(session, slug)
    with sessions() as session:
        assert [record.slug for record in list_repositories(session)] == ["acme/api", "acme/web", "zeta/app"]
        assert get_repository(session, "nobody/here") is None


@pytest.mark.parametrize("slug", ["", "octo", "octo/", "/hello", "octo/hello/", "octo hello/x", "octo/he llo",
                                  "ünï/code", "octo/hello\n", "octo//hello", "octo:1/x", "a/" + "b" * 300])
def test_a_slug_is_parts_of_letters_digits_dot_dash_underscore(sessions, slug):
    with pytest.raises(UsageError, match="is not owner/name") as raised:
        validate_slug(slug)
    assert repr(slug) in str(raised.value)
    with sessions.begin() as session, pytest.raises(UsageError, match="is not owner/name"):
        add_repository(session, slug)


def test_gitlab_s_nested_groups_are_a_slug(sessions):
    with sessions.begin() as session:
        added = add_repository(session, "platform/tools/deployer")
    assert validate_slug("platform/tools/deployer") == added.slug == "platform/tools/deployer"


@pytest.mark.parametrize("slug", ["octo/hello", "Octo-Cat/hello.world", "a_b/c-d.e", "0/9"])
def test_valid_slugs(slug):
    assert validate_slug(slug) == slug


def test_an_update_changes_only_the_given_settings(sessions):
    with sessions.begin() as session:
        before = add_repository(session, "octo/hello", clone_url="git@github.com:octo/hello.git", namespace="ci")
    with sessions.begin() as session:
        trusted = update_repository(session, "octo/hello", trusted=True)
        moved = update_repository(session, "octo/hello", config_path=".ci/drone.yml", namespace="",
                                  webhook_secret=SEALED)
        unchanged = update_repository(session, "octo/hello")
    assert (trusted.trusted, trusted.clone_url, trusted.namespace) == (True, "git@github.com:octo/hello.git", "ci")
    assert trusted.updated > before.updated and trusted.created == before.created
    assert (moved.trusted, moved.config_path, moved.namespace, moved.has_webhook_secret) == (
        True, ".ci/drone.yml", "", True)
    assert unchanged == moved


def test_updating_a_repository_nobody_registered_is_refused(sessions):
    with sessions.begin() as session:
        create_repository_if_missing(session, "octo/local")
    for slug in ("octo/local", "octo/unknown"):
        with sessions.begin() as session, pytest.raises(UsageError, match=f"{slug} is not registered: add it with"):
            update_repository(session, slug, trusted=True)


@pytest.mark.parametrize(("settings", "message"), [
    ({"namespace": "CI_Builds"}, "is not a Kubernetes namespace"),
    ({"namespace": "x" * 64}, "is not a Kubernetes namespace"),
    ({"config_path": "../outside.yml"}, "is not a relative path"),
    ({"config_path": "/etc/drone.yml"}, "is not a relative path"),
    ({"config_path": ""}, "is not a relative path"),
    ({"clone_url": "ftp://example.com/x.git"}, "is not a git URL"),
    ({"clone_url": "https://example.com/a b.git"}, "is not a git URL"),
    ({"clone_url": "https://[::1/x.git"}, "is not a git URL"),
])
def test_settings_are_checked(sessions, settings, message):
    with sessions.begin() as session, pytest.raises(UsageError, match=message):
        add_repository(session, "octo/hello", **settings)


@pytest.mark.parametrize("url", ["https://ci:s3cr3t-t0ken@git.example.com/octo/hello.git",
                                 "https://s3cr3t-t0ken@github.com/octo/hello.git",
                                 "ssh://git:s3cr3t-t0ken@git.example.com/octo/hello.git"])
def test_a_clone_url_with_credentials_is_refused_without_showing_them(sessions, url):
    with sessions.begin() as session, pytest.raises(UsageError, match="carries credentials") as raised:
        add_repository(session, "octo/hello", clone_url=url)
    assert "s3cr3t-t0ken" not in str(raised.value)


@pytest.mark.parametrize("url", ["https://github.com/octo/hello.git", "ssh://git@git.example.com:2222/octo/h.git",
                                 "git@github.com:octo/hello.git", "file:///srv/git/hello.git", "git://host/x.git"])
def test_git_urls_are_accepted(sessions, url):
    with sessions.begin() as session:
        assert add_repository(session, "octo/hello", clone_url=url).clone_url == url


def test_removal_is_refused_while_a_build_is_unfinished(sessions):
    with sessions.begin() as session:
        add_repository(session, "octo/hello", webhook_secret=SEALED)
        put_secret(session, "octo/hello", "token", ciphertext=b"\x01sealed")
        pending = create_build(session, new_build("octo/hello"), stages=[]).build
    with sessions.begin() as session, pytest.raises(UsageError) as raised:
        remove_repository(session, "octo/hello")
    assert str(raised.value) == (
        f"repository octo/hello has 1 unfinished build(s) (ids {pending.id}): cancel them with "
        "`pipeline-queue build cancel ID` or let them finish, then remove it")
    with sessions() as session:
        assert [secret.name for secret in list_secrets(session, "octo/hello")] == ["token"]


def test_a_removed_repository_loses_its_secrets_and_keeps_its_finished_builds(sessions):
    with sessions.begin() as session:
        add_repository(session, "octo/hello", trusted=True, namespace="ci", webhook_secret=SEALED)
        put_secret(session, "octo/hello", "token", ciphertext=b"\x01sealed")
        put_secret(session, "octo/hello", "other", ciphertext=b"\x01sealed")
        build = create_build(session, new_build("octo/hello"), stages=[]).build
        finish_build(session, build.id)
    with sessions.begin() as session:
        removed = remove_repository(session, "octo/hello")
    assert (removed.slug, removed.secrets_deleted, removed.builds_kept) == ("octo/hello", 2, 1)
    with sessions.begin() as session:
        record = get_repository(session, "octo/hello")
        assert record is not None and record.registered is False
        assert (record.trusted, record.namespace, record.has_webhook_secret) == (False, "", False)
        assert [b.id for b in list_builds(session, repo="octo/hello")] == [build.id]
        assert session.execute(sa.text("SELECT count(*) FROM secrets")).scalar_one() == 0
        with pytest.raises(UsageError, match="not registered"):
            list_secrets(session, "octo/hello")
        again = add_repository(session, "octo/hello")
    assert again.registered and again.id == record.id and again.trusted is False


def test_a_removed_repository_without_builds_is_gone(sessions):
    with sessions.begin() as session:
        add_repository(session, "octo/hello")
    with sessions.begin() as session:
        assert remove_repository(session, "octo/hello").builds_kept == 0
    with sessions.begin() as session:
        assert get_repository(session, "octo/hello") is None
        with pytest.raises(UsageError, match="octo/hello is not registered"):
            remove_repository(session, "octo/hello")


def test_rows_from_before_the_migration_become_unregistered_repositories(engine):
    config = alembic_config()
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO repositories (slug, created) VALUES ('octo/old', :created)"),
                           {"created": created if engine.dialect.name != "sqlite" else created.replace(tzinfo=None)})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        row = connection.execute(sa.text(
            "SELECT registered, trusted, clone_url, config_path, namespace, webhook_secret, created, updated "
            "FROM repositories WHERE slug = 'octo/old'")).one()
    assert tuple(row)[:6] == (False, False, "", ".drone.yml", "", None)
    assert row.updated == row.created
