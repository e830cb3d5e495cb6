"""The one settings object: every `PQ_*` variable, documented where it is defined.

Read once, at the entry point (`Settings.from_env()`), and passed down; no other
module reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_queue.errors import UsageError
from pipeline_queue.pull import POLICIES, PullSettings


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(",", " ").split() if part.strip())


@dataclass(frozen=True)
class PullConfig:
    """How images are pulled (GitLab Runner's `allowed_pull_policies`, plus forced registries)."""

    allowed: tuple[str, ...] = POLICIES
    """`PQ_PULL_ALLOWED`: policies pipelines may use (Always, IfNotPresent, Never). Default: all three."""

    always_registries: tuple[str, ...] = ()
    """`PQ_PULL_ALWAYS_REGISTRIES`: registry patterns whose images are always pulled. Default: none."""

    def pull_settings(self) -> PullSettings:
        return PullSettings(allowed=self.allowed, always_registries=self.always_registries)


@dataclass(frozen=True)
class PathsConfig:
    """Where pipeline-queue keeps its files on one machine."""

    data_dir: Path = Path(".pipeline-queue")
    """`PQ_DATA_DIR`: the data directory (database, development cluster files). Default `./.pipeline-queue`."""

    kubeconfig: Path | None = None
    """`KUBECONFIG`: the cluster to use; unset means the development cluster. Default: unset."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, grouped by concern."""

    pull: PullConfig = field(default_factory=PullConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        allowed = _split(env.get("PQ_PULL_ALLOWED", "")) or POLICIES
        unknown = [policy for policy in allowed if policy not in POLICIES]
        if unknown:
            raise UsageError(
                f"PQ_PULL_ALLOWED: unknown pull policy {unknown[0]!r} (use {', '.join(POLICIES)})"
            )
        kubeconfig = env.get("KUBECONFIG", "")
        return cls(
            pull=PullConfig(
                allowed=allowed,
                always_registries=_split(env.get("PQ_PULL_ALWAYS_REGISTRIES", "")),
            ),
            paths=PathsConfig(
                data_dir=Path(env.get("PQ_DATA_DIR", "") or ".pipeline-queue"),
                kubeconfig=Path(kubeconfig) if kubeconfig else None,
            ),
        )
