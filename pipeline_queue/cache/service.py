"""The cache guard's edge: reads the privacy facts from Redis, records findings, pull records and metrics.

`advance` (reconcile.apply) calls it before a step pod is created and once the pod has started; the
decisions themselves are `cache.guard`'s. Redis being unreachable never stops a run: the guard then
knows only the operator's patterns, and says so in the worker's log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from pipeline_queue import keys, metrics
from pipeline_queue.cache import index
from pipeline_queue.cache.guard import PrivacyFacts, check_started, decide_step, log_line, step_image
from pipeline_queue.cache.probe import AnonymousProbe
from pipeline_queue.cache.rules import FirstPull, GuardDecision, Leak, PrivacyRules, digest_of
from pipeline_queue.images import ImageRef
from pipeline_queue.settings import CacheConfig
from pipeline_queue.store import add_finding, append_log
from pipeline_queue.store.findings import list_findings
from pipeline_queue.store.pulls import NewPull, first_credentialed_pull, record_pull
from pipeline_queue.vocabulary import FindingKind

if TYPE_CHECKING:
    from pipeline_queue.reconcile.plan import StepPlan

log = logging.getLogger(__name__)
LEAK_ACTION = "recorded"
"""The `action` of a leak finding: it is seen after the fact, so nothing but the record is left to do."""


@dataclass(frozen=True)
class StepContext:
    """Which build and step a guard call is about (the store's ids) and the build's source repository."""

    build_id: int
    step_id: int
    repo: str


class CacheGuard:
    """The guard of one worker process: its settings, and the Redis that holds the node cache index."""

    def __init__(self, config: CacheConfig, *, redis: Redis | None, prefix: str = keys.DEFAULT_PREFIX,
                 probe: AnonymousProbe | None = None) -> None:
        """`probe` says how to ask registries (tests give a plain-HTTP one); it is used only when
        `config.probe_anonymous` is on, and none is made otherwise."""
        self.mode = config.guard
        self.rules = PrivacyRules(private_patterns=config.private_registries,
                                  public_patterns=config.public_registries, probe_anonymous=config.probe_anonymous)
        self.redis, self.prefix = redis, prefix
        self.probe = (probe or AnonymousProbe(redis=redis, prefix=prefix)) if config.probe_anonymous else None

    # -- before the pod exists ------------------------------------------------------------------

    def before_create(self, session: Session, step: StepPlan, where: StepContext) -> GuardDecision:
        """The guard's decision for the step's pod; a risk is recorded (finding, metric, a line in the log)."""
        decision = decide_step(step, facts=self.facts(step), mode=self.mode)
        if decision.finding_kind is None:
            return decision
        added = add_finding(session, build_id=where.build_id, kind=FindingKind.RISK, image=step.image,
                            mode=self.mode.value, action=decision.action, step_id=where.step_id,
                            detail=decision.message)
        if added.created:
            metrics.count_finding(kind=FindingKind.RISK.value, action=decision.action)
            append_log(session, where.step_id, log_line(decision.message))
        log.info("cache guard, build %s step %r: %s", where.build_id, step.name, decision.message)
        return decision

    def log_header(self, session: Session, step_id: int) -> str:
        """The guard's lines for the top of the step's log (kept when its log is replaced by the pod's)."""
        risks = list_findings(session, step_id=step_id)
        return "".join(log_line(finding.detail) for finding in risks if finding.kind is FindingKind.RISK)

    # -- once the pod has started ---------------------------------------------------------------

    def after_start(self, session: Session, step: StepPlan, where: StepContext, *, node: str,
                    image_id: str) -> Leak | None:
        """Keep the pull record of the step's pod; record a leak when it ran a private image uncredentialed."""
        credential = step.credentials[0] if step.credentials else None
        pull = NewPull(build_id=where.build_id, step_id=where.step_id, repo=where.repo, node=node,
                       image=step_image(step).reference, image_id=image_id, digest=digest_of(image_id),
                       credentialed=credential is not None, registry_key=credential.key if credential else "")
        if record_pull(session, pull) and pull.credentialed:
            self._index_pull(pull)
        leak = check_started(step, image_id=image_id, node=node, facts=self.facts(step),
                             first_pull=self._first_pull(session, pull))
        if leak is None:
            return None
        added = add_finding(session, build_id=where.build_id, kind=FindingKind.LEAK, image=step.image,
                            mode=self.mode.value, action=LEAK_ACTION, step_id=where.step_id, node=node,
                            detail=leak.message)
        if added.created:
            metrics.count_finding(kind=FindingKind.LEAK.value, action=LEAK_ACTION)
            log.warning("cache guard, build %s step %r: %s", where.build_id, step.name, leak.message)
        return leak

    # -- Redis ----------------------------------------------------------------------------------

    def facts(self, step: StepPlan) -> PrivacyFacts:
        """What is known about the privacy of the step's image: the patterns, whether a pipeline pulled
        its repository with credentials (one SISMEMBER, not the whole set), and the anonymous probe's answer."""
        image = step_image(step)
        name = image.name
        credentialed: frozenset[str] = frozenset()
        if self.redis is not None:
            try:
                if self.redis.sismember(keys.CACHE_CREDENTIALED.format(prefix=self.prefix), name):
                    credentialed = frozenset({name})
            except RedisError as error:
                log.warning("cache guard: the node cache index is unreachable (%s); judging %s by the "
                            "registry patterns only", type(error).__name__, step.image)
        return PrivacyFacts(rules=self.rules, credentialed_repos=credentialed,
                            anonymous_denied=self._probed(step, image=image, credentialed=credentialed))

    def _probed(self, step: StepPlan, *, image: ImageRef, credentialed: frozenset[str]) -> frozenset[str]:
        """The image's registry when it refuses the image to anonymous clients. Asked only when nothing
        else decides: no pattern, no credentialed pull, and no credentials on the step (then the guard
        does nothing whatever the answer)."""
        if self.probe is None or step.credentials or image.name in credentialed:
            return frozenset()
        if self.rules.public_by(image) is not None or self.rules.private_by(image) is not None:
            return frozenset()
        return frozenset({image.registry}) if self.probe.denied(image) else frozenset()

    def _index_pull(self, pull: NewPull) -> None:
        if self.redis is None:
            return
        try:
            index.record_pull(self.redis, image_name=pull.image, digest=pull.digest, build=pull.build_id,
                              repo=pull.repo, credentialed=True, registry_key=pull.registry_key, prefix=self.prefix)
        except RedisError as error:
            log.warning("cache guard: could not index the credentialed pull of %s (%s); the database keeps it",
                        pull.image, type(error).__name__)

    def _first_pull(self, session: Session, pull: NewPull) -> FirstPull | None:
        """The first credentialed pull of the pod's digest: from the index, else from the database."""
        if self.redis is not None and pull.digest:
            try:
                found = index.first_pull(self.redis, pull.digest, prefix=self.prefix)
            except RedisError:
                found = None
            if found is not None:
                return found
        record = first_credentialed_pull(session, digest=pull.digest, image=pull.image)
        if record is None:
            return None
        return FirstPull(build=str(record.build_id), repo=record.repo, registry_key=record.registry_key)
