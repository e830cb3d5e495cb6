"""The cache guard's edge: what `advance` reads for the guard with a stage's pods, and how it records what the
guard found (findings, pull records, metrics).

The decisions are `cache.guard`'s, made in between by the reconcile's pure `decide`. Redis being unreachable
never stops a run: the guard then knows only the operator's patterns and the database, and says so in the
worker's log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pipeline_queue import keys, metrics
from pipeline_queue.broker import RedisClient, RedisError
from pipeline_queue.cache import index
from pipeline_queue.cache.guard import GuardView, ImageFacts, log_line, privacy_rules
from pipeline_queue.cache.probe import AnonymousProbe
from pipeline_queue.cache.rules import FirstPull, digest_of, is_private
from pipeline_queue.compiler.plan import CONTAINER, StagePlan, StepPlan
from pipeline_queue.images import ImageRef
from pipeline_queue.settings import CacheConfig
from pipeline_queue.store import add_finding, append_log
from pipeline_queue.store.findings import list_findings
from pipeline_queue.store.pulls import NewPull, first_credentialed_pull
from pipeline_queue.store.pulls import record_pull as store_pull
from pipeline_queue.vocabulary import FindingKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FindingToRecord:
    """A finding the guard made on one step of a build, to be recorded once."""

    build_id: int
    step_id: int
    kind: FindingKind
    image: str
    action: str
    detail: str
    node: str = ""


class CacheGuard:
    """The guard's edge in one worker process: its settings and the Redis that holds the node cache index."""

    def __init__(self, config: CacheConfig, *, redis: RedisClient | None, prefix: str = keys.DEFAULT_PREFIX,
                 probe: AnonymousProbe | None = None) -> None:
        """`probe` says how to ask registries (tests give a plain-HTTP one); it is used only when
        `config.probe_anonymous` is on, and none is made otherwise."""
        self.mode = config.guard
        self.rules = privacy_rules(config)
        self.redis, self.prefix = redis, prefix
        self.probe = (probe or AnonymousProbe(redis=redis, prefix=prefix)) if config.probe_anonymous else None

    # -- reading, with the pods ---------------------------------------------------------------------

    def read(self, session: Session, plan: StagePlan, pods: Mapping[str, Mapping[str, Any]], *, build_id: int,
             repo: str, step_ids: Mapping[str, int]) -> GuardView:
        """What the guard needs to judge the stage's steps now: each image's privacy, the nodes caching it and
        who pulled it first, the first credentialed pull of each digest its pods run, and the risks already
        recorded on its steps."""
        images = self._image_facts(session, plan.all_steps)
        private = [step for step in plan.all_steps if images[step.image.name].verdict.private and not step.credentials]
        return GuardView(
            mode=self.mode,
            repo=repo,
            images=images,
            first_pulls=self._first_pulls(session, private, pods),
            risks=_risks(session, build_id=build_id, step_ids=step_ids),
        )

    def _image_facts(self, session: Session, steps: Iterable[StepPlan]) -> dict[str, ImageFacts]:
        by_name: dict[str, ImageRef] = {}
        uncredentialed: set[str] = set()
        for step in steps:
            by_name.setdefault(step.image.name, step.image)
            if not step.credentials:
                uncredentialed.add(step.image.name)
        credentialed = self._indexed(lambda redis: index.credentialed_among(redis, by_name, prefix=self.prefix),
                                     frozenset(), what="which images were pulled with credentials")
        facts = {}
        for name, image in by_name.items():
            denied = name in uncredentialed and name not in credentialed and self._denied(image)
            verdict = is_private(image, rules=self.rules, credentialed_repos=credentialed, anonymous_denied=denied)
            if not verdict.private:
                facts[name] = ImageFacts(verdict=verdict)
                continue
            first = self._first_pull(session, identity=name, image=image.reference) if name in credentialed else None
            facts[name] = ImageFacts(verdict=verdict, cached_on=self._cached_on(image),
                                     pulled_by=first.repo if first is not None else "")
        return facts

    def _cached_on(self, image: ImageRef) -> tuple[str, ...]:
        # A pinned digest is cached under whatever name a node lists it; a tag, under that name.
        wanted = image.digest or image.reference
        nodes: tuple[str, ...] = self._indexed(lambda redis: index.nodes_with(redis, wanted, prefix=self.prefix),
                                               (), what=f"which nodes cache {image.familiar}")
        return nodes

    def _denied(self, image: ImageRef) -> bool:
        """Whether the image's registry refuses it to anonymous clients; asked only when no pattern decides."""
        if self.probe is None or self.rules.public_by(image) is not None or self.rules.private_by(image) is not None:
            return False
        return bool(self.probe.denied(image))

    def _first_pulls(self, session: Session, steps: Iterable[StepPlan],
                     pods: Mapping[str, Mapping[str, Any]]) -> dict[str, FirstPull]:
        """The first credentialed pull of every digest the given steps' pods run: from the index, else the database."""
        found: dict[str, FirstPull] = {}
        for step in steps:
            digest = digest_of(_image_id(pods.get(step.pod_name)))
            if digest and digest not in found:
                first = self._first_pull(session, identity=digest, digest=digest, image=step.image.reference)
                if first is not None:
                    found[digest] = first
        return found

    def _first_pull(self, session: Session, *, identity: str, digest: str = "", image: str = "") -> FirstPull | None:
        """The first credentialed pull of a digest or an image repository: from the index, else the database."""
        first: FirstPull | None = self._indexed(lambda redis: index.first_pull(redis, identity, prefix=self.prefix),
                                                None, what=f"the first pull of {identity}")
        if first is None:
            record = first_credentialed_pull(session, digest=digest, image=image)
            if record is not None:
                first = FirstPull(build=str(record.build_id), repo=record.repo, registry_key=record.registry_key)
        return first

    def _indexed(self, read: Any, fallback: Any, *, what: str) -> Any:
        if self.redis is None:
            return fallback
        try:
            return read(self.redis)
        except RedisError as error:
            log.warning("cache guard: the node cache index is unreachable (%s) reading %s; judging by the "
                        "registry patterns and the database only", type(error).__name__, what)
            return fallback

    # -- recording what the guard found ---------------------------------------------------------------

    def record_finding(self, session: Session, finding: FindingToRecord) -> bool:
        """Record a finding once (a repeated `advance` finds it recorded); a new risk is also told in the step's
        log. Whether it was new."""
        added = add_finding(session, build_id=finding.build_id, kind=finding.kind, image=finding.image,
                            mode=self.mode.value, action=finding.action, step_id=finding.step_id, node=finding.node,
                            detail=finding.detail)
        if not added.created:
            return False
        metrics.count_finding(kind=finding.kind.value, action=finding.action)
        if finding.kind is FindingKind.RISK:
            append_log(session, finding.step_id, log_line(finding.detail))
        log.log(logging.WARNING if finding.kind is FindingKind.LEAK else logging.INFO,
                "cache guard, build %s step %s: %s", finding.build_id, finding.step_id, finding.detail)
        return True

    def record_pull(self, session: Session, pull: NewPull) -> None:
        """Keep the pull record of a started pod; a credentialed pull also goes into the index (privacy by fact)."""
        if not store_pull(session, pull) or not pull.credentialed:
            return
        self._indexed(lambda redis: index.record_pull(redis, image_name=pull.image, digest=pull.digest,
                                                      build=pull.build_id, repo=pull.repo, credentialed=True,
                                                      registry_key=pull.registry_key, prefix=self.prefix),
                      False, what=f"the credentialed pull of {pull.image} (the database keeps it)")


def _image_id(pod: Mapping[str, Any] | None) -> str:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == CONTAINER:
            return str(status.get("imageID") or "")
    return ""


def _risks(session: Session, *, build_id: int, step_ids: Mapping[str, int]) -> dict[str, tuple[str, ...]]:
    names = {step_id: name for name, step_id in step_ids.items()}
    risks: dict[str, list[str]] = {}
    for finding in list_findings(session, build_id=build_id):
        if finding.kind is FindingKind.RISK and finding.step_id in names:
            risks.setdefault(names[finding.step_id], []).append(finding.detail)
    return {name: tuple(details) for name, details in risks.items()}
