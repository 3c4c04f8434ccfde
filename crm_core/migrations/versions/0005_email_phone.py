"""email and phone: interaction subject and details, channel state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column(
                'details',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=True,
            )
        )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=80), nullable=True))
    op.create_table(
        'channel_state',
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'key', name=op.f('pk_channel_state')),
    )


def downgrade() -> None:
    op.drop_table('channel_state')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('phone')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('details')
        batch_op.drop_column('subject')
