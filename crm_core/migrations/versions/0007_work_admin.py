"""work: agent availability and limits, the round-robin rotation, channel accounts, canned responses

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('availability', sa.String(length=20), server_default='offline', nullable=False)
        )
        batch_op.add_column(sa.Column('max_open', sa.Integer(), server_default='8', nullable=False))
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'channel_accounts',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.Column('account', sa.String(length=200), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=True),
        sa.Column('default_team_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['default_team_id'], ['teams.id'], name=op.f('fk_channel_accounts_default_team_id_teams')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_accounts')),
        sa.UniqueConstraint('channel', 'account', name=op.f('uq_channel_accounts_channel_account')),
    )
    op.create_table(
        'canned_responses',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('shortcut', sa.String(length=80), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses')),
        sa.UniqueConstraint('shortcut', name=op.f('uq_canned_responses_shortcut')),
    )


def downgrade() -> None:
    op.drop_table('canned_responses')
    op.drop_table('channel_accounts')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_column('last_assigned_at')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('max_open')
        batch_op.drop_column('availability')
