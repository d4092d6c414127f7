"""Tenant settings (currency, time zone, week start, fiscal year, versions kept, personal data),
saved column mappings, customers' contact details, and per-version quality reports.

Revision ID: 0004_tenant_settings
Revises: 0001_initial (the lead chains the parallel revisions at merge time)
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_tenant_settings"
down_revision = "0003_model_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=False, server_default="GBP"))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=False, server_default="Europe/London"))
        batch.add_column(sa.Column("week_start", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("fiscal_year_start_month", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("keep_versions", sa.Integer(), nullable=False, server_default="10"))
        batch.add_column(sa.Column("store_personal_data", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("privacy_salt", sa.String(64), nullable=True))
        batch.create_check_constraint("ck_tenants_week_start", "week_start BETWEEN 0 AND 6")
        batch.create_check_constraint("ck_tenants_fiscal_month", "fiscal_year_start_month BETWEEN 1 AND 12")
        batch.create_check_constraint("ck_tenants_keep_versions", "keep_versions BETWEEN 1 AND 100")
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("quality_report", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("import_mode", sa.String(16), nullable=True))
    op.create_table(
        "tenant_mappings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("layout", sa.String(64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_tenant_mappings_fingerprint"),
    )
    op.create_table(
        "customer_contacts",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("customer_contacts")
    op.drop_table("tenant_mappings")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("import_mode")
        batch.drop_column("quality_report")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint("ck_tenants_keep_versions", type_="check")
        batch.drop_constraint("ck_tenants_fiscal_month", type_="check")
        batch.drop_constraint("ck_tenants_week_start", type_="check")
        for column in ("privacy_salt", "store_personal_data", "keep_versions", "fiscal_year_start_month",
                       "week_start", "time_zone", "currency"):
            batch.drop_column(column)
