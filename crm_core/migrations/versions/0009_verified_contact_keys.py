"""contacts: the number and address providers vouched for, apart from what people type

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('verified_phone', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_verified_email'), ['verified_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_verified_phone'), ['verified_phone'], unique=False)
    # Until now the contact's own number and address decided; keep them deciding for existing contacts.
    op.execute("UPDATE contacts SET verified_email = email, verified_phone = phone")


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_verified_phone'))
        batch_op.drop_index(batch_op.f('ix_contacts_verified_email'))
        batch_op.drop_column('verified_phone')
        batch_op.drop_column('verified_email')
