"""Prometheus counters of pipeline-queue, in one place (the process that serves /metrics exposes them)."""

from __future__ import annotations

from prometheus_client import Counter

CACHE_FINDINGS = Counter(
    "pq_cache_findings_total",
    "Cache guard findings recorded, by kind (risk, leak) and action (warn, enforce, block; recorded for leaks).",
    ["kind", "action"],
)
"""Counted once per finding recorded (a finding seen again by a repeated `advance` is not counted twice)."""


def count_finding(*, kind: str, action: str) -> None:
    """One more finding of `kind` on which the guard took `action`."""
    CACHE_FINDINGS.labels(kind=kind, action=action).inc()
