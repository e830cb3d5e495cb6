"""The first schema: repositories, builds, stages, steps, logs, findings.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Enum values (status, kind) are plain strings here: the models validate them, the database stores them.
ENUM_VALUE = sa.String(length=16)


def _timestamp(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        _timestamp("created", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
        sa.UniqueConstraint("slug", name=op.f("uq_repositories_slug")),
    )
    _create_builds()
    _create_stages()
    _create_steps()
    op.create_table(
        "logs",
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_logs_step_id_steps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("step_id", name=op.f("pk_logs")),
    )
    _create_findings()


def _create_builds() -> None:
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", ENUM_VALUE, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("branch", sa.String(length=500), nullable=False),
        sa.Column("ref", sa.String(length=500), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("trigger", sa.String(length=255), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        _timestamp("created", nullable=False),
        _timestamp("started", nullable=True),
        _timestamp("finished", nullable=True),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repositories.id"], name=op.f("fk_builds_repo_id_repositories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builds")),
        sa.UniqueConstraint("repo_id", "number", name="uq_builds_repo_id_number"),
    )
    op.create_index("ix_builds_created", "builds", [sa.literal_column("created DESC")])


def _create_stages() -> None:
    op.create_table(
        "stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", ENUM_VALUE, nullable=False),
        sa.Column("depends_on", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        _timestamp("started", nullable=True),
        _timestamp("finished", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_stages_build_id_builds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stages")),
        sa.UniqueConstraint("build_id", "name", name="uq_stages_build_id_name"),
        sa.UniqueConstraint("build_id", "number", name="uq_stages_build_id_number"),
    )
    op.create_index("ix_stages_status", "stages", ["status"])


def _create_steps() -> None:
    op.create_table(
        "steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", ENUM_VALUE, nullable=False),
        sa.Column("status", ENUM_VALUE, nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("node", sa.String(length=253), nullable=False),
        sa.Column("image", sa.String(length=1024), nullable=False),
        sa.Column("image_id", sa.String(length=1024), nullable=False),
        sa.Column("pull_policy", sa.String(length=16), nullable=False),
        sa.Column("credential_secret", sa.String(length=255), nullable=True),
        sa.Column("credential_registry", sa.String(length=1024), nullable=True),
        sa.Column("credential_username", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("detach", sa.Boolean(), nullable=False),
        sa.Column("ignore_failure", sa.Boolean(), nullable=False),
        _timestamp("started", nullable=True),
        _timestamp("finished", nullable=True),
        sa.ForeignKeyConstraint(
            ["stage_id"], ["stages.id"], name=op.f("fk_steps_stage_id_stages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("stage_id", "name", name="uq_steps_stage_id_name"),
        sa.UniqueConstraint("stage_id", "number", name="uq_steps_stage_id_number"),
    )
    op.create_index("ix_steps_stage_id", "steps", ["stage_id"])


def _create_findings() -> None:
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("kind", ENUM_VALUE, nullable=False),
        sa.Column("image", sa.String(length=1024), nullable=False),
        sa.Column("node", sa.String(length=253), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        _timestamp("created", nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_findings_build_id_builds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_findings_step_id_steps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("build_id", "dedupe_key", name="uq_findings_build_id_dedupe_key"),
    )


def downgrade() -> None:
    for table in ("findings", "logs", "steps", "stages", "builds", "repositories"):
        op.drop_table(table)
