"""A stage's Secrets sealed until the worker publishes them at stage start (nothing reaches Kubernetes at enqueue).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_secrets",
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stage_id"], ["stages.id"], name=op.f("fk_stage_secrets_stage_id_stages"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("stage_id", name=op.f("pk_stage_secrets")),
    )


def downgrade() -> None:
    op.drop_table("stage_secrets")
