"""Model store: fitted models as versioned records (``model_records``).

Revision ID: 0003_model_store
Revises: 0001_initial
Create Date: 2026-11-30

The legacy ``dataset_results`` rows (an unversioned pickle of the whole
``ModelResults`` under name "models") are left in place and never read again:
the portal finds no record for such a dataset, says so and refits it.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_model_store"
down_revision = "0002_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("project_version", sa.String(32), nullable=False),
        sa.Column("library_versions", sa.JSON(), nullable=False),
        sa.Column("dataset_version", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("dataset_id", "name", name="uq_model_records_dataset_name"),
    )
    op.create_index("ix_model_records_tenant_id", "model_records", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_model_records_tenant_id", table_name="model_records")
    op.drop_table("model_records")
