"""Plain frozen values the store takes in and hands out; no ORM object ever leaves a session.

A step's pull credentials are recorded as the compiler's `CredentialSource`, which has no field for a
password: a password cannot reach the database through this API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline_queue.compiler.plan import CredentialSource
from pipeline_queue.vocabulary import DEFAULT_STAGE_TIMEOUT, FindingKind, Status, StepKind


@dataclass(frozen=True)
class NewStage:
    """A pipeline of a new build, created pending; its compiled plan (and with it its steps) is stored next,
    once the stage's id is known (`set_stage_plan`)."""

    name: str
    depends_on: tuple[str, ...] = ()
    timeout_seconds: int = DEFAULT_STAGE_TIMEOUT


@dataclass(frozen=True)
class NewBuild:
    """What the producer knows about the event that starts a build."""

    repo: str
    event: str
    branch: str = ""
    ref: str = ""
    commit: str = ""
    message: str = ""
    author: str = ""
    trigger: str = ""
    blocked: bool = False
    """Created `blocked`: its stages wait for `build approve` (a pull request from a fork of an untrusted repo)."""
    facts: Mapping[str, Any] = field(default_factory=dict)
    """The event's other facts, as the producer names them (JSON values)."""
    config_path: str = ""
    config: str = field(default="", repr=False)
    """The pipeline file's text, as run."""
    parent: int = 0


DEFAULT_CONFIG_PATH = ".drone.yml"
"""The pipeline file a repository's builds read unless its `config_path` says otherwise (Drone's default)."""


@dataclass(frozen=True)
class RepositoryRecord:
    """A repository row; its webhook secret is only said to exist (`has_webhook_secret`), never carried."""

    id: int
    slug: str
    created: datetime
    registered: bool
    """Added with `repo add`; False for a row a build of an unknown slug created, or a removed repository's."""
    trusted: bool
    clone_url: str
    config_path: str
    namespace: str
    """The namespace its builds run in; empty means the operator's `PQ_NAMESPACE`."""
    has_webhook_secret: bool
    updated: datetime


@dataclass(frozen=True)
class SecretRecord:
    """What may be shown of a repository secret: there is no field that could hold its value."""

    repo: str
    name: str
    allow_pull_request: bool
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class SecretPut:
    """The secret after `put_secret`; `created` is False when it replaced one of the same name."""

    secret: SecretRecord
    created: bool


@dataclass(frozen=True)
class SealedSecret:
    """A repository secret as stored, for the vault to open: the ciphertext stays out of `repr`."""

    repo: str
    name: str
    allow_pull_request: bool
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True)
class SealedWebhookSecret:
    """A repository's webhook secret as stored, for the vault to open or re-seal."""

    repo: str
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True)
class BuildRecord:
    """A build row; `repo` is the repository's `owner/name`."""

    id: int
    repo_id: int
    repo: str
    number: int
    status: Status
    event: str
    branch: str
    ref: str
    commit: str
    message: str
    author: str
    trigger: str
    cancel_requested: bool
    created: datetime
    started: datetime | None
    finished: datetime | None
    facts: Mapping[str, Any] = field(default_factory=dict)
    config_path: str = ""
    parent: int = 0
    """The build this one restarts; 0 for none. (The pipeline file's text is read with `build_config`.)"""


@dataclass(frozen=True)
class StepRecord:
    id: int
    stage_id: int
    name: str
    number: int
    kind: StepKind
    status: Status
    exit_code: int | None
    node: str
    image: str
    image_id: str
    pull_policy: str
    credential_source: CredentialSource | None
    error: str
    detach: bool
    ignore_failure: bool
    started: datetime | None
    finished: datetime | None


@dataclass(frozen=True)
class StageRecord:
    """A stage with its steps in order; `version` grows by one on every change to the stage row."""

    id: int
    build_id: int
    name: str
    number: int
    status: Status
    depends_on: tuple[str, ...]
    plan: dict[str, Any]
    namespace: str
    error: str
    timeout_seconds: int
    version: int
    started: datetime | None
    finished: datetime | None
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True)
class FindingRecord:
    id: int
    build_id: int
    step_id: int | None
    kind: FindingKind
    image: str
    node: str
    mode: str
    action: str
    detail: str
    created: datetime


@dataclass(frozen=True)
class BuildDetail:
    """A build with its stages (each with its steps) and its findings."""

    build: BuildRecord
    stages: tuple[StageRecord, ...]
    findings: tuple[FindingRecord, ...]


@dataclass(frozen=True)
class LogRecord:
    step_id: int
    text: str
    truncated: bool


@dataclass(frozen=True)
class ActiveStage:
    """A stage that is not finished, for the periodic resync to advance."""

    id: int
    build_id: int
    status: Status
    version: int
    started: datetime | None
    timeout_seconds: int
    cancel_requested: bool


@dataclass(frozen=True)
class StepUpdate:
    """The step after `update_step`; `changed` is False when the update was stale or repeated."""

    step: StepRecord
    changed: bool


@dataclass(frozen=True)
class FindingAdded:
    """The finding after `add_finding`; `created` is False when an equal one was already recorded."""

    finding: FindingRecord
    created: bool
