"""The database tables as typed SQLAlchemy models: repositories, builds, stages, steps, logs, findings, pulls,
secrets.

Only `pipeline_queue.store` touches these; everything it hands out is a frozen record (records.py).
The migrations in migrations/versions create exactly these tables (a test compares them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pipeline_queue.store.columns import UtcDateTime, enum_column, utcnow
from pipeline_queue.store.records import DEFAULT_CONFIG_PATH
from pipeline_queue.vocabulary import FindingKind, Status, StepKind

# Deterministic constraint names, identical on every database, so that later migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class Repository(Base):
    """A source repository, known by its `owner/name` slug.

    `registered` ones were added with `repo add`; a build of an unknown slug (a local `run --repo`) creates an
    unregistered row, which has no settings and no secrets.
    """

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    registered: Mapped[bool] = mapped_column(default=False)
    trusted: Mapped[bool] = mapped_column(default=False)
    clone_url: Mapped[str] = mapped_column(sa.String(1024), default="")
    config_path: Mapped[str] = mapped_column(sa.String(500), default=DEFAULT_CONFIG_PATH)
    # Empty: the operator's PQ_NAMESPACE.
    namespace: Mapped[str] = mapped_column(sa.String(63), default="")
    # Sealed by pipeline_queue.vault and bound to the slug; never plaintext. NULL when the repository has none.
    webhook_secret: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class Build(Base):
    """One run of a repository's pipelines for one event; `number` counts per repository from 1."""

    __tablename__ = "builds"
    __table_args__ = (
        sa.UniqueConstraint("repo_id", "number", name="uq_builds_repo_id_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(sa.ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int]
    status: Mapped[Status] = mapped_column(enum_column(Status), default=Status.PENDING)
    event: Mapped[str] = mapped_column(sa.String(32))
    branch: Mapped[str] = mapped_column(sa.String(500), default="")
    ref: Mapped[str] = mapped_column(sa.String(500), default="")
    commit: Mapped[str] = mapped_column(sa.String(64), default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    author: Mapped[str] = mapped_column(sa.String(255), default="")
    trigger: Mapped[str] = mapped_column(sa.String(255), default="")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # What a restart runs again: the event's other facts (a pull request's title, the fork flag, the author's
    # e-mail; the DRONE_* variables), the pipeline file's name and its text as read at the commit.
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    config_path: Mapped[str] = mapped_column(sa.String(500), default="")
    config: Mapped[str] = mapped_column(sa.Text, default="")
    parent: Mapped[int] = mapped_column(default=0)
    """The build this one restarts (DRONE_BUILD_PARENT); 0 for none."""
    created: Mapped[datetime] = mapped_column(default=utcnow)
    started: Mapped[datetime | None]
    finished: Mapped[datetime | None]

    repository: Mapped[Repository] = relationship(lazy="joined", innerjoin=True)
    stages: Mapped[list[Stage]] = relationship(
        back_populates="build", order_by="Stage.number", cascade="all, delete-orphan", passive_deletes=True
    )
    findings: Mapped[list[Finding]] = relationship(
        order_by="Finding.id", cascade="all, delete-orphan", passive_deletes=True
    )


# Newest first is how builds are listed.
sa.Index("ix_builds_created", Build.created.desc())


class Stage(Base):
    """One pipeline of a build: its compiled, secret-free plan is what the workers reconcile."""

    __tablename__ = "stages"
    __table_args__ = (
        sa.UniqueConstraint("build_id", "number", name="uq_stages_build_id_number"),
        sa.UniqueConstraint("build_id", "name", name="uq_stages_build_id_name"),
        sa.Index("ix_stages_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(sa.ForeignKey("builds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(255))
    number: Mapped[int]
    status: Mapped[Status] = mapped_column(enum_column(Status), default=Status.PENDING)
    depends_on: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    plan: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    namespace: Mapped[str] = mapped_column(sa.String(63), default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    timeout_seconds: Mapped[int]
    started: Mapped[datetime | None]
    finished: Mapped[datetime | None]
    version: Mapped[int] = mapped_column()

    build: Mapped[Build] = relationship(back_populates="stages")
    steps: Mapped[list[Step]] = relationship(
        back_populates="stage", order_by="Step.number", cascade="all, delete-orphan", passive_deletes=True
    )

    # Optimistic locking: every change to a stage row bumps `version`, and ORM flushes check it.
    __mapper_args__ = {"version_id_col": version}


class Step(Base):
    """One container of a stage (a step or a service), run as its own pod."""

    __tablename__ = "steps"
    __table_args__ = (
        sa.UniqueConstraint("stage_id", "number", name="uq_steps_stage_id_number"),
        sa.UniqueConstraint("stage_id", "name", name="uq_steps_stage_id_name"),
        sa.Index("ix_steps_stage_id", "stage_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(255))
    number: Mapped[int]
    kind: Mapped[StepKind] = mapped_column(enum_column(StepKind), default=StepKind.STEP)
    status: Mapped[Status] = mapped_column(enum_column(Status), default=Status.PENDING)
    exit_code: Mapped[int | None]
    node: Mapped[str] = mapped_column(sa.String(253), default="")
    image: Mapped[str] = mapped_column(sa.String(1024), default="")
    image_id: Mapped[str] = mapped_column(sa.String(1024), default="")
    pull_policy: Mapped[str] = mapped_column(sa.String(16), default="")
    # Where the pull credentials came from; there is deliberately no column for the password.
    credential_secret: Mapped[str | None] = mapped_column(sa.String(255))
    credential_registry: Mapped[str | None] = mapped_column(sa.String(1024))
    credential_username: Mapped[str | None] = mapped_column(sa.String(255))
    error: Mapped[str] = mapped_column(sa.Text, default="")
    detach: Mapped[bool] = mapped_column(default=False)
    ignore_failure: Mapped[bool] = mapped_column(default=False)
    started: Mapped[datetime | None]
    finished: Mapped[datetime | None]

    stage: Mapped[Stage] = relationship(back_populates="steps")


class Log(Base):
    """The output of one step; TEXT holds up to 1 GB on PostgreSQL, far above the store's limit."""

    __tablename__ = "logs"

    step_id: Mapped[int] = mapped_column(sa.ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    truncated: Mapped[bool] = mapped_column(default=False)


class Finding(Base):
    """What the cache guard saw: a private image at risk of being, or being, run without credentials."""

    __tablename__ = "findings"
    __table_args__ = (sa.UniqueConstraint("build_id", "dedupe_key", name="uq_findings_build_id_dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(sa.ForeignKey("builds.id", ondelete="CASCADE"))
    step_id: Mapped[int | None] = mapped_column(sa.ForeignKey("steps.id", ondelete="CASCADE"))
    kind: Mapped[FindingKind] = mapped_column(enum_column(FindingKind))
    image: Mapped[str] = mapped_column(sa.String(1024))
    node: Mapped[str] = mapped_column(sa.String(253), default="")
    mode: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    # A digest of (step, kind, image, node): a unique key even where step_id is NULL, which
    # SQL unique constraints would treat as distinct.
    dedupe_key: Mapped[str] = mapped_column(sa.String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Pull(Base):
    """A step pod's image as it started: where, which digest, and whether credentials pulled it (never a secret)."""

    __tablename__ = "pulls"
    __table_args__ = (
        sa.UniqueConstraint("step_id", name="uq_pulls_step_id"),
        sa.Index("ix_pulls_digest", "digest"),
        sa.Index("ix_pulls_build_id", "build_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(sa.ForeignKey("builds.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(sa.ForeignKey("steps.id", ondelete="CASCADE"))
    repo: Mapped[str] = mapped_column(sa.String(255))
    node: Mapped[str] = mapped_column(sa.String(253), default="")
    image: Mapped[str] = mapped_column(sa.String(1024))
    image_id: Mapped[str] = mapped_column(sa.String(1024), default="")
    digest: Mapped[str] = mapped_column(sa.String(255), default="")
    credentialed: Mapped[bool] = mapped_column(default=False)
    # The docker config key that matched (`registry.example.com`); the secret's value has no column.
    registry_key: Mapped[str] = mapped_column(sa.String(1024), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Secret(Base):
    """A repository secret: its value sealed by pipeline_queue.vault (bound to repository and name), never plaintext."""

    __tablename__ = "secrets"
    __table_args__ = (sa.UniqueConstraint("repo_id", "name", name="uq_secrets_repo_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(sa.ForeignKey("repositories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(255))
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Drone's rule: pull requests (forks) get a secret only when it says so.
    allow_pull_request: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class StageSecrets(Base):
    """A stage's Secrets with their values, sealed by pipeline_queue.vault (bound to the stage's key) until the
    worker publishes them when the stage starts; the row goes with the stage's objects when it ends."""

    __tablename__ = "stage_secrets"

    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    published: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """A webhook delivery seen: a redelivery (same provider and delivery id) answers with the builds it created."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("provider", "delivery", name="uq_deliveries_provider_delivery"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(16))
    delivery: Mapped[str] = mapped_column(sa.String(255))
    repo: Mapped[str] = mapped_column(sa.String(255))
    builds: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    done: Mapped[bool] = mapped_column(default=False)
    """False while the first delivery is being handled; a redelivery meanwhile starts nothing."""
    created: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token of the HTTP API: only its SHA-256 digest is kept (the token is shown once, at creation)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(default=False)
    """May read the API but not cancel, approve or restart (those answer 403)."""
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(default=None)
