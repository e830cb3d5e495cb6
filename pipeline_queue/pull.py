"""Pull-policy decisions: a step's `pull:` and image, narrowed by the operator's settings.

The table is Drone's documented one; operators restrict it the way GitLab Runner's
`allowed_pull_policies` does, and may force `Always` for chosen registries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline_queue.errors import CompileError, UsageError
from pipeline_queue.images import ImageRef, is_latest
from pipeline_queue.registry.patterns import RegistryPattern, RegistryPatternError, first_match, parse_patterns

POLICIES = ("Always", "IfNotPresent", "Never")
REQUESTED = {"always": "Always", "if-not-exists": "IfNotPresent", "never": "Never"}
# Drone's runner reads `default` like an absent `pull:`.
_UNSET = ("", "default")
_WORDS = {"Always": "always pulled", "IfNotPresent": "pulled if not present", "Never": "never pulled"}


class PullPolicyError(CompileError):
    """A step asks for a pull policy that does not exist or that the operator does not allow."""


class PullSettingsError(UsageError):
    """The operator's pull settings are contradictory or malformed."""


@dataclass(frozen=True)
class PullSettings:
    """What the operator lets pipelines ask for."""

    allowed: tuple[str, ...] = POLICIES
    """Policies a pipeline may end up with, by Kubernetes name. Default: all three."""

    always_registries: tuple[str, ...] = ()
    """Registry patterns whose images are always pulled, whatever the step says. Default: none."""

    _patterns: tuple[RegistryPattern, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        unknown = [policy for policy in self.allowed if policy not in POLICIES]
        if unknown or not self.allowed:
            raise PullSettingsError(
                f"allowed pull policies {list(self.allowed)} must be a non-empty choice of {', '.join(POLICIES)}"
            )
        if self.always_registries and "Always" not in self.allowed:
            raise PullSettingsError(
                "always-pulled registries are set but Always is not an allowed pull policy; allow Always"
            )
        try:
            patterns = parse_patterns(self.always_registries, what="always-pulled registry")
        except RegistryPatternError as error:
            raise PullSettingsError(error.message) from error
        object.__setattr__(self, "_patterns", patterns)

    def forced_by(self, image: ImageRef) -> str | None:
        """The first always-pulled registry pattern that covers `image`, if any."""
        return first_match(self._patterns, image)


@dataclass(frozen=True)
class PullDecision:
    """The `imagePullPolicy` for one image, and why."""

    policy: str
    reason: str
    requested: str


DEFAULT_SETTINGS = PullSettings()


def decide_pull(image: ImageRef, requested: str = "", settings: PullSettings = DEFAULT_SETTINGS) -> PullDecision:
    """The policy for `image` given the step's `pull:` value (`""` when absent) and the operator's settings."""
    if requested not in REQUESTED and requested not in _UNSET:
        raise PullPolicyError(
            f"pull: {requested!r} is not a pull policy; use one of {', '.join(REQUESTED)} (or leave it out)"
        )
    forced = settings.forced_by(image)
    if forced is not None:
        overridden = f", overriding pull: {requested}" if requested not in _UNSET else ""
        reason = f"registry {forced} is always pulled (operator setting){overridden}"
        return PullDecision(policy="Always", reason=reason, requested=requested)
    if requested not in _UNSET:
        return _requested_decision(requested, settings)
    return _default_decision(image, requested, settings)


def _requested_decision(requested: str, settings: PullSettings) -> PullDecision:
    policy = REQUESTED[requested]
    if policy not in settings.allowed:
        allowed_values = [value for value, name in REQUESTED.items() if name in settings.allowed]
        raise PullPolicyError(
            f"pull: {requested} ({policy}) is not allowed by this runner; allowed: "
            f"{', '.join(allowed_values)} ({', '.join(settings.allowed)}), or leave pull: out"
        )
    return PullDecision(policy=policy, reason=f"pull: {requested} in the step: {_WORDS[policy]}", requested=requested)


def _default_decision(image: ImageRef, requested: str, settings: PullSettings) -> PullDecision:
    """Drone's documented default: `latest` (or nothing) is always pulled, anything pinned only if missing."""
    if image.tag == "latest":
        what, policy = "tag latest", "Always"
    elif is_latest(image):
        what, policy = "no tag or digest (latest)", "Always"
    elif image.tag:
        what, policy = f"tag {image.tag}", "IfNotPresent"
    else:
        what, policy = "digest pinned", "IfNotPresent"
    reason = f"{what}: {_WORDS[policy]} (no pull: given)"
    if policy not in settings.allowed:
        chosen = next(name for name in POLICIES if name in settings.allowed)
        reason = f"{what}: would be {policy}, which is not allowed; {_WORDS[chosen]} instead (no pull: given)"
        policy = chosen
    return PullDecision(policy=policy, reason=reason, requested=requested)
