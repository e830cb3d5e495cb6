"""`repo add|list|show|update|remove` as a user runs them: the JSON contracts, the webhook secret shown only when
asked for and never stored in the clear, and removal refused while a build is unfinished."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from pipeline_queue import store
from pipeline_queue.store import NewBuild
from tests.conftest import run_cli

LIST_KEYS = ["slug", "registered", "trusted", "clone_url", "config_path", "namespace", "created", "updated"]
SHOW_KEYS = [*LIST_KEYS, "has_webhook_secret", "secrets"]
KEY_A = "00" * 32
KEY_B = "11" * 32


def env_for(data_dir: Path, **variables: str) -> dict[str, str]:
    """This process's environment pointed at `data_dir`, with no database, broker or key of its own."""
    drop = ("DATABASE_URL", "PQ_SECRET_KEY", "REDIS_URL", "KUBECONFIG")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "PQ_DATA_DIR": str(data_dir), **variables}


def pq(data_dir: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env_for(data_dir, **variables))


def never_shown(results: Iterable[subprocess.CompletedProcess[str]], *values: str) -> None:
    for result in results:
        for value in values:
            assert value not in result.stdout and value not in result.stderr, (result.args, value)


def raw_database(data_dir: Path) -> bytes:
    """Every byte SQLite keeps for the store: the file, its write-ahead log and its index."""
    files = [data_dir / f"{store.engine.DATABASE_FILE}{suffix}" for suffix in ("", "-wal", "-shm")]
    return b"".join(path.read_bytes() for path in files if path.exists())


def added_webhook_secret(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    [secret] = re.findall(r"^webhook secret: (\S+)$", result.stdout, flags=re.MULTILINE)
    return secret


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_add_shows_the_webhook_secret_once_and_show_only_when_asked(data_dir):
    added = pq(data_dir, "repo", "add", "octo/hello")
    secret = added_webhook_secret(added)
    assert len(secret) >= 43  # token_urlsafe(32)
    assert "shown only now" in added.stdout
    assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600
    listed, shown, table = (pq(data_dir, "repo", "list", "--json"), pq(data_dir, "repo", "show", "octo/hello",
                            "--json"), pq(data_dir, "repo", "show", "octo/hello"))
    never_shown([listed, shown, table], secret)
    [row] = json.loads(listed.stdout)
    assert list(row) == LIST_KEYS
    document = json.loads(shown.stdout)
    assert list(document) == SHOW_KEYS and document["has_webhook_secret"] is True and document["secrets"] == []
    asked = pq(data_dir, "repo", "show", "octo/hello", "--json", "--webhook-secret")
    assert json.loads(asked.stdout) == {**document, "webhook_secret": secret}
    assert f"webhook secret: {secret}" in pq(data_dir, "repo", "show", "octo/hello", "--webhook-secret").stdout
    assert secret.encode() not in raw_database(data_dir)


def test_repositories_are_added_listed_updated_and_removed(data_dir):
    added = pq(data_dir, "repo", "add", "octo/deploy", "--trusted", "--clone-url", "git@github.com:octo/deploy.git",
               "--config-path", "ci/drone.yml", "--namespace", "ci-deploy")
    assert "repository octo/deploy registered (trusted)" in added.stdout
    pq(data_dir, "repo", "add", "acme/web")
    [web, deploy] = json.loads(pq(data_dir, "repo", "list", "--json").stdout)
    assert {key: deploy[key] for key in LIST_KEYS[:6]} == {
        "slug": "octo/deploy", "registered": True, "trusted": True, "clone_url": "git@github.com:octo/deploy.git",
        "config_path": "ci/drone.yml", "namespace": "ci-deploy"}
    assert (web["trusted"], web["config_path"], web["namespace"]) == (False, ".drone.yml", "")
    updated = pq(data_dir, "repo", "update", "octo/deploy", "--untrusted", "--namespace", "")
    assert updated.returncode == 0 and updated.stdout.strip() == "repository octo/deploy updated: trusted, namespace"
    after = json.loads(pq(data_dir, "repo", "show", "octo/deploy", "--json").stdout)
    assert (after["trusted"], after["namespace"], after["config_path"]) == (False, "", "ci/drone.yml")
    assert after["created"] == deploy["created"] and after["updated"] > deploy["updated"]
    removed = pq(data_dir, "repo", "remove", "octo/deploy")
    assert removed.returncode == 0 and "0 secret(s) and its webhook secret deleted; it had no builds" in removed.stdout
    assert [row["slug"] for row in json.loads(pq(data_dir, "repo", "list", "--all", "--json").stdout)] == ["acme/web"]


def test_a_new_webhook_secret_comes_from_a_file_and_is_never_printed(data_dir, tmp_path):
    first = added_webhook_secret(pq(data_dir, "repo", "add", "octo/hello"))
    secret_file = tmp_path / "hook"
    secret_file.write_text("replacement-hook-secret-41c\n")
    updated = pq(data_dir, "repo", "update", "octo/hello", "--webhook-secret-file", str(secret_file))
    assert updated.returncode == 0, updated.stderr
    asked = json.loads(pq(data_dir, "repo", "show", "octo/hello", "--json", "--webhook-secret").stdout)
    assert asked["webhook_secret"] == "replacement-hook-secret-41c" != first
    never_shown([updated], "replacement-hook-secret-41c")
    assert b"replacement-hook-secret-41c" not in raw_database(data_dir)


def test_removal_is_refused_while_a_build_is_unfinished_and_keeps_finished_builds(data_dir):
    pq(data_dir, "repo", "add", "octo/hello")
    engine = store.create_engine(store.database_url(data_dir=data_dir))
    try:
        with store.session_factory(engine).begin() as session:
            build = store.create_build(session, NewBuild(repo="octo/hello", event="push"), stages=[]).build
        refused = pq(data_dir, "repo", "remove", "octo/hello")
        assert refused.returncode == 2
        assert f"octo/hello has 1 unfinished build(s) (ids {build.id})" in refused.stderr
        assert "build cancel" in refused.stderr
        with store.session_factory(engine).begin() as session:
            store.finish_build(session, build.id)
    finally:
        engine.dispose()
    removed = pq(data_dir, "repo", "remove", "octo/hello")
    assert removed.returncode == 0, removed.stderr
    assert "its 1 finished build(s) are kept, shown as unregistered" in removed.stdout
    [row] = json.loads(pq(data_dir, "repo", "list", "--all", "--json").stdout)
    assert (row["slug"], row["registered"]) == ("octo/hello", False)
    assert [b["repo"] for b in json.loads(pq(data_dir, "builds", "--json").stdout)] == ["octo/hello"]


@pytest.fixture(scope="module")
def hello_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory where octo/hello is registered, for tests that only read or fail."""
    folder = tmp_path_factory.mktemp("hello") / "data"
    assert pq(folder, "repo", "add", "octo/hello").returncode == 0
    return folder


@pytest.mark.parametrize(("args", "code", "message"), [
    (("repo", "add", "octo"), 2, "repository 'octo' is not owner/name"),
    (("repo", "add", "octo/hello/"), 2, "repository 'octo/hello/' is not owner/name"),
    (("repo", "show", "octo/nobody"), 1, "repository octo/nobody does not exist"),
    (("repo", "update", "octo/nobody", "--trusted"), 2, "octo/nobody is not registered"),
    (("repo", "update", "octo/hello"), 2, "nothing to change"),
    (("repo", "update", "octo/hello", "--namespace", "Not_A_Namespace"), 2, "is not a Kubernetes namespace"),
    (("repo", "remove", "octo/nobody"), 2, "octo/nobody is not registered"),
])
def test_mistakes_exit_with_a_message_naming_them(hello_dir, args, code, message):
    result = pq(hello_dir, *args)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_adding_twice_and_a_clone_url_with_a_password_are_refused(hello_dir):
    twice = pq(hello_dir, "repo", "add", "octo/hello")
    assert twice.returncode == 2 and "octo/hello is already registered" in twice.stderr
    leaky = pq(hello_dir, "repo", "add", "octo/leaky", "--clone-url", "https://ci:t0ken-abc@git.example.com/x.git")
    assert leaky.returncode == 2 and "carries credentials" in leaky.stderr
    never_shown([leaky], "t0ken-abc")


def test_a_wrong_or_malformed_key_is_a_clear_error_that_shows_no_key(data_dir):
    secret = added_webhook_secret(pq(data_dir, "repo", "add", "octo/hello", PQ_SECRET_KEY=KEY_A))
    assert not (data_dir / "secret.key").exists()
    right = pq(data_dir, "repo", "show", "octo/hello", "--json", "--webhook-secret", PQ_SECRET_KEY=KEY_A)
    assert json.loads(right.stdout)["webhook_secret"] == secret
    wrong = pq(data_dir, "repo", "show", "octo/hello", "--webhook-secret", PQ_SECRET_KEY=KEY_B)
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert "the webhook secret of octo/hello was sealed with a key that is not among the 1 configured" in wrong.stderr
    malformed = pq(data_dir, "repo", "show", "octo/hello", "--webhook-secret", PQ_SECRET_KEY="not-a-key-at-all")
    assert malformed.returncode == 1
    assert "PQ_SECRET_KEY: the key is not 32 bytes written in base64 or hex" in malformed.stderr
    never_shown([right, wrong, malformed], KEY_A, KEY_B, "not-a-key-at-all")
