"""free-form text of user code without a length limit

Log levels, step keys, code versions and data versions come from user code. A value longer
than its column made the database refuse the batch holding it, and the worker sent it again
and again: they become ``text``. On PostgreSQL a change from ``varchar`` to ``text`` rewrites
nothing; SQLite never enforced the lengths, and its tables are rebuilt to match.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = {
    "run_events": {"level": (16, False), "step_key": (512, True)},
    "asset_materializations": {"code_version": (255, True), "data_version": (255, True)},
    "latest_materializations": {"code_version": (255, True), "data_version": (255, True)},
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, (length, nullable) in columns.items():
                batch.alter_column(
                    column,
                    existing_type=sa.String(length),
                    type_=sa.Text(),
                    existing_nullable=nullable,
                )


def downgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, (length, nullable) in columns.items():
                batch.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=sa.String(length),
                    existing_nullable=nullable,
                )
