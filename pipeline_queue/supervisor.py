"""Child processes of `up`, supervised as a process manager does: each in its own process group with its own log;
one that dies is restarted after a growing delay, and the restart is reported; stopping stops them all.

A child that keeps dying right after it starts is given up on after `Backoff.give_up_after` quick deaths in a row,
so that a configuration error ends `up` with the child's own words instead of a restart loop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STOP_TIMEOUT = 15.0
"""Seconds children get after SIGTERM (a Celery worker finishes its running tasks) before SIGKILL."""

TAIL_LINES = 20
"""Lines of a dead child's log shown when it is reported."""


@dataclass(frozen=True)
class Backoff:
    """How long a dead child waits before it is started again: `initial` seconds, times `factor` for each quick
    death in a row, at most `maximum`. A child that ran at least `steady` seconds died for a new reason: its next
    restart waits `initial` again."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 30.0
    steady: float = 30.0
    give_up_after: int = 5
    """Quick deaths in a row after which the child is not restarted (0: never give up)."""

    def delay(self, quick_deaths: int) -> float:
        """Seconds before the restart that follows `quick_deaths` (>= 1) quick deaths in a row."""
        return min(self.maximum, self.initial * self.factor ** max(0, quick_deaths - 1))

    def gives_up(self, quick_deaths: int) -> bool:
        return self.give_up_after > 0 and quick_deaths >= self.give_up_after


@dataclass(frozen=True)
class Child:
    """One started process: its name, its process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)
    """When it was started (monotonic seconds), to tell a quick death from a steady run."""

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


@dataclass(frozen=True)
class Event:
    """What `Supervisor.check` saw: a child that died (restarted later, or given up on), or one started again."""

    kind: str
    """`exited` (a restart is due in `delay` seconds), `restarted`, or `gave-up` (a fatal death)."""
    child: Child
    delay: float = 0.0
    restarts: int = 0
    """How many times this child has been restarted, this restart included."""

    @property
    def fatal(self) -> bool:
        return self.kind == "gave-up"


@dataclass
class _Program:
    """What is needed to start a child again, and where it stands."""

    name: str
    argv: list[str]
    env: dict[str, str]
    restart: bool
    child: Child
    quick_deaths: int = 0
    restarts: int = 0
    due: float | None = None
    """When a restart is due (monotonic seconds), while the child is dead and waiting for it."""


class Supervisor:
    """Starts children, restarts those that die (see `check`), and stops them (by default newest first)."""

    def __init__(self, *, log_dir: Path, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log_dir = log_dir
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._programs: list[_Program] = []
        self._stopping = False

    @property
    def children(self) -> list[Child]:
        """The current process of every child, in the order they were first started."""
        return [program.child for program in self._programs]

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], restart: bool = True) -> Child:
        """Start `argv` as `name`, its output in `<log_dir>/<name>.log` (truncated); `restart`: start it again when
        it dies (False: its death is fatal, as for the development cluster, whose state dies with it)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        child = self._spawn(name, list(argv), dict(env), truncate=True)
        self._programs.append(_Program(name=name, argv=list(argv), env=dict(env), restart=restart, child=child))
        return child

    def exited(self) -> Child | None:
        """The first child that has exited and is not waiting for a restart, if any."""
        return next((program.child for program in self._programs
                     if program.due is None and program.child.process.poll() is not None), None)

    def check(self) -> list[Event]:
        """Notice children that died (each schedules its restart, or is given up on) and start those whose delay is
        over; what happened, in order. Call it every fraction of a second."""
        events: list[Event] = []
        if self._stopping:
            return events
        now = self._clock()
        for program in self._programs:
            if program.due is None and program.child.process.poll() is not None:
                events.append(self._died(program, now=now))
            elif program.due is not None and now >= program.due:
                events.append(self._restart(program))
        return events

    def _died(self, program: _Program, *, now: float) -> Event:
        # Whatever the dead one left in its group (a worker's pool processes) must not go on consuming tasks.
        _signal(program.child, signal.SIGKILL, group=True)
        quick = now - program.child.started < self.backoff.steady
        program.quick_deaths = program.quick_deaths + 1 if quick else 1
        if not program.restart or self.backoff.gives_up(program.quick_deaths):
            return Event("gave-up", program.child, restarts=program.restarts)
        delay = self.backoff.delay(program.quick_deaths)
        program.due = now + delay
        return Event("exited", program.child, delay=delay, restarts=program.restarts + 1)

    def _restart(self, program: _Program) -> Event:
        program.restarts += 1
        program.due = None
        program.child = self._spawn(program.name, program.argv, program.env, truncate=False,
                                    banner=f"--- restart {program.restarts} of {program.name} ---\n")
        return Event("restarted", program.child, restarts=program.restarts)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], *, truncate: bool, banner: str = "") -> Child:
        log = self.log_dir / f"{name}.log"
        # A restart appends: the dead process's last words stay in the log above the new one's.
        with log.open("wb" if truncate else "ab") as output:
            if banner:
                output.write(banner.encode())
                output.flush()
            # A session of its own: Ctrl-C in the terminal reaches `up` only, which stops children in order.
            process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Child(name=name, process=process, log=log, started=self._clock())

    def stop(self, children: Sequence[Child] | None = None, *, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM `children` (default: all, newest first), wait up to `timeout`, then SIGKILL their groups.

        Restarts that were due are cancelled first: nothing is started or reported again once stopping has begun."""
        self._stopping = True
        for program in self._programs:
            program.due = None
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
    except (ProcessLookupError, PermissionError):
        pass  # already gone (a group whose leader was reaped may be empty)
