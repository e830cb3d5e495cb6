"""Bounded exponential backoff around one API call, for transient errors only (429, 5xx, no answer)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pipeline_queue.kube.errors import TransientKubeError

log = logging.getLogger(__name__)
# Jitter only needs to spread workers apart; SystemRandom keeps it out of any seeded sequence.
_JITTER = random.SystemRandom()
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure before giving up with it."""

    attempts: int = 5
    """Calls in all, the first included. Default 5."""
    base_delay: float = 0.2
    """Seconds before the second call; each pause doubles. Default 0.2."""
    max_delay: float = 5.0
    """No pause is longer than this. Default 5 seconds."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delay(self, attempt: int) -> float:
        """The pause after failed call number `attempt` (1-based), with jitter so workers do not move in step."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + _JITTER.uniform(0, ceiling / 2)


def with_retries(call: Callable[[], T], *, policy: RetryPolicy, action: str) -> T:
    """`call()`, again after a pause on TransientKubeError, until it succeeds or the attempts run out."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except TransientKubeError as error:
            if attempt == policy.attempts:
                raise TransientKubeError(
                    f"{error} (gave up after {policy.attempts} attempts)", status=error.status, reason=error.reason
                ) from error.__cause__
            pause = policy.delay(attempt)
            log.info("%s: transient failure (%s), retrying in %.2fs", action, error.status or "no answer", pause)
            policy.sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")
