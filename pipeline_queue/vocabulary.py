"""The shared vocabulary: statuses, step and finding kinds, queue names, cache guard modes, run defaults.

It depends on nothing, so the pure state machines, the store, the workers and the API speak the same words
without importing one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    """Where a build, a stage or a step stands; the last five are terminal and never change again."""

    PENDING = "pending"
    BLOCKED = "blocked"
    """A build waiting for someone's approval (a pull request from a fork of an untrusted repository)."""
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    SKIPPED = "skipped"
    KILLED = "killed"
    ERROR = "error"

    @property
    def terminal(self) -> bool:
        return self not in (Status.PENDING, Status.BLOCKED, Status.RUNNING)


TERMINAL: frozenset[Status] = frozenset(status for status in Status if status.terminal)
ACTIVE: frozenset[Status] = frozenset(Status) - TERMINAL
FAILED: frozenset[Status] = frozenset({Status.FAILURE, Status.ERROR, Status.KILLED})
"""The outcomes that make a stage (or a build) failing: what `status: failure` conditions react to."""


class StepKind(StrEnum):
    """A step runs to completion; a service runs beside the steps until the stage ends."""

    STEP = "step"
    SERVICE = "service"


class FindingKind(StrEnum):
    """`risk`: a step could run a private image it has no credentials for; `leak`: one did."""

    RISK = "risk"
    LEAK = "leak"


# A parent shows the worst outcome among its children; skipped children count as neutral.
_PRECEDENCE = (Status.ERROR, Status.FAILURE, Status.KILLED)


def combined_status(statuses: Iterable[Status]) -> Status:
    """The terminal status of a stage (from its steps) or a build (from its stages)."""
    seen = set(statuses)
    for status in _PRECEDENCE:
        if status in seen:
            return status
    return Status.SUCCESS


DEFAULT_STAGE_TIMEOUT = 3600
"""Seconds a stage may run before the workers stop it (Drone's default build timeout: 60 minutes)."""

DEFAULT_START_TIMEOUT = 300
"""Seconds a step's pod may wait to start (scheduling, pulling its image) before the step errors."""

MIN_MASKED = 4
"""Characters a secret value needs to be masked in logs: shorter ones would mask ordinary words."""

DEFAULT_CPU = "1"
"""The cpu request and limit of a step that names none: one core (a Kubernetes quantity)."""

DEFAULT_MEMORY = "2Gi"
"""The memory request and limit of a step that names none."""


CONTROL_QUEUE = "control"
"""The queue `advance` goes to (many short, latency-sensitive tasks); `PQ_CONTROL_QUEUE` may rename it."""
DEFAULT_QUEUE = "default"
"""The queue of housekeeping such as the resync."""
CACHE_QUEUE = "cache"
"""The queue of the node-cache work, whose slow API reads must never hold up control work."""
QUEUE_NAMES = (CONTROL_QUEUE, DEFAULT_QUEUE, CACHE_QUEUE)


class CacheGuardMode(StrEnum):
    """What the guard does when a step could run a private image from a node's cache without credentials."""

    OFF = "off"
    WARN = "warn"
    ENFORCE = "enforce"
    BLOCK = "block"

    @classmethod
    def parse(cls, text: str) -> CacheGuardMode:
        """`PQ_CACHE_GUARD`'s value, case-insensitive; empty means the default, warn. ValueError says why not."""
        value = text.strip().lower()
        if not value:
            return cls.WARN
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(mode.value for mode in cls)
            raise ValueError(f"PQ_CACHE_GUARD: {text!r} is not a cache guard mode; use one of {choices}") from None
