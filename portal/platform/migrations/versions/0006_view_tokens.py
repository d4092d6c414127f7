"""Saved views get an unguessable token: a shared link names the view, not its page and filters.

Revision ID: 0006_view_tokens
Revises: 0007_clv_model
Create Date: 2026-11-30
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0006_view_tokens"
down_revision = "0007_clv_model"  # chained after the last migration in main (0005_digests -> 0007_clv_model)
branch_labels = None
depends_on = None

TOKEN_LENGTH = 43  # secrets.token_urlsafe(32): 256 random bits


def upgrade() -> None:
    with op.batch_alter_table("saved_views") as batch:
        batch.add_column(sa.Column("token", sa.String(TOKEN_LENGTH), nullable=True))
    views = sa.table("saved_views", sa.column("id", sa.Integer()), sa.column("token", sa.String()))
    connection = op.get_bind()
    for (view_id,) in connection.execute(sa.select(views.c.id)).all():
        connection.execute(views.update().where(views.c.id == view_id).values(token=secrets.token_urlsafe(32)))
    with op.batch_alter_table("saved_views") as batch:
        batch.alter_column("token", existing_type=sa.String(TOKEN_LENGTH), nullable=False)
        batch.create_unique_constraint("uq_saved_views_token", ["token"])


def downgrade() -> None:
    with op.batch_alter_table("saved_views") as batch:
        batch.drop_constraint("uq_saved_views_token", type_="unique")
        batch.drop_column("token")
