"""Races: retries with one key at the same moment, two confirmations at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import make_network
from wasteflow.db import new_session
from wasteflow.errors import Conflict
from wasteflow.models import FlowDaily, Handover
from wasteflow.schemas import HandoverCreate, ReceiptCorrection, ReceiptCreate
from wasteflow.services.accounts import get_account
from wasteflow.services.handovers import confirm_receipt, correct_receipt, record_handover


def _race(engine: sa.Engine, n: int, work: Callable[[Session], Any]) -> list[Any]:
    """Run ``work`` in n threads, each with its own session, released at the same instant."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with new_session(engine) as s:
            barrier.wait()
            try:
                results[i] = work(s)
            except Exception as exc:  # collected and asserted on below
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_retries_with_one_key_make_one_handover(
    engine: sa.Engine, session: Session
) -> None:
    net = make_network(session)
    data = HandoverCreate.model_validate(net.body())
    username = net.collector.account.username

    def work(s: Session) -> Any:
        account = get_account(session=s, username=username)
        return record_handover(
            session=s, account=account, data=data, idempotency_key="same-key-at-once"
        )

    results = _race(engine, 6, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({view.code for view, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    session.rollback()
    assert (
        session.execute(
            sa.select(sa.func.count())
            .select_from(Handover)
            .where(Handover.idempotency_key == "same-key-at-once")
        ).scalar_one()
        == 1
    )
    assert (
        session.execute(
            sa.select(FlowDaily.handovers).where(FlowDaily.to_site_id == net.cp.id)
        ).scalar_one()
        == 1
    )


def test_two_confirmations_at_once_one_wins(engine: sa.Engine, session: Session) -> None:
    net = make_network(session)
    view, _ = record_handover(
        session=session,
        account=net.collector.account,
        data=HandoverCreate.model_validate(net.body()),
        idempotency_key="to-be-confirmed",
    )
    username = net.operator.account.username

    def work(s: Session) -> Any:
        account = get_account(session=s, username=username)
        return confirm_receipt(
            session=s,
            account=account,
            ref=view.code,
            data=ReceiptCreate(received_mass_kg=Decimal("12.5")),
        )

    results = _race(engine, 4, work)
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 3
    assert all(isinstance(e, Conflict) for e in losses), losses
    session.rollback()
    assert (
        session.execute(
            sa.select(FlowDaily.received_g).where(FlowDaily.to_site_id == net.cp.id)
        ).scalar_one()
        == 12_500
    )


def test_two_receipt_corrections_at_once_one_wins(engine: sa.Engine, session: Session) -> None:
    net = make_network(session)
    view, _ = record_handover(
        session=session,
        account=net.collector.account,
        data=HandoverCreate.model_validate(net.body()),
        idempotency_key="to-be-corrected",
    )
    confirm_receipt(
        session=session,
        account=net.operator.account,
        ref=view.code,
        data=ReceiptCreate(received_mass_kg=Decimal("125")),
    )
    username = net.operator.account.username

    def work(s: Session) -> Any:
        account = get_account(session=s, username=username)
        return correct_receipt(
            session=s,
            account=account,
            ref=view.code,
            data=ReceiptCorrection(received_mass_kg=Decimal("12.5"), reason="mis-keyed"),
        )

    results = _race(engine, 4, work)
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 3
    assert all(isinstance(e, Conflict) for e in losses), losses
    session.rollback()
    flow = session.execute(
        sa.select(FlowDaily).where(FlowDaily.to_site_id == net.cp.id)
    ).scalar_one()
    assert (flow.handovers, flow.received_g) == (1, 12_500)
