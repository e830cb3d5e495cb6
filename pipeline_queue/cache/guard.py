"""The cache guard for one step, pure: a step's plan and what was read about its image in, the decision out.

`advance` reads a `GuardView` with the stage's pods (cache.service), its `decide` asks `decide_step` before
a pod exists and `check_started` once it ran, and the applier records what they found. `explain` asks
`static_risk` before any run. No I/O here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from pipeline_queue.cache.rules import (
    CACHE_POLICIES,
    FirstPull,
    GuardDecision,
    Leak,
    PrivacyRules,
    PrivacyVerdict,
    digest_of,
    guard,
    is_private,
    leak_check,
)
from pipeline_queue.compiler.plan import StepPlan
from pipeline_queue.settings import CacheConfig
from pipeline_queue.vocabulary import CacheGuardMode

LOG_PREFIX = "[pipeline-queue: cache guard]"
"""How a guard line starts in a step's log, so readers tell it from the step's own output."""

UNKNOWN = PrivacyVerdict(private=False, reason="nothing is known of it")


@dataclass(frozen=True)
class ImageFacts:
    """What is known, at the moment of reading, of one image repository: is it private, and which nodes cache it."""

    verdict: PrivacyVerdict = UNKNOWN
    cached_on: tuple[str, ...] = ()
    """Nodes whose `status.images` list the image (by its reference), as the node-cache index last saw them."""
    pulled_by: str = ""
    """The repository whose build first pulled the image with credentials ("" when none is on record)."""


@dataclass(frozen=True)
class GuardView:
    """What the guard read with a stage's pods."""

    mode: CacheGuardMode = CacheGuardMode.OFF
    repo: str = ""
    """The repository of the stage's build."""
    images: Mapping[str, ImageFacts] = field(default_factory=dict)
    """By image repository (`ImageRef.name`)."""
    first_pulls: Mapping[str, FirstPull] = field(default_factory=dict)
    """By manifest digest: the first credentialed pull of each digest the stage's pods run."""
    risks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """By step name: the risks already recorded, kept at the top of the step's log."""

    def facts(self, step: StepPlan) -> ImageFacts:
        return self.images.get(step.image.name, ImageFacts())


def privacy_rules(config: CacheConfig) -> PrivacyRules:
    """The operator's privacy rules from the cache settings."""
    return PrivacyRules(private_patterns=config.private_registries, public_patterns=config.public_registries,
                        probe_anonymous=config.probe_anonymous)


def decide_step(step: StepPlan, view: GuardView) -> GuardDecision:
    """What the guard does with the step's pod before it is created."""
    facts = view.facts(step)
    foreign = facts.pulled_by if facts.pulled_by and facts.pulled_by != view.repo else ""
    return guard(step.image, step.pull.policy, has_credentials=bool(step.credentials), verdict=facts.verdict,
                 mode=view.mode, cached_on=facts.cached_on, pulled_by=foreign)


def check_started(step: StepPlan, *, image_id: str, node: str, view: GuardView) -> Leak | None:
    """After the fact: whether the step's started container ran a private image it had no credentials for."""
    return leak_check(step.image, image_id=image_id, node=node, has_credentials=bool(step.credentials),
                      verdict=view.facts(step).verdict, first_pull=view.first_pulls.get(digest_of(image_id)))


def log_line(message: str) -> str:
    """One line for the top of a step's log."""
    return f"{LOG_PREFIX} {message}\n"


def log_header(step: str, view: GuardView) -> str:
    """The guard's lines for the top of the step's log (kept when its log is replaced by the pod's)."""
    return "".join(log_line(detail) for detail in view.risks.get(step, ()))


def credentialed_in(steps: Iterable[StepPlan]) -> frozenset[str]:
    """The repositories a file's own steps pull with credentials: private by that fact, before any run."""
    return frozenset(step.image.name for step in steps if step.credentials)


def static_risk(
    step: StepPlan, *, rules: PrivacyRules, credentialed_repos: Collection[str], mode: CacheGuardMode
) -> str | None:
    """For `explain`: why the step could run a private image from a node's cache, or None when it cannot.

    Shown whatever the mode (with `off` too, the risk is real); the message says what the mode will do.
    """
    verdict = is_private(step.image, rules=rules, credentialed_repos=credentialed_repos)
    if not verdict.private or step.credentials or step.pull.policy not in CACHE_POLICIES:
        return None
    return guard(step.image, step.pull.policy, has_credentials=False, verdict=verdict, mode=mode).message
