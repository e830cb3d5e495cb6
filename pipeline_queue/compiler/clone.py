"""Drone's clone step: a build with a clone URL first fetches its commit into the workspace, as a step of its own.

The URL, the commit and the ref reach git through the step's environment (DRONE_REMOTE_URL, DRONE_COMMIT_SHA,
DRONE_COMMIT_REF), never through the script's text: neither Drone's `${...}` substitution nor Kubernetes' `$(VAR)`
expansion touches them, and the trace prints the variables' names, not a URL that may carry credentials.
"""

from __future__ import annotations

from pipeline_queue.compiler.context import BuildContext, CompilerSettings
from pipeline_queue.compiler.graph import CLONE_STEP
from pipeline_queue.errors import CompileError
from pipeline_queue.spec.models import Clone, Pipeline, Step

CLONE_PULL = "if-not-exists"


def clone_step(pipeline: Pipeline, context: BuildContext, settings: CompilerSettings) -> Step | None:
    """The stage's clone step; None without a clone URL or with `clone: disable: true`."""
    if not context.clone_url or pipeline.clone.disable:
        return None
    _check_name_is_free(pipeline)
    return Step.model_validate({
        "name": CLONE_STEP,
        "image": settings.clone_image,
        "pull": CLONE_PULL,
        "commands": clone_commands(pipeline.clone),
        "environment": clone_environment(pipeline.clone),
    })


def clone_commands(clone: Clone) -> list[str]:
    """Fetch the commit (by sha, else its ref, as deep as `clone.depth`: the whole history by default, as
    Drone's) into the step's working directory, the workspace, and check it out."""
    depth = f" --depth={clone.depth}" if clone.depth and clone.depth > 0 else ""
    fetch = f'git fetch{depth} origin "$DRONE_COMMIT_SHA" || git fetch{depth} origin "$DRONE_COMMIT_REF"'
    retries = clone.retries if clone.retries and clone.retries > 0 else 0
    if retries:
        # `clone: retries: N` as Drone's clone plugin counts it: N more attempts after the first.
        fetch = (f'attempt=0; until {fetch}; do attempt=$((attempt + 1)); [ "$attempt" -le {retries} ] || exit 1; '
                 f'echo "fetch failed; retry $attempt of {retries}"; done')
    return [
        "git init -q",
        'git remote add origin "$DRONE_REMOTE_URL"',
        fetch,
        'git checkout -qf "$DRONE_COMMIT_SHA"',
    ]


def clone_environment(clone: Clone) -> dict[str, str]:
    """git's own variables for the clone (Drone's runner sets the same): never a prompt; trace and TLS as asked."""
    environment = {"GIT_TERMINAL_PROMPT": "0"}
    if clone.skip_verify:
        environment["GIT_SSL_NO_VERIFY"] = "true"
    if clone.trace:
        environment["GIT_TRACE"] = "true"
    return environment


def _check_name_is_free(pipeline: Pipeline) -> None:
    # Only the very name slugs to the clone step's slug (a slug that changed anything carries a hash).
    for kind, step in [("service", s) for s in pipeline.services] + [("step", s) for s in pipeline.steps]:
        if step.name == CLONE_STEP:
            raise CompileError(f"{kind} {step.name!r}: the name is taken by the clone step; "
                               "rename the step or set clone: disable: true")
