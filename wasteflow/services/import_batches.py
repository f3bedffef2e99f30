"""Past imports: the uploaded ledgers' batches, newest first, and the records one wrote."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import NotFound
from wasteflow.models import Account, ImportBatch, ImportRow
from wasteflow.permissions import Action, require
from wasteflow.services.ledger_import import ImportBatchPublic, batch_public


def list_batches(
    *, session: Session, account: Account, limit: int = 50, offset: int = 0
) -> tuple[list[ImportBatchPublic], int]:
    require(account.role, Action.import_history)
    total = session.execute(sa.select(sa.func.count()).select_from(ImportBatch)).scalar_one()
    rows = session.execute(
        sa.select(ImportBatch, col(Account.username))
        .join(Account, col(Account.id) == ImportBatch.account_id)
        .order_by(col(ImportBatch.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [batch_public(b, u) for b, u in rows], total


def get_batch(*, session: Session, account: Account, batch_id: int) -> ImportBatchPublic:
    require(account.role, Action.import_history)
    row = session.execute(
        sa.select(ImportBatch, col(Account.username))
        .join(Account, col(Account.id) == ImportBatch.account_id)
        .where(col(ImportBatch.id) == batch_id)
    ).first()
    if row is None:
        raise NotFound(f"no import {batch_id}")
    return batch_public(row[0], row[1])


def batch_records(session: Session, batch_id: int, limit: int = 20) -> list[str]:
    """The first records an import wrote (handover codes or declaration ids)."""
    return list(
        session.execute(
            sa.select(col(ImportRow.record))
            .where(col(ImportRow.batch_id) == batch_id)
            .order_by(col(ImportRow.record))
            .limit(limit)
        ).scalars()
    )
