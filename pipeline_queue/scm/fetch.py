"""Read one file of a repository at one commit, with the real `git`, into a fresh directory that is then removed.

The URL is the one the repository was registered with (`repo add --clone-url`), never one from a webhook payload.
Every git call shares one deadline and runs in a clean environment (PATH, HOME in the scratch directory, LANG=C)
with no credential helper or prompt, no hooks or templates, no system or user config, and only the https, http,
ssh and file transports. No message or log shows the credentials a URL may carry.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline_queue.errors import FetchError, FileMissingError

DEFAULT_TIMEOUT = 60.0
"""Seconds all git calls of one read may take together."""
DEFAULT_MAX_BYTES = 1024 * 1024
"""The largest file read (1 MiB); a larger one is refused before it is read."""
DEFAULT_DEPTH = 50
"""How many commits of `ref` the fallback fetches, looking for the commit, when the server refuses it by sha."""
SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin"
"""PATH of the git processes (ssh, git's helpers); this process's own environment is not passed on."""
SCHEMES = ("https", "http", "ssh", "file")
"""URL schemes accepted, besides scp-like `user@host:path` (ssh)."""

GIT_OPTIONS: tuple[str, ...] = (
    "-c", "protocol.allow=never",
    "-c", "protocol.https.allow=always",
    "-c", "protocol.http.allow=always",
    "-c", "protocol.file.allow=always",
    "-c", "protocol.ssh.allow=always",
    "-c", "credential.helper=",
    "-c", "core.askPass=",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "init.templateDir=",
    "-c", "init.defaultBranch=main",
    # No prompt for a password or an unknown host key: fail instead (the session has no terminal either).
    "-c", "core.sshCommand=ssh -o BatchMode=yes",
)
"""Given to every git call, before its subcommand."""

_SCP_LIKE = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^:\s]\S*")
_HELPER_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]*")
_NOT_BY_SHA = re.compile(r"not our ref|unadvertised object|couldn't find remote ref|no such remote ref", re.I)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s]*@")
_STDERR_SHOWN = 300

_log = logging.getLogger(__name__)


def read_file_at(
    clone_url: str,
    commit: str,
    path: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    depth: int = DEFAULT_DEPTH,
    ref: str = "",
    search_path: str = SEARCH_PATH,
) -> bytes:
    """The content of `path` at `commit` of the repository at `clone_url`; FetchError saying what failed.

    Fetches exactly that commit (depth 1). A server that refuses an object by sha (protocol v0 without
    `uploadpack.allowReachableSHA1InWant`) is asked for `ref` instead, `depth` commits deep, and the commit must
    be reachable from it.
    """
    redact = Redactor(clone_url)
    _check_arguments(clone_url, commit, path, ref, shown=redact.url)
    _log.info("reading %s at %s from %s", path, commit[:12], redact.url)
    with tempfile.TemporaryDirectory(prefix="pq-fetch-") as scratch:
        git = _Git(
            executable=_git_executable(search_path),
            home=Path(scratch),
            deadline=time.monotonic() + timeout,
            timeout=timeout,
            search_path=search_path,
            redact=redact,
        )
        repository = Path(scratch) / "repository.git"
        git.run("init", "--bare", "-q", "--template=", str(repository), what="git init", check=True)
        git.cwd = repository
        git.run("remote", "add", "origin", clone_url, what="git remote add", check=True)
        _fetch_commit(git, commit, ref=ref, depth=depth)
        return _read_blob(git, commit, path, max_bytes=max_bytes)


class Redactor:
    """Removes what a URL's user information holds from texts: the URL shown, git's messages."""

    def __init__(self, url: str) -> None:
        self.secrets = _url_secrets(url)
        self.url = self(url)

    def __call__(self, text: str) -> str:
        text = _USERINFO.sub(lambda match: f"{match.group(1)}***@" if self._hides(match.group(0)) else match.group(0),
                             text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    @staticmethod
    def _hides(userinfo: str) -> bool:
        scheme, _, user = userinfo.partition("://")
        return ":" in user or not _user_is_public(scheme)


def redact_url(url: str) -> str:
    """`url` as it may be shown: without a password, nor a user name but over ssh."""
    return Redactor(url).url


def _url_secrets(url: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return ()
    found = [password] if password else []
    if username and not _user_is_public(parts.scheme):
        found.append(username)
    # Longest first, so that no shorter secret leaves part of a longer one behind.
    return tuple(sorted({*found, *(unquote(value) for value in found)}, key=len, reverse=True))


def _user_is_public(scheme: str) -> bool:
    # Over SSH a user name is only `git`; over HTTP (or anything else) it is as good as a password (a token).
    return scheme.lower() == "ssh"


def _check_arguments(clone_url: str, commit: str, path: str, ref: str, *, shown: str) -> None:
    if not _acceptable_url(clone_url):
        raise FetchError(f"clone URL {shown!r} refused: pipeline-queue fetches only https://, http://, ssh://, "
                         "file:// or user@host:path URLs")
    if not _COMMIT.fullmatch(commit):
        raise FetchError(f"commit {commit[:80]!r} is not a full commit sha (40 or 64 lowercase hex digits)")
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or any(ord(char) < 32 for char in path):
        raise FetchError(f"path {path[:200]!r} is not a relative path inside the repository")
    if ref and (not _REF.fullmatch(ref) or ".." in ref):
        raise FetchError(f"ref {ref[:200]!r} is not a git ref (like refs/heads/main)")


def _acceptable_url(url: str) -> bool:
    if not url or url.startswith("-") or _HELPER_SYNTAX.match(url) or any(char.isspace() for char in url):
        return False
    if _SCP_LIKE.fullmatch(url):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc or parts.scheme.lower() == "file")


def _git_executable(search_path: str) -> str:
    executable = shutil.which("git", path=search_path)
    if executable is None:
        raise FetchError(f"git is not installed: no `git` on {search_path}")
    return executable


def _fetch_commit(git: _Git, commit: str, *, ref: str, depth: int) -> None:
    fetched = git.run("fetch", "--depth", "1", "--no-tags", "-q", "origin", commit, what="git fetch")
    if fetched.returncode == 0:
        return
    reason = git.reason(fetched)
    if not _NOT_BY_SHA.search(reason):
        raise FetchError(f"fetching commit {commit[:12]} from {git.redact.url} failed: {reason}")
    if not ref:
        raise FetchError(f"commit {commit} not found at {git.redact.url} (the server answered: {reason})")
    by_ref = git.run("fetch", "--depth", str(max(depth, 1)), "--no-tags", "-q", "origin", ref, what="git fetch")
    if by_ref.returncode != 0:
        raise FetchError(f"fetching {ref} from {git.redact.url} failed: {git.reason(by_ref)}")
    present = git.run("cat-file", "-e", f"{commit}^{{commit}}", what="git cat-file")
    reachable = present.returncode == 0 and git.run(
        "merge-base", "--is-ancestor", commit, "FETCH_HEAD", what="git merge-base").returncode == 0
    if not reachable:
        raise FetchError(f"commit {commit} not found at {git.redact.url}: the server refuses it by sha, "
                         f"and it is not among the last {max(depth, 1)} commits of {ref}")


def _read_blob(git: _Git, commit: str, path: str, *, max_bytes: int) -> bytes:
    spec = f"{commit}:{path}"
    kind = git.run("cat-file", "-t", spec, what="git cat-file")
    if kind.returncode != 0:
        raise FileMissingError(f"{path} not found at commit {commit[:12]} of {git.redact.url}")
    if kind.stdout.strip() != b"blob":
        raise FetchError(f"{path} at commit {commit[:12]} of {git.redact.url} is not a file "
                         f"(a {kind.stdout.strip().decode(errors='replace')})")
    size = int(git.run("cat-file", "-s", spec, what="git cat-file", check=True).stdout)
    if size > max_bytes:
        raise FetchError(f"{path} at commit {commit[:12]} of {git.redact.url} is too large: "
                         f"{size} bytes, over the limit of {max_bytes}")
    return git.run("cat-file", "blob", spec, what="git cat-file", check=True).stdout


@dataclass
class _Git:
    """Runs git in the scratch directory under the one deadline; a call past it is killed with its children."""

    executable: str
    home: Path
    deadline: float
    timeout: float
    search_path: str
    redact: Redactor
    cwd: Path | None = None

    def run(self, *args: str, what: str, check: bool = False) -> subprocess.CompletedProcess[bytes]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out(what)
        argv = [self.executable, *GIT_OPTIONS, *args]
        process = subprocess.Popen(
            argv, cwd=self.cwd or self.home, env=self._environment(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise self._timed_out(what) from None
        result = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise FetchError(f"{what} failed for {self.redact.url}: {self.reason(result)}")
        return result

    def reason(self, result: subprocess.CompletedProcess[bytes]) -> str:
        """What git said (its last words, if long), without credentials."""
        text = " ".join(result.stderr.decode(errors="replace").split())
        return self.redact(text[-_STDERR_SHOWN:] or f"exit status {result.returncode}")

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": self.search_path,
            "HOME": str(self.home),
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    def _timed_out(self, what: str) -> FetchError:
        return FetchError(f"{what} from {self.redact.url} timed out: reading the file may take {self.timeout:g}s")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """The whole session, so a transport helper (git-remote-https, ssh) goes too; its pipes are not read."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
