"""E-mail digests and account e-mails: subscriptions, one send record per
(subscription, slot), single-use invitation and reset tokens.

Revision ID: 0005_digests
Revises: 0001_initial
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_digests"
down_revision = "0004_tenant_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("view_id", sa.Integer(), sa.ForeignKey("saved_views.id", ondelete="CASCADE"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("monthday", sa.Integer(), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("view_id", "subscriber_id", name="uq_digest_subscriptions_view_subscriber"),
        sa.CheckConstraint("frequency IN ('daily', 'weekly', 'monthly')", name="ck_digest_subscriptions_frequency"),
        sa.CheckConstraint("hour >= 0 AND hour <= 23", name="ck_digest_subscriptions_hour"),
        sa.CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)",
                           name="ck_digest_subscriptions_weekday"),
        sa.CheckConstraint("monthday IS NULL OR (monthday >= 1 AND monthday <= 31)",
                           name="ck_digest_subscriptions_monthday"),
    )
    op.create_index("ix_digest_subscriptions_tenant_id", "digest_subscriptions", ["tenant_id"])
    op.create_table(
        "digest_sends",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(),
                  sa.ForeignKey("digest_subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slot", sa.DateTime(), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("subscription_id", "slot", name="uq_digest_sends_slot"),
        sa.UniqueConstraint("message_id", name="uq_digest_sends_message_id"),
    )
    op.create_index("ix_digest_sends_status_next", "digest_sends", ["status", "next_attempt_at"])
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("secret_hash", name="uq_account_tokens_secret"),
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name="ck_account_tokens_purpose"),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_account_tokens_user_id", table_name="account_tokens")
    op.drop_table("account_tokens")
    op.drop_index("ix_digest_sends_status_next", table_name="digest_sends")
    op.drop_table("digest_sends")
    op.drop_index("ix_digest_subscriptions_tenant_id", table_name="digest_subscriptions")
    op.drop_table("digest_subscriptions")
