"""`when` and `trigger`, evaluated as Drone does: include/exclude globs per field, a run policy from `status`.

Globs follow Go's `filepath.Match` (`*` and `?` stop at `/`), as in Drone's runner-go; a malformed
pattern matches nothing. `paths` needs the changed files, which a runner never has: it is not evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline_queue.compiler.plan import UpstreamPolicy
from pipeline_queue.registry.gostd import BadPatternError, path_match
from pipeline_queue.spec.models import Condition, Conditions

SUCCESS, FAILURE = "success", "failure"


@dataclass(frozen=True)
class BuildFacts:
    """What a step's `when` is matched against; `branch` is the target branch for a pull request."""

    repo: str = ""
    branch: str = ""
    event: str = ""
    ref: str = ""
    target: str = ""
    """The deployment target of a `promote`/`rollback` event."""
    instance: str = ""
    """The host the server is reached at (Drone's DRONE_SYSTEM_HOST)."""
    cron: str = ""
    """The cron job's name, for `cron` events."""
    action: str = ""
    """The event's action, e.g. `opened` or `synchronized` for a pull request."""


class RunPolicy(StrEnum):
    """When a step runs, given how the stage is doing when its turn comes."""

    ON_SUCCESS = "on-success"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"
    NEVER = "never"


def glob_match(pattern: str, value: str) -> bool:
    """Go's `filepath.Match`; a malformed pattern matches nothing (Drone ignores the error), and so does text Go
    could not hold (a lone surrogate has no UTF-8 form)."""
    try:
        return path_match(pattern, value)
    except (BadPatternError, UnicodeEncodeError):
        return False


def condition_matches(condition: Condition, value: str) -> bool:
    """Drone's Condition.Match: an exclude wins, then an include; no includes means everything is included."""
    if any(glob_match(pattern, value) for pattern in condition.exclude):
        return False
    if any(glob_match(pattern, value) for pattern in condition.include):
        return True
    return not condition.include


def facts_match(when: Conditions, facts: BuildFacts) -> bool:
    """Every field but `status` and `paths` matches the build."""
    pairs = (
        (when.action, facts.action),
        (when.cron, facts.cron),
        (when.ref, facts.ref),
        (when.repo, facts.repo),
        (when.instance, facts.instance),
        (when.target, facts.target),
        (when.event, facts.event),
        (when.branch, facts.branch),
    )
    return all(condition_matches(condition, value) for condition, value in pairs)


def run_policy(when: Conditions, facts: BuildFacts) -> RunPolicy:
    """NEVER when the build does not match; else from `status` (default: run only while all goes well)."""
    if not facts_match(when, facts):
        return RunPolicy.NEVER
    status = when.status
    if status.empty:
        return RunPolicy.ON_SUCCESS
    on_failure, on_success = condition_matches(status, FAILURE), condition_matches(status, SUCCESS)
    if on_failure and on_success:
        return RunPolicy.ALWAYS
    if on_failure:
        return RunPolicy.ON_FAILURE
    # A status list naming neither (a typo) runs on success, as Drone's runners do.
    return RunPolicy.ON_SUCCESS


def should_run(policy: RunPolicy, *, failing: bool) -> bool:
    """Whether a step with `policy` runs now that the stage is (or is not) failing."""
    if policy is RunPolicy.ALWAYS:
        return True
    if policy is RunPolicy.ON_FAILURE:
        return failing
    if policy is RunPolicy.ON_SUCCESS:
        return not failing
    return False


def upstream_policy(trigger: Conditions) -> UpstreamPolicy:
    """Whether a pipeline that waits on others runs when the build passes and when it fails, from its trigger's
    `status` (Drone: without one, it runs only while the build passes)."""
    status = trigger.status
    on_failure = False if status.empty else condition_matches(status, FAILURE)
    return UpstreamPolicy(success=condition_matches(status, SUCCESS), failure=on_failure)
