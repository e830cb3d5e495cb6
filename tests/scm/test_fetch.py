"""read_file_at against local bare repositories and servers that misbehave, with the real git."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_queue.errors import FetchError, PipelineQueueError
from pipeline_queue.scm import fetch
from pipeline_queue.scm.fetch import read_file_at, redact_url
from tests.scm.local_git import Repository

UNKNOWN = "0123456789abcdef" * 2 + "01234567"
TOKEN = "s3cr3t-t0ken"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return int(port)


def test_each_commit_reads_its_own_file(repository: Repository) -> None:
    first = repository.commit({".drone.yml": "kind: pipeline\nname: one\n"})
    second = repository.commit({".drone.yml": "kind: pipeline\nname: two\n"})
    assert read_file_at(repository.url, first, ".drone.yml") == b"kind: pipeline\nname: one\n"
    assert read_file_at(repository.url, second, ".drone.yml") == b"kind: pipeline\nname: two\n"


def test_a_file_in_a_folder_and_binary_content_are_read_as_they_are(repository: Repository) -> None:
    content = bytes(range(256)) * 3
    commit = repository.commit({"ci/pipeline.yml": content})
    assert read_file_at(repository.url, commit, "ci/pipeline.yml") == content


def test_a_path_missing_at_that_commit(repository: Repository) -> None:
    first = repository.commit({"README": "hello\n"})
    repository.commit({".drone.yml": "kind: pipeline\n"})
    with pytest.raises(FetchError, match=rf"^\.drone\.yml not found at commit {first[:12]} of file://"):
        read_file_at(repository.url, first, ".drone.yml")


def test_a_folder_is_not_a_file(repository: Repository) -> None:
    commit = repository.commit({"ci/pipeline.yml": "x"})
    with pytest.raises(FetchError, match=r"^ci at commit \w+ of .* is not a file \(a tree\)$"):
        read_file_at(repository.url, commit, "ci")


def test_an_unknown_commit(repository: Repository) -> None:
    repository.commit({".drone.yml": "kind: pipeline\n"})
    with pytest.raises(FetchError, match=rf"^commit {UNKNOWN} not found at file://.*not our ref"):
        read_file_at(repository.url, UNKNOWN, ".drone.yml")
    with pytest.raises(FetchError, match=rf"^commit {UNKNOWN} not found .* not among the last 50 commits of main$"):
        read_file_at(repository.url, UNKNOWN, ".drone.yml", ref="main")


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = repository.commit({".drone.yml": "x" * 5000})
    calls: list[tuple[str, ...]] = []
    run = fetch._Git.run

    def recording(self: fetch._Git, *args: str, what: str, check: bool = False) -> subprocess.CompletedProcess[bytes]:
        calls.append(args)
        return run(self, *args, what=what, check=check)

    monkeypatch.setattr(fetch._Git, "run", recording)
    with pytest.raises(FetchError, match=r"^\.drone\.yml at commit \w+ of .* is too large: 5000 bytes, over the "
                                         r"limit of 4999$"):
        read_file_at(repository.url, commit, ".drone.yml", max_bytes=4999)
    assert ("cat-file", "-s", f"{commit}:.drone.yml") in calls
    assert not [call for call in calls if call[:2] == ("cat-file", "blob")]
    assert read_file_at(repository.url, commit, ".drone.yml", max_bytes=5000) == b"x" * 5000


def test_a_server_that_refuses_a_sha_is_asked_for_the_ref(
    repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Protocol v0 refuses objects no ref advertises unless the server allows them: the older commit here.
    monkeypatch.setattr(fetch, "GIT_OPTIONS", (*fetch.GIT_OPTIONS, "-c", "protocol.version=0"))
    older = repository.commit({".drone.yml": "name: older\n"})
    repository.commit({".drone.yml": "name: newer\n"})
    with pytest.raises(FetchError, match=rf"^commit {older} not found at .*unadvertised object"):
        read_file_at(repository.url, older, ".drone.yml")
    assert read_file_at(repository.url, older, ".drone.yml", ref="refs/heads/main") == b"name: older\n"
    assert read_file_at(repository.url, older, ".drone.yml", ref="main", depth=2) == b"name: older\n"
    with pytest.raises(FetchError, match=r"not among the last 1 commits of main$"):
        read_file_at(repository.url, older, ".drone.yml", ref="main", depth=1)


def test_a_server_that_never_answers_times_out_within_the_deadline(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"^git fetch from http://127\.0\.0\.1:\d+/x\.git timed out"):
        read_file_at(f"http://127.0.0.1:{silent_server}/x.git", "a" * 40, ".drone.yml", timeout=1.5)
    assert time.monotonic() - started < 6


def test_the_deadline_is_shared_by_every_git_call(repository: Repository) -> None:
    commit = repository.commit({".drone.yml": "x"})
    with pytest.raises(FetchError, match="timed out"):
        read_file_at(repository.url, commit, ".drone.yml", timeout=0.000001)


@pytest.mark.parametrize("url", ["ext::sh -c touch% {marker}", "ext::sh -c 'touch {marker}'",
                                 "fd::17", "git://localhost/x.git", "/srv/git/x.git", "-uhello",
                                 "ftp://example.com/x.git", "https://exa mple.com/x"])
def test_other_transports_are_refused(url: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(FetchError, match=r"^clone URL .* refused: pipeline-queue fetches only"):
        read_file_at(url.format(marker=marker), "a" * 40, ".drone.yml")
    assert not marker.exists()


def test_git_itself_refuses_the_ext_transport(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    git = fetch._Git(executable="git", home=tmp_path, deadline=time.monotonic() + 30, timeout=30,
                     search_path=fetch.SEARCH_PATH, redact=fetch.Redactor(""))
    git.run("init", "-q", str(tmp_path / "r"), what="git init", check=True)
    git.cwd = tmp_path / "r"
    result = git.run("fetch", f"ext::sh -c touch% {marker}", what="git fetch")
    assert result.returncode != 0
    assert b"transport 'ext' not allowed" in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("user", [f"ci:{TOKEN}", TOKEN, f"ci:{TOKEN}@more", "ci:s3cr3t%2Dt0ken"])
def test_credentials_in_the_url_never_appear(
    user: str, closed_port: int, silent_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages = []
    for port, timeout in ((closed_port, 30.0), (silent_server, 1.0)):
        url = f"http://{user}@127.0.0.1:{port}/octo/x.git"
        with pytest.raises(FetchError) as refused:
            read_file_at(url, "a" * 40, ".drone.yml", timeout=timeout)
        messages.append(str(refused.value))
        with pytest.raises(FetchError) as invalid:
            read_file_at(url, "not-a-sha", ".drone.yml")
        messages.append(str(invalid.value))
    with pytest.raises(FetchError) as other:
        read_file_at(f"ftp://{user}@example.com/x.git", "a" * 40, ".drone.yml")
    messages.append(str(other.value))
    shown = "\n".join([*messages, caplog.text])
    assert "127.0.0.1" in messages[0] and "***@" in messages[0]
    for secret in (TOKEN, "s3cr3t", "t0ken", "ci:"):
        assert secret not in shown


def test_redacted_urls() -> None:
    assert redact_url("https://ci:tok@git.example.com/x.git") == "https://***@git.example.com/x.git"
    assert redact_url("https://tok@git.example.com/x.git") == "https://***@git.example.com/x.git"
    assert redact_url("ssh://git@git.example.com/x.git") == "ssh://git@git.example.com/x.git"
    assert redact_url("ssh://git:pw@git.example.com/x.git") == "ssh://***@git.example.com/x.git"
    assert redact_url("git@github.com:octo/x.git") == "git@github.com:octo/x.git"
    assert redact_url("file:///srv/x.git") == "file:///srv/x.git"


@pytest.mark.parametrize(("commit", "path", "ref", "message"), [
    ("abc123", ".drone.yml", "", "is not a full commit sha"),
    ("A" * 40, ".drone.yml", "", "is not a full commit sha"),
    ("a" * 40, "/etc/passwd", "", "is not a relative path"),
    ("a" * 40, "../x", "", "is not a relative path"),
    ("a" * 40, "", "", "is not a relative path"),
    ("a" * 40, ".drone.yml", "--upload-pack=touch x", "is not a git ref"),
    ("a" * 40, ".drone.yml", "main:refs/heads/x", "is not a git ref"),
])
def test_arguments_are_checked_before_git_runs(commit: str, path: str, ref: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        read_file_at("https://git.example.com/x.git", commit, path, ref=ref)


def test_fetch_errors_belong_to_the_error_tree() -> None:
    assert issubclass(FetchError, PipelineQueueError)
    assert FetchError("x").exit_code == 1
