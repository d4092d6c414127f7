"""Tenant setting: the CLV purchase model (auto = chosen on a holdout, or bgnbd / mbgnbd / pnbd forced).

Revision ID: 0007_clv_model
Revises: 0005_digests
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_clv_model"
down_revision = "0005_digests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("clv_model", sa.String(8), nullable=False, server_default="auto"))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("clv_model")
