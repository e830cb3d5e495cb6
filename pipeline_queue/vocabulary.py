"""The shared vocabulary: statuses of builds, stages and steps, step and finding kinds, and run defaults.

Dependency-free, so that the pure state machines, the store, the workers and the API all speak the same
words without importing one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    """Where a build, a stage or a step stands; the last five are terminal and never change again."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    SKIPPED = "skipped"
    KILLED = "killed"
    ERROR = "error"

    @property
    def terminal(self) -> bool:
        return self not in (Status.PENDING, Status.RUNNING)


TERMINAL: frozenset[Status] = frozenset(status for status in Status if status.terminal)
ACTIVE: frozenset[Status] = frozenset(Status) - TERMINAL


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
