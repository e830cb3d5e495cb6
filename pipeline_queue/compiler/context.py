"""What the compiler is told besides the pipeline: the build being run and the operator's settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline_queue.compiler.naming import short_hash
from pipeline_queue.pull import PullSettings
from pipeline_queue.vocabulary import DEFAULT_CPU, DEFAULT_MEMORY

_PULL_REF_RE = re.compile(r"^refs/(?:pull|pull-requests|merge-requests)/(\d+)/")
TAG_REF_PREFIX = "refs/tags/"
DEFAULT_CLONE_IMAGE = "alpine/git:2.45.2"
"""The clone step's image: git on Alpine, with /bin/sh, at a pinned tag (pulled if not present)."""


@dataclass(frozen=True)
class BuildContext:
    """One run of one stage: the commit, the event and the secrets the repository owns."""

    repo: str = "local/repo"
    """`owner/name` of the repository."""
    commit: str = "0" * 40
    branch: str = "main"
    """The branch built (for a pull request: the branch it targets, as Drone's DRONE_BRANCH)."""
    ref: str = ""
    """The git ref; default `refs/tags/<tag>`, `refs/pull/<n>/head` or `refs/heads/<branch>`."""
    event: str = "push"
    build_number: int = 1
    stage_number: int = 1
    stage_key: str = ""
    """The unique key of this stage run, chosen by the producer; every object name and the stage label derive
    from it. Without one, a local key derived from repo, build number and pipeline name (`compile`, `explain`)."""
    stage_id: int = 0
    """The stage's id in the store, which the pod watcher routes events by (annotated on every pod); 0 for a
    stage that is not stored (then the key is annotated, which the watcher ignores)."""
    namespace: str = "default"
    """Where the objects go unless the pipeline's metadata.namespace says otherwise."""
    target_branch: str = ""
    """Default: `branch`."""
    source_branch: str = ""
    """Default: `branch`."""
    tag: str = ""
    """Default: taken from a `refs/tags/` ref."""
    pull_request: str = ""
    """Default: the number in a `refs/pull/<n>/...` ref."""
    link: str = ""
    """The commit (or compare) link at the SCM: DRONE_COMMIT_LINK."""
    author: str = ""
    """The author's login (DRONE_COMMIT_AUTHOR)."""
    author_name: str = ""
    author_email: str = ""
    author_avatar: str = ""
    message: str = ""
    before: str = ""
    """The previous head of a push (DRONE_COMMIT_BEFORE); a pull request's base where the host says."""
    action: str = ""
    """A pull request's action (`opened`, `synchronized`, `reopened`: DRONE_BUILD_ACTION); empty for pushes."""
    title: str = ""
    """A pull request's title (DRONE_PULL_REQUEST_TITLE)."""
    trigger: str = ""
    """What started the build (DRONE_BUILD_TRIGGER): `@hook` for a webhook, else who ran or restarted it."""
    parent: int = 0
    """The build this one restarts (DRONE_BUILD_PARENT); 0 for none."""
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Repository secrets by name: `from_secret` values and `image_pull_secrets` config.json files."""
    trusted: bool = True
    """Whether the repository is trusted (local runs are the operator's own); an untrusted one's `secret` volumes
    mount its own secrets only, from the stage's Secret."""
    created: int = 0
    """Unix time the build was created."""
    system_host: str = "localhost"
    system_proto: str = "http"
    repo_branch: str = ""
    """The repository's default branch (DRONE_REPO_BRANCH); default: `branch`."""
    workspace_claim_size: str = "1Gi"
    clone_url: str = field(default="", repr=False)
    """Where the clone step fetches the commit from (the repository's registered clone URL, in DRONE_REMOTE_URL);
    empty: no clone step, the steps start in an empty workspace (`pipeline-queue run FILE`)."""

    def effective_stage_key(self, pipeline_name: str) -> str:
        if self.stage_key:
            return self.stage_key
        digest = short_hash(f"{self.repo}\n{self.build_number}\n{pipeline_name}")
        return f"{self.build_number}-{digest}"

    @property
    def effective_tag(self) -> str:
        if self.tag:
            return self.tag
        return self.ref.removeprefix(TAG_REF_PREFIX) if self.ref.startswith(TAG_REF_PREFIX) else ""

    @property
    def effective_pull_request(self) -> str:
        if self.pull_request:
            return self.pull_request
        match = _PULL_REF_RE.match(self.ref)
        return match.group(1) if match else ""

    @property
    def effective_ref(self) -> str:
        if self.ref:
            return self.ref
        if self.tag:
            return f"{TAG_REF_PREFIX}{self.tag}"
        if self.pull_request:
            return f"refs/pull/{self.pull_request}/head"
        return f"refs/heads/{self.branch}"


@dataclass(frozen=True)
class CompilerSettings:
    """The operator's choices that shape every compiled stage."""

    pull: PullSettings = field(default_factory=PullSettings)
    """Which pull policies pipelines may ask for, and registries always pulled."""
    runner_name: str = "pipeline-queue"
    """DRONE_RUNNER_NAME in every step."""
    storage_class: str = ""
    """storageClassName of workspace claims; empty means the cluster's default class."""
    default_cpu: str = DEFAULT_CPU
    """The cpu request and limit of a step that names neither (`PQ_DEFAULT_CPU`); "" for none."""
    default_memory: str = DEFAULT_MEMORY
    """The memory request and limit of a step that names neither (`PQ_DEFAULT_MEMORY`); "" for none."""
    clone_image: str = DEFAULT_CLONE_IMAGE
    """The image of the clone step (Drone's DRONE_RUNNER_CLONE_IMAGE); it needs git and /bin/sh."""
