"""Failed sign-ins (the shared store of the login limits) and staged uploads (the files
``POST /upload`` received, waiting for their import job), shared by every worker and host.

Revision ID: 0002_login_attempts
Revises: 0001_initial
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_login_attempts"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("account", sa.String(254), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])
    op.create_index("ix_login_attempts_account_at", "login_attempts", ["account", "at"])
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"])
    op.create_table(
        "staged_uploads",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_staged_uploads_tenant_id", "staged_uploads", ["tenant_id"])
    op.create_index("ix_staged_uploads_created_at", "staged_uploads", ["created_at"])
    op.create_table(
        "staged_upload_chunks",
        sa.Column("token", sa.String(64), sa.ForeignKey("staged_uploads.token", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("chunk_no", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staged_upload_chunks")
    op.drop_table("staged_uploads")
    op.drop_table("login_attempts")
