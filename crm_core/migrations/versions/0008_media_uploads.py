"""media: files agents upload to send (no interaction yet, a key for the providers' link, who uploaded)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by', sa.String(length=200), nullable=True))
        batch_op.alter_column('interaction_id', existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    # Uploads have no interaction: they cannot survive the NOT NULL coming back.
    op.execute("DELETE FROM media WHERE interaction_id IS NULL")
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.alter_column('interaction_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('uploaded_by')
        batch_op.drop_column('access_key')
