"""The cache guard's rules, pure: which images are private, what to do before a step pod exists, what is a leak.

A node lets any pod use an image it has cached when the pod's pull policy is IfNotPresent or Never, whether
or not the pod has credentials for it; these rules decide when that matters and what the operator wants done.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pipeline_queue.errors import UsageError
from pipeline_queue.images import ImageRef
from pipeline_queue.pull import POLICIES
from pipeline_queue.registry.patterns import RegistryPattern, RegistryPatternError, first_match, parse_patterns
from pipeline_queue.vocabulary import CacheGuardMode

CACHE_POLICIES = ("IfNotPresent", "Never")
"""Pull policies under which the kubelet may start a cached image without asking the registry."""

CACHED_NODES_SHOWN = 3
"""How many of the nodes caching a private image a risk finding names."""

class CacheGuardError(UsageError):
    """The cache guard's settings are malformed (`PQ_CACHE_GUARD`, `PQ_PRIVATE_REGISTRIES`, `PQ_PUBLIC_REGISTRIES`)."""


GuardAction = Literal["none", "warn", "enforce", "block"]
# Runtimes prefix an imageID with how they found it; what follows is a name@digest or a bare digest.
_IMAGE_ID_SCHEMES = ("docker-pullable://", "docker://", "containerd://")
# go-digest's grammar; without a name before it, only the registered algorithms read as a digest.
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", re.ASCII)
_BARE_DIGEST = re.compile(r"sha(?:256|384|512):[a-f0-9]+", re.ASCII)




@dataclass(frozen=True)
class PrivacyRules:
    """The operator's word on which registries are private or public."""

    private_patterns: tuple[str, ...] = ()
    """`PQ_PRIVATE_REGISTRIES`: registry or repository patterns whose images are private. Default: none."""

    public_patterns: tuple[str, ...] = ()
    """`PQ_PUBLIC_REGISTRIES`: patterns whose images are never flagged, whoever pulled them how. Default: none."""

    probe_anonymous: bool = False
    """`PQ_CACHE_PROBE_ANONYMOUS`: trust a 401 to an anonymous manifest request as proof of privacy. Default: off."""

    _private: tuple[RegistryPattern, ...] = field(init=False, repr=False, compare=False, default=())
    _public: tuple[RegistryPattern, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        try:
            private = parse_patterns(self.private_patterns, what="PQ_PRIVATE_REGISTRIES: registry")
            public = parse_patterns(self.public_patterns, what="PQ_PUBLIC_REGISTRIES: registry")
        except RegistryPatternError as error:
            raise CacheGuardError(error.message) from error
        object.__setattr__(self, "_private", private)
        object.__setattr__(self, "_public", public)

    def public_by(self, image: ImageRef) -> str | None:
        """The first public pattern covering `image`, if any."""
        return first_match(self._public, image)

    def private_by(self, image: ImageRef) -> str | None:
        """The first private pattern covering `image`, if any."""
        return first_match(self._private, image)


@dataclass(frozen=True)
class PrivacyVerdict:
    """Whether an image is private, and the one fact that decided it."""

    private: bool
    reason: str


def is_private(
    image: ImageRef,
    *,
    rules: PrivacyRules,
    credentialed_repos: Collection[str],
    anonymous_denied: bool = False,
) -> PrivacyVerdict:
    """Decide privacy: public patterns first (they always win), then private patterns, credentialed pulls, the probe.

    `credentialed_repos` holds normalized repository names (`ImageRef.name`, `registry.example.com/team/app`)
    that some pipeline pulled with credentials; `anonymous_denied` is the probe's answer (a 401 to an
    anonymous manifest request), heeded only when `rules.probe_anonymous` is on.
    """
    public = rules.public_by(image)
    if public is not None:
        return PrivacyVerdict(private=False, reason=f"{public} is listed as public (PQ_PUBLIC_REGISTRIES)")
    private = rules.private_by(image)
    if private is not None:
        return PrivacyVerdict(private=True, reason=f"{private} is listed as private (PQ_PRIVATE_REGISTRIES)")
    if image.name in credentialed_repos:
        return PrivacyVerdict(private=True, reason=f"a pipeline pulled {image.name} with credentials")
    if anonymous_denied and rules.probe_anonymous:
        return PrivacyVerdict(private=True, reason=f"{image.registry} refused an anonymous manifest request (401)")
    return PrivacyVerdict(
        private=False, reason=f"no pipeline pulled {image.name} with credentials and no private pattern covers it"
    )


@dataclass(frozen=True)
class GuardDecision:
    """What `advance` does with a step pod: its pull policy, whether to record a finding, and what to tell the user."""

    action: GuardAction
    policy: str
    finding_kind: Literal["risk"] | None
    message: str


def guard(
    image: ImageRef,
    policy: str,
    *,
    has_credentials: bool,
    verdict: PrivacyVerdict,
    mode: CacheGuardMode,
    cached_on: Sequence[str] = (),
    pulled_by: str = "",
) -> GuardDecision:
    """The guard's decision for one step: `policy` is the step's imagePullPolicy, `has_credentials` whether
    one of its pull secrets serves the image's registry, `cached_on` the nodes known to hold the image, and
    `pulled_by` another repository whose build pulled it there with credentials ("" when none or the same)."""
    if policy not in POLICIES:
        raise CacheGuardError(f"cache guard: {policy!r} is not an imagePullPolicy ({', '.join(POLICIES)})")
    shown = image.familiar
    if not verdict.private:
        return _no_action(policy, f"{shown}: not private ({verdict.reason})")
    if policy not in CACHE_POLICIES:
        return _no_action(policy, f"{shown}: private, pulled with {policy}, so the kubelet checks credentials")
    if has_credentials:
        return _credentialed(image, policy, mode=mode, cached_on=cached_on, pulled_by=pulled_by)
    risk = (
        f"{shown} is private ({verdict.reason}) and the step has no pull credentials for {image.registry}: "
        f"with imagePullPolicy {policy} a node that has it cached runs it without asking the registry"
        f"{_where_cached(cached_on)}"
    )
    if mode is CacheGuardMode.OFF:
        return _no_action(policy, f"{risk}; the cache guard is off (PQ_CACHE_GUARD=off)")
    if mode is CacheGuardMode.WARN:
        return GuardDecision("warn", policy, "risk", f"{risk}; the pod runs as asked (PQ_CACHE_GUARD=warn)")
    if mode is CacheGuardMode.ENFORCE:
        enforced = f"{risk}; pulling with Always instead, so the kubelet checks credentials (PQ_CACHE_GUARD=enforce)"
        return GuardDecision("enforce", "Always", "risk", enforced)
    blocked = (
        f"step refused (PQ_CACHE_GUARD=block): {risk}. Add image_pull_secrets with credentials for "
        f"{image.registry}, or use pull: always"
    )
    return GuardDecision("block", policy, "risk", blocked)


def _credentialed(image: ImageRef, policy: str, *, mode: CacheGuardMode, cached_on: Sequence[str],
                  pulled_by: str) -> GuardDecision:
    """A private image with credentials: under enforce and block it is pulled with Always all the same, since a
    node with a cached copy would not show the registry the credentials at all, and made-up ones would pass
    (Kubernetes' KEP-2535 rule, on any version); the registry then judges them. Under warn, a copy another
    repository pulled onto a node is a risk: this step's credentials would never be checked."""
    if mode is CacheGuardMode.WARN and pulled_by:
        risk = (f"{image.familiar} is private and a credentialed pull of {pulled_by} put it on a node"
                f"{_where_cached(cached_on)}: with imagePullPolicy {policy} {image.registry} never checks this "
                "step's pull credentials where it is cached (made-up ones would pass); the pod runs as asked "
                "(PQ_CACHE_GUARD=warn)")
        return GuardDecision("warn", policy, "risk", risk)
    if mode in (CacheGuardMode.OFF, CacheGuardMode.WARN):
        return _no_action(policy, f"{image.familiar}: private, and the step has pull credentials for {image.registry}")
    message = (f"{image.familiar} is private: pulling with Always instead of {policy}, so {image.registry} checks "
               f"the step's pull credentials rather than a node's cache (PQ_CACHE_GUARD={mode.value})")
    return GuardDecision("enforce", "Always", None, message)


def _where_cached(nodes: Sequence[str]) -> str:
    if not nodes:
        return ""
    shown = ", ".join(nodes[:CACHED_NODES_SHOWN]) + (f" and {len(nodes) - CACHED_NODES_SHOWN} more"
                                                       if len(nodes) > CACHED_NODES_SHOWN else "")
    return f" (cached now on {shown})"


def _no_action(policy: str, message: str) -> GuardDecision:
    return GuardDecision(action="none", policy=policy, finding_kind=None, message=message)


@dataclass(frozen=True)
class FirstPull:
    """The first pull of an image with credentials: the build that did it, its repository, the registry key used."""

    build: str
    repo: str
    registry_key: str = ""


@dataclass(frozen=True)
class Leak:
    """A step ran a private image without credentials for it: which image (by digest), where, whose pull it used."""

    image: str
    digest: str
    node: str
    first_pull: FirstPull | None
    message: str
    kind: Literal["leak"] = "leak"


def leak_check(
    image: ImageRef,
    *,
    image_id: str,
    node: str,
    has_credentials: bool,
    verdict: PrivacyVerdict,
    first_pull: FirstPull | None,
) -> Leak | None:
    """The after-the-fact rule: a step whose container started (`image_id` from its pod status) on `node`
    from a private image it had no credentials for leaked that image; `first_pull` is that digest's first
    credentialed pull, when one is on record."""
    digest = digest_of(image_id)
    if not digest or not verdict.private or has_credentials:
        return None
    origin = (
        f"; build {first_pull.build} of {first_pull.repo} first pulled it with credentials"
        if first_pull is not None
        else "; no credentialed pull of it is on record"
    )
    message = (
        f"{image.familiar} ({digest}) ran on node {node or 'unknown'} without pull credentials for "
        f"{image.registry}, from that node's cache; the image is private ({verdict.reason}){origin}"
    )
    return Leak(image=image.familiar, digest=digest, node=node, first_pull=first_pull, message=message)


def digest_of(image_id: str) -> str:
    """The digest in a container status `imageID` (`docker.io/x@sha256:..`, `docker-pullable://x@sha256:..`,
    `sha256:..`); "" when there is none."""
    text = image_id.strip()
    for scheme in _IMAGE_ID_SCHEMES:
        text = text.removeprefix(scheme)
    _, at, digest = text.rpartition("@")
    if not at and not _BARE_DIGEST.fullmatch(text):
        return ""  # a bare `name:tag` carries no digest
    return digest if _DIGEST.fullmatch(digest) else ""
