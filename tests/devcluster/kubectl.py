"""The real `kubectl` against a DevCluster: what a user types, what it prints, its exit code.

Tests are skipped with a reason where kubectl is missing (CI installs it). kubectl's discovery and OpenAPI cache
goes to a folder of the test module's own, so nothing from another cluster (or the user's ~/.kube) leaks in.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine; CI installs "
                                                           "it (https://kubernetes.io/docs/tasks/tools/)")
TIMEOUT = 60


@dataclass(frozen=True)
class Result:
    """One kubectl run: exit code and output."""

    code: int
    out: str
    err: str


def _starts(header: str) -> list[int]:
    """Where columns begin: kubectl pads columns with at least three spaces, and names hold at most one."""
    return [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[max(i - 2, 0):i] == "  ")]


def headers(text: str) -> list[str]:
    """The column names of kubectl's output."""
    header = text.splitlines()[0]
    starts = _starts(header)
    return [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]


def table(text: str) -> list[dict[str, str]]:
    """The rows of kubectl's column output by header name; cells are cut where the header's columns start
    (tabwriter aligns them), so values with spaces (`2 (5m ago)`) stay whole."""
    lines = [line for line in text.splitlines() if line.strip()]
    starts, names = _starts(lines[0]), headers(text)
    ends = [*starts[1:], None]
    return [{name: line[a:b].strip() for name, a, b in zip(names, starts, ends, strict=True)} for line in lines[1:]]


class Lines:
    """The output of a running kubectl, read on a thread so a test can wait for a line with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: list[str] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def until(self, wanted: Callable[[str], bool], *, timeout: float = 20.0) -> str:
        """The first line (from now on) that `wanted` accepts; fails with what was printed after `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if wanted(line):
                return line
        raise AssertionError("kubectl never printed the line waited for; it printed:\n" + "\n".join(self.seen))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(TIMEOUT)


@dataclass(frozen=True)
class Kubectl:
    """`kubectl(*args)` runs kubectl with the cluster's kubeconfig, in `namespace` unless args name another."""

    kubeconfig: Path
    cache: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.cache)}

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        assert KUBECTL is not None
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=TIMEOUT,
                              env=self.env())
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """The output of a run that must succeed."""
        result = self(*args, stdin=stdin)
        assert result.code == 0, f"kubectl {' '.join(args)} exited {result.code}: {result.err}"
        return result.out

    def start(self, *args: str) -> Lines:
        """A kubectl that keeps running (`get -w`, `logs -f`), its output read line by line."""
        assert KUBECTL is not None
        return Lines(subprocess.Popen([KUBECTL, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, env=self.env()))
