"""`secret add|list|remove|rotate-key` as a user runs them: values come from a file or standard input only, are never
printed, never stored in the clear, and stay readable across a key rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_queue import store
from pipeline_queue.commands.secrets import add_command
from pipeline_queue.settings import VaultConfig
from pipeline_queue.vault.cipher import KeyRing
from pipeline_queue.vault.keys import KEY_FILE, environment_ring, load_key_ring
from pipeline_queue.vault.repository import repository_secrets
from tests.conftest import ROOT
from tests.test_commands_repos import KEY_A, KEY_B, env_for, never_shown, pq, raw_database

LIST_KEYS = ["name", "allow_pull_request", "created", "updated"]
STDIN_VALUE = "value-from-stdin-9d2f"
FILE_VALUE = "value-from-a-file-77ab\n"


def feed(data_dir: Path, stdin: bytes, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`pipeline-queue ARGS` with `stdin` on its standard input, as `printf VALUE | pipeline-queue ...` runs it."""
    completed = subprocess.run([sys.executable, "-m", "pipeline_queue", *args], input=stdin, capture_output=True,
                               cwd=ROOT, env=env_for(data_dir, **variables), timeout=120, check=False)
    return subprocess.CompletedProcess(completed.args, completed.returncode, completed.stdout.decode(),
                                       completed.stderr.decode())


def opened(data_dir: Path, repo: str, ring: KeyRing | None = None) -> dict[str, tuple[str, bool]]:
    """The stored secrets of `repo` opened with `ring` (else the data directory's key file): name to value, flag."""
    ring = ring or load_key_ring(VaultConfig(), data_dir=data_dir).ring
    engine = store.create_engine(store.database_url(data_dir=data_dir))
    try:
        with store.session_factory(engine).begin() as session:
            return {s.name: (s.value, s.allow_pull_request) for s in repository_secrets(session, repo, ring=ring)}
    finally:
        engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    assert pq(folder, "repo", "add", "octo/hello").returncode == 0
    return folder


def test_values_come_from_stdin_or_a_file_and_are_never_shown_or_stored_in_the_clear(data_dir, tmp_path):
    value_file = tmp_path / "value"
    value_file.write_text(FILE_VALUE)
    results = [
        feed(data_dir, f"{STDIN_VALUE}\n".encode(), "secret", "add", "octo/hello", "docker_password"),
        pq(data_dir, "secret", "add", "octo/hello", "ssh_key", "--from-file", str(value_file), "--allow-pull-request"),
    ]
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    assert results[0].stdout.strip() == "secret 'docker_password' of octo/hello added"
    assert results[1].stdout.strip() == "secret 'ssh_key' of octo/hello added; pull requests get it"
    listed = pq(data_dir, "secret", "list", "octo/hello", "--json")
    rows = json.loads(listed.stdout)
    assert [list(row) for row in rows] == [LIST_KEYS] * 2
    assert [(row["name"], row["allow_pull_request"]) for row in rows] == [("docker_password", False), ("ssh_key", True)]
    results += [listed, pq(data_dir, "secret", "list", "octo/hello"), pq(data_dir, "repo", "show", "octo/hello"),
                pq(data_dir, "repo", "show", "octo/hello", "--json", "--webhook-secret"),
                pq(data_dir, "repo", "list", "--json")]
    assert "docker_password, ssh_key" in results[-3].stdout
    # Standard input loses the newline `echo` adds; a file is taken as it is.
    assert opened(data_dir, "octo/hello") == {"docker_password": (STDIN_VALUE, False), "ssh_key": (FILE_VALUE, True)}
    replaced = feed(data_dir, b"a-new-value-3e1", "secret", "add", "octo/hello", "ssh_key")
    removed = pq(data_dir, "secret", "remove", "octo/hello", "docker_password")
    assert replaced.stdout.strip() == "secret 'ssh_key' of octo/hello replaced"
    assert removed.stdout.strip() == "secret 'docker_password' of octo/hello removed"
    assert opened(data_dir, "octo/hello") == {"ssh_key": ("a-new-value-3e1", False)}
    never_shown([*results, replaced, removed], STDIN_VALUE, FILE_VALUE.strip(), "a-new-value-3e1")
    raw = raw_database(data_dir)
    assert STDIN_VALUE.encode() not in raw and FILE_VALUE.strip().encode() not in raw and b"a-new-value" not in raw


def test_there_is_no_way_to_give_a_value_as_an_argument(data_dir):
    assert {param.name for param in add_command.params} == {"repo", "name", "from_file", "allow_pull_request", "quiet"}
    extra = feed(data_dir, b"", "secret", "add", "octo/hello", "token", "an-argument-value")
    option = feed(data_dir, b"", "secret", "add", "octo/hello", "token", "--value", "an-argument-value")
    assert extra.returncode == 2 and "unexpected extra argument" in extra.stderr
    assert option.returncode == 2 and "No such option" in option.stderr
    assert opened(data_dir, "octo/hello") == {}


def test_a_short_value_is_stored_with_a_warning_that_it_is_not_masked(data_dir):
    result = feed(data_dir, b"abc", "secret", "add", "octo/hello", "pin")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ("warning: the value of secret 'pin' is shorter than 4 characters: it is stored, "
                                     "but it will not be masked in step logs")
    assert opened(data_dir, "octo/hello") == {"pin": ("abc", False)}
    quiet = feed(data_dir, b"abcd", "secret", "add", "octo/hello", "pin4")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_input_is_size_limited_and_a_file_s_size_is_checked_before_reading(data_dir, tmp_path):
    huge = tmp_path / "huge"
    with huge.open("wb") as handle:
        handle.truncate(8 << 30)  # sparse: reading it would take minutes and 8 GiB
    too_big = tmp_path / "too-big"
    too_big.write_bytes(b"x" * (64 * 1024 + 1))
    results = [
        pq(data_dir, "secret", "add", "octo/hello", "big", "--from-file", str(huge)),
        pq(data_dir, "secret", "add", "octo/hello", "big", "--from-file", str(too_big)),
        feed(data_dir, b"x" * (64 * 1024 + 1), "secret", "add", "octo/hello", "big"),
        feed(data_dir, b"", "secret", "add", "octo/hello", "big"),
        pq(data_dir, "secret", "add", "octo/hello", "big", "--from-file", str(tmp_path / "missing")),
    ]
    assert [result.returncode for result in results] == [2] * 5
    assert f"{8 << 30} bytes; a secret value holds at most 64 KiB" in results[0].stderr
    assert "holds at most 64 KiB" in results[1].stderr and "more than 64 KiB" in results[2].stderr
    assert "the secret value is empty" in results[3].stderr and "cannot read a secret value" in results[4].stderr
    assert opened(data_dir, "octo/hello") == {}


@pytest.mark.parametrize(("args", "message"), [
    (("secret", "add", "octo/hello", "bad name"), "secret name 'bad name' may hold only letters, digits"),
    (("secret", "add", "octo/nobody", "token"), "repository octo/nobody is not registered"),
    (("secret", "add", "nobody", "token"), "repository 'nobody' is not owner/name"),
    (("secret", "list", "octo/nobody"), "repository octo/nobody is not registered"),
    (("secret", "remove", "octo/hello", "missing"), "octo/hello has no secret 'missing'"),
])
def test_mistakes_exit_2_naming_what_is_wrong(data_dir, args, message):
    result = feed(data_dir, b"some-value", *args)
    assert result.returncode == 2 and message in result.stderr
    never_shown([result], "some-value")


def _key_file_keys(data_dir: Path) -> list[str]:
    return [line for line in (data_dir / KEY_FILE).read_text().splitlines() if line and not line.startswith("#")]


def test_rotating_the_key_file_keeps_every_value_readable(data_dir):
    hook = json.loads(pq(data_dir, "repo", "show", "octo/hello", "--json", "--webhook-secret").stdout)
    feed(data_dir, b"first-value-abc", "secret", "add", "octo/hello", "one")
    feed(data_dir, b"second-value-def", "secret", "add", "octo/hello", "two", "--allow-pull-request")
    [old_key] = _key_file_keys(data_dir)
    before = raw_database(data_dir)
    rotated = pq(data_dir, "secret", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "sealed 2 secret(s) and 1 webhook secret(s) again under the new key" in rotated.stdout
    keys = _key_file_keys(data_dir)
    assert len(keys) == 2 and keys[1] == old_key
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600
    newest = KeyRing((base64.b64decode(keys[0]),))
    assert opened(data_dir, "octo/hello", newest) == {"one": ("first-value-abc", False),
                                                      "two": ("second-value-def", True)}
    after = json.loads(pq(data_dir, "repo", "show", "octo/hello", "--json", "--webhook-secret").stdout)
    assert after["webhook_secret"] == hook["webhook_secret"]
    assert raw_database(data_dir) != before
    never_shown([rotated], *keys, "first-value-abc", hook["webhook_secret"])


def test_rotating_environment_keys_needs_the_new_key_first(tmp_path):
    folder = tmp_path / "env-data"
    add = pq(folder, "repo", "add", "octo/env", PQ_SECRET_KEY=KEY_A)
    stored = feed(folder, b"env-sealed-value", "secret", "add", "octo/env", "token", PQ_SECRET_KEY=KEY_A)
    assert add.returncode == 0 and stored.returncode == 0, stored.stderr
    alone = pq(folder, "secret", "rotate-key", PQ_SECRET_KEY=KEY_A)
    assert alone.returncode == 1
    assert "PQ_SECRET_KEY holds one key" in alone.stderr and "PQ_SECRET_KEY=NEW,OLD" in alone.stderr
    rotated = pq(folder, "secret", "rotate-key", PQ_SECRET_KEY=f"{KEY_B},{KEY_A}")
    assert rotated.returncode == 0, rotated.stderr
    assert "sealed 1 secret(s) and 1 webhook secret(s)" in rotated.stdout
    assert "first key of PQ_SECRET_KEY" in rotated.stdout
    assert opened(folder, "octo/env", environment_ring(KEY_B)) == {"token": ("env-sealed-value", False)}
    assert pq(folder, "repo", "show", "octo/env", "--webhook-secret", PQ_SECRET_KEY=KEY_B).returncode == 0
    assert not (folder / KEY_FILE).exists()
    never_shown([add, stored, alone, rotated], KEY_A, KEY_B, "env-sealed-value")


def test_a_key_file_others_may_read_is_refused(data_dir):
    (data_dir / KEY_FILE).chmod(0o644)
    result = feed(data_dir, b"would-be-stored", "secret", "add", "octo/hello", "token")
    assert result.returncode == 1
    assert "is open to group or others (mode 0644)" in result.stderr and "chmod 600" in result.stderr
    os.chmod(data_dir / KEY_FILE, 0o600)
    assert opened(data_dir, "octo/hello") == {}
