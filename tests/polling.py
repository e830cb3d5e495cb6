"""Bounded polling for tests: wait on a condition, never on a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], *, what: str = "condition", timeout: float = 30.0,
             interval: float = 0.05, explain: Callable[[], str] = lambda: "") -> Any:
    """The first truthy value of `condition()`; fails the test saying `what` (and `explain()`) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            details = explain()
            raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f"\n{details}" if details else ""))
        time.sleep(interval)
