"""Child processes of `up`: start each in its own process group with its own log, notice one dying, stop them all.

Nothing is restarted: a child that exits is reported, and `up` decides to stop the rest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_TIMEOUT = 15.0
"""Seconds children get after SIGTERM (a Celery worker finishes its running tasks) before SIGKILL."""

TAIL_LINES = 20
"""Lines of a dead child's log shown when it is reported."""


@dataclass(frozen=True)
class Child:
    """One started process: its name, its process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The end of the child's log, for the report of its death."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Starts children and stops them (by default in reverse order of start)."""

    def __init__(self, *, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str]) -> Child:
        """Start `argv` as `name`, its output in `<log_dir>/<name>.log` (truncated at each start)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as output:
            # A session of its own: Ctrl-C in the terminal reaches `up` only, which stops children in order.
            process = subprocess.Popen(
                list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name=name, process=process, log=log)
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((child for child in self.children if child.process.poll() is not None), None)

    def stop(self, children: Sequence[Child] | None = None, *, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM `children` (default: all, newest first), wait up to `timeout`, then SIGKILL their groups."""
        chosen = list(reversed(self.children)) if children is None else list(children)
        for child in chosen:
            if child.process.poll() is None:
                _signal(child, signal.SIGTERM, group=False)
        deadline = time.monotonic() + timeout
        for child in chosen:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(child, signal.SIGKILL, group=True)
                child.process.wait()
            # Whatever the child left in its group (a worker's pool processes) goes with it.
            _signal(child, signal.SIGKILL, group=True)


def _signal(child: Child, number: signal.Signals, *, group: bool) -> None:
    try:
        if group:
            os.killpg(child.pid, number)
        else:
            child.process.send_signal(number)
    except ProcessLookupError:
        pass  # already gone
