"""inbox: per-agent reads (unread state), indexes for the inbox filters

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'conversation_reads',
        sa.Column('agent_id', sa.Uuid(), nullable=False),
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_through', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['agent_id'], ['agents.id'], name=op.f('fk_conversation_reads_agent_id_agents')
        ),
        sa.ForeignKeyConstraint(
            ['conversation_id'],
            ['conversations.id'],
            name=op.f('fk_conversation_reads_conversation_id_conversations'),
        ),
        sa.PrimaryKeyConstraint('agent_id', 'conversation_id', name=op.f('pk_conversation_reads')),
    )
    with op.batch_alter_table('conversation_tags', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_tags_tag_id', ['tag_id'], unique=False)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_assignee_id'))
        batch_op.create_index(
            'ix_conversations_status_activity', ['status', 'last_message_at', 'id'], unique=False
        )
        batch_op.create_index(
            'ix_conversations_assignee_activity',
            ['assignee_id', 'status', 'last_message_at', 'id'],
            unique=False,
        )
        batch_op.create_index(
            'ix_conversations_team_activity', ['team_id', 'status', 'last_message_at', 'id'], unique=False
        )
        batch_op.create_index(
            'ix_conversations_channel_activity', ['channel', 'status', 'last_message_at', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_channel_activity')
        batch_op.drop_index('ix_conversations_team_activity')
        batch_op.drop_index('ix_conversations_assignee_activity')
        batch_op.drop_index('ix_conversations_status_activity')
        batch_op.create_index(batch_op.f('ix_conversations_assignee_id'), ['assignee_id'], unique=False)
    with op.batch_alter_table('conversation_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_tags_tag_id')
    op.drop_table('conversation_reads')
