"""The cache guard for one step, pure: a step's plan and the privacy facts in, the guard's decision out.

The glue between `advance` and `rules`: it reads a StepPlan (or a compiled step, for `explain`) the way the
rules want it, and words what the step log and `explain` say. No I/O: the facts are read by `cache.service`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline_queue.cache.rules import (
    CACHE_POLICIES,
    CacheGuardMode,
    FirstPull,
    GuardDecision,
    Leak,
    PrivacyRules,
    PrivacyVerdict,
    guard,
    is_private,
    leak_check,
)
from pipeline_queue.images import ImageRef, parse_image

if TYPE_CHECKING:  # only for annotations: this module stays free of the store and its database driver
    from pipeline_queue.compiler import CompiledStep
    from pipeline_queue.reconcile.plan import StepPlan

LOG_PREFIX = "[pipeline-queue: cache guard]"
"""How a guard line starts in a step's log, so readers tell it from the step's own output."""


@dataclass(frozen=True)
class PrivacyFacts:
    """What is known, right now, about which images are private."""

    rules: PrivacyRules = field(default_factory=PrivacyRules)
    credentialed_repos: frozenset[str] = frozenset()
    """Image repositories (`registry/path`) some pipeline pulled with credentials."""
    anonymous_denied: frozenset[str] = frozenset()
    """Registries that refused an anonymous manifest request (heeded only with the probe on)."""

    def verdict(self, image: ImageRef) -> PrivacyVerdict:
        return is_private(image, rules=self.rules, credentialed_repos=self.credentialed_repos,
                          anonymous_denied=image.registry in self.anonymous_denied)


def step_image(step: StepPlan) -> ImageRef:
    """The step's image as a reference (`StepPlan.image` is the familiar form, which parses back the same)."""
    return parse_image(step.image)


def decide_step(step: StepPlan, *, facts: PrivacyFacts, mode: CacheGuardMode) -> GuardDecision:
    """What the guard does with the step's pod before it is created."""
    image = step_image(step)
    return guard(image, step.pull_policy, has_credentials=bool(step.credentials), verdict=facts.verdict(image),
                 mode=mode)


def check_started(
    step: StepPlan, *, image_id: str, node: str, facts: PrivacyFacts, first_pull: FirstPull | None
) -> Leak | None:
    """After the fact: whether the step's started container ran a private image it had no credentials for."""
    image = step_image(step)
    return leak_check(image, image_id=image_id, node=node, has_credentials=bool(step.credentials),
                      verdict=facts.verdict(image), first_pull=first_pull)


def log_line(message: str) -> str:
    """One line for the top of a step's log."""
    return f"{LOG_PREFIX} {message}\n"


def credentialed_in(steps: Iterable[CompiledStep]) -> frozenset[str]:
    """The repositories a file's own steps pull with credentials: private by that fact, before any run."""
    return frozenset(step.image.name for step in steps if step.credentials)


def static_risk(
    step: CompiledStep, *, rules: PrivacyRules, credentialed_repos: Collection[str], mode: CacheGuardMode
) -> str | None:
    """For `explain`: why the step could run a private image from a node's cache, or None when it cannot.

    Shown whatever the mode (with `off` too, the risk is real); the message says what the mode will do.
    """
    verdict = is_private(step.image, rules=rules, credentialed_repos=credentialed_repos)
    if not verdict.private or step.credentials or step.pull.policy not in CACHE_POLICIES:
        return None
    return guard(step.image, step.pull.policy, has_credentials=False, verdict=verdict, mode=mode).message
