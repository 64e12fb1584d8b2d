"""latest materialization per asset, locations added at runtime

The catalog reads the latest materialization of every asset on every page; scanning the
history for it gets slower as history grows, so it gets a table of its own, filled here
from the history that already exists. The newest is the one with the latest timestamp (the
later stored on a tie), as ingest keeps it: an event stored late may be an older one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "latest_materializations",
        sa.Column("asset_key", sa.String(1024), nullable=False),
        sa.Column("materialization_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("code_version", sa.String(255), nullable=True),
        sa.Column("data_version", sa.String(255), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("asset_key"),
    )
    op.execute(
        """
        INSERT INTO latest_materializations
            (asset_key, materialization_id, run_id, timestamp, code_version, data_version,
             metadata, tags)
        SELECT asset_key, id, run_id, timestamp, code_version, data_version, metadata, tags
        FROM (
            SELECT m.*, ROW_NUMBER() OVER (
                PARTITION BY m.asset_key ORDER BY m.timestamp DESC, m.id DESC
            ) AS newest
            FROM asset_materializations m
        ) ranked
        WHERE newest = 1
        """
    )
    op.create_table(
        "code_locations",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("address", sa.String(512), nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("code_locations")
    op.drop_table("latest_materializations")
