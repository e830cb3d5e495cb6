"""Local git repositories made with the real git (a work tree pushing to a bare copy), for tests that fetch."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Repository:
    """A work tree with a bare copy that tests fetch from (`url`, file://)."""

    work: Path
    bare: Path
    home: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def git(self, *args: str, cwd: Path | None = None) -> str:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C",
               "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        result = subprocess.run(["git", *args], cwd=cwd or self.work, env=env, capture_output=True, text=True,
                                check=True, timeout=30)
        return result.stdout.strip()

    def commit(self, files: dict[str, str | bytes], message: str = "change") -> str:
        """Write `files` in the work tree, commit them, push to the bare copy; the new commit's sha."""
        for name, content in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        self.git("add", "--all")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", self.bare.as_uri(), "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD")


def make_repository(root: Path, name: str = "origin.git") -> Repository:
    root.mkdir(parents=True, exist_ok=True)
    repository = Repository(work=root / "work", bare=root / name, home=root / "home")
    repository.home.mkdir()
    repository.work.mkdir()
    repository.git("init", "-q", "--bare", str(repository.bare), cwd=root)
    repository.git("init", "-q", "-b", "main")
    return repository
