"""Races: retries with one key at the same moment, many scans at once, scans written as one
group (as the API groups those that arrive together), two confirmations at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import make_network
from wasteflow.db import new_session
from wasteflow.errors import Conflict, WasteflowError
from wasteflow.models import FlowDaily, Handover
from wasteflow.schemas import HandoverCreate, ReceiptCorrection, ReceiptCreate
from wasteflow.services.accounts import get_account
from wasteflow.services.audit import verify_chain
from wasteflow.services.handovers import (
    confirm_receipt,
    correct_receipt,
    record_handover,
    record_handovers,
)


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


def _received(session: Session, net: Any, kg: str) -> Any:
    """A load from the network's source, confirmed at its collection point as ``kg``."""
    view, _ = record_handover(
        session=session,
        account=net.collector.account,
        data=HandoverCreate.model_validate(net.body()),
        idempotency_key=f"received-{net.cp.code}",
    )
    confirm_receipt(
        session=session,
        account=net.operator.account,
        ref=view.code,
        data=ReceiptCreate(received_mass_kg=Decimal(kg)),
    )
    return view


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
    view = _received(session, net, "125")
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


def test_keyed_retries_of_a_receipt_racing_each_other_are_replays(
    engine: sa.Engine, session: Session
) -> None:
    """A phone resending its receipt while the first try is still being written: every try
    gets the receipt made once, none a conflict."""
    net = make_network(session)
    view, _ = record_handover(
        session=session,
        account=net.collector.account,
        data=HandoverCreate.model_validate(net.body()),
        idempotency_key=f"retried-receipt-{net.cp.code}",
    )
    username = net.operator.account.username

    def work(s: Session) -> Any:
        account = get_account(session=s, username=username)
        return confirm_receipt(
            session=s,
            account=account,
            ref=view.code,
            data=ReceiptCreate(received_mass_kg=Decimal("12.4")),
            idempotency_key="one-receipt-key",
        )

    results = _race(engine, 5, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(made for _, made in results) == [False] * 4 + [True]
    assert {v.code for v, _ in results} == {view.code}
    session.rollback()
    flow = session.execute(
        sa.select(FlowDaily).where(FlowDaily.to_site_id == net.cp.id)
    ).scalar_one()
    assert (flow.handovers, flow.received_g) == (1, 12_400)


def test_keyed_retries_of_a_receipt_correction_racing_each_other_are_replays(
    engine: sa.Engine, session: Session
) -> None:
    net = make_network(session)
    view = _received(session, net, "125")
    username = net.operator.account.username

    def work(s: Session) -> Any:
        account = get_account(session=s, username=username)
        return correct_receipt(
            session=s,
            account=account,
            ref=view.code,
            data=ReceiptCorrection(received_mass_kg=Decimal("12.5"), reason="mis-keyed"),
            idempotency_key="one-correction-key",
        )

    results = _race(engine, 4, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(made for _, made in results) == [False] * 3 + [True]
    assert len({v.code for v, _ in results}) == 1


def test_two_returns_of_one_refusal_at_once_send_back_no_more_than_was_refused(
    engine: sa.Engine, session: Session
) -> None:
    """Two returns of a load's 20 refused kg, each of all 20, at the same moment: one is
    recorded, the other refused for what is left (before, on PostgreSQL, both went through
    and 40 kg went back)."""
    from wasteflow.services import keys

    net = make_network(session)
    load, _ = record_handover(
        session=session,
        account=net.operator.account,
        data=HandoverCreate.model_validate(
            net.body(source_plaque=net.cp_plaque, to_site=net.processor.code, declared_mass_kg=50)
        ),
        idempotency_key=f"to-be-refused-{net.cp.code}",
    )
    confirm_receipt(
        session=session,
        account=net.processor_account.account,
        ref=load.code,
        data=ReceiptCreate(
            received_mass_kg=Decimal("50"),
            refused_mass_kg=Decimal("20"),
            refusal_reason="soil",
            route="recycling",
        ),
    )
    plaque = keys.sign(session, "site", net.processor.code)
    username = net.processor_account.account.username
    tries = iter(range(2))
    lock = threading.Lock()

    def work(s: Session) -> Any:
        with lock:
            i = next(tries)
        account = get_account(session=s, username=username)
        data = HandoverCreate.model_validate(
            net.body(
                source_plaque=plaque, to_site=net.cp.code, declared_mass_kg=20, returns=load.code
            )
        )
        return record_handover(session=s, account=account, data=data, idempotency_key=f"back-{i}")

    results = _race(engine, 2, work)
    made = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(made) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], WasteflowError) and refused[0].field == "declared_mass_kg"
    session.rollback()
    sent_back = session.execute(
        sa.select(sa.func.sum(Handover.declared_mass_g)).where(
            Handover.returns_id.is_not(None), Handover.from_site_id == net.processor.id
        )
    ).scalar_one()
    assert sent_back == 20_000


def _scan_race(
    engine: sa.Engine, username: str, bodies: list[tuple[str, HandoverCreate]]
) -> list[Any]:
    """Record each (key, body) in its own thread, all released at once."""
    it = iter(bodies)
    lock = threading.Lock()

    def work(s: Session) -> Any:
        with lock:
            key, data = next(it)
        account = get_account(session=s, username=username)
        return record_handover(session=s, account=account, data=data, idempotency_key=key)

    return _race(engine, len(bodies), work)


def _cp_totals(session: Session, cp_id: int | None) -> tuple[int, Decimal]:
    session.rollback()
    count, mass = session.execute(
        sa.select(sa.func.sum(FlowDaily.handovers), sa.func.sum(FlowDaily.declared_g)).where(
            FlowDaily.to_site_id == cp_id
        )
    ).one()
    return count, Decimal(mass)


def test_scans_at_once_are_each_recorded_once_and_chained(
    engine: sa.Engine, session: Session
) -> None:
    net = make_network(session)
    n = 10
    bodies = [
        (f"many-at-once-{i}", HandoverCreate.model_validate(net.body(declared_mass_kg=1 + i)))
        for i in range(n)
    ]
    results = _scan_race(engine, net.collector.account.username, bodies)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(created for _, created in results)
    assert len({view.code for view, _ in results}) == n
    assert _cp_totals(session, net.cp.id) == (n, Decimal(sum(1 + i for i in range(n)) * 1000))
    report = verify_chain(session)
    assert report.ok, report


def _group(session: Session, username: str, bodies: list[tuple[str, HandoverCreate]]) -> Any:
    """Record the (key, body) pairs as one group, as the API does with scans that arrive
    together."""
    account = get_account(session=session, username=username)
    return record_handovers(session, [(account, data, key) for key, data in bodies])


def test_retries_in_one_group_are_replays_and_a_different_body_is_refused(
    engine: sa.Engine, session: Session
) -> None:
    net = make_network(session)
    same = HandoverCreate.model_validate(net.body())
    other = HandoverCreate.model_validate(net.body(declared_mass_kg=99))
    bodies = [("one-key-in-a-group", same)] * 5 + [("one-key-in-a-group", other)]
    with new_session(engine) as s:
        *answers, refused = _group(s, net.collector.account.username, bodies)
    assert isinstance(refused, Conflict), refused  # the first in the group was written
    assert [created for _, created in answers] == [True, False, False, False, False]
    assert len({view.code for view, _ in answers}) == 1  # the replays name the one record
    assert _cp_totals(session, net.cp.id) == (1, Decimal(12_500))


def test_a_group_answers_each_scan_on_its_own(engine: sa.Engine, session: Session) -> None:
    net = make_network(session)
    bodies = [
        ("group-ok-1", HandoverCreate.model_validate(net.body(declared_mass_kg=1))),
        ("group-bad", HandoverCreate.model_validate(net.body(to_site="WL-NO-SUCH-SITE"))),
        ("group-ok-2", HandoverCreate.model_validate(net.body(declared_mass_kg=2))),
    ]
    with new_session(engine) as s:
        first, bad, second = _group(s, net.collector.account.username, bodies)
    assert first[1] and second[1] and first[0].code != second[0].code
    assert isinstance(bad, WasteflowError) and bad.field == "to_site"
    assert _cp_totals(session, net.cp.id) == (2, Decimal(3_000))
    assert verify_chain(session).ok


def test_scans_of_a_group_that_fails_are_each_written_alone(
    engine: sa.Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasteflow.services.handovers import scans

    real = scans._record_rows
    failed = []

    def failing_group(*args: Any, savepoint: bool = True, **kwargs: Any) -> Any:
        if savepoint:  # the group's write; a scan written alone asks for no savepoint
            failed.append(len(args[2]))
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(*args, savepoint=savepoint, **kwargs)

    monkeypatch.setattr(scans, "_record_rows", failing_group)
    net = make_network(session)
    bodies = [(f"alone-{i}", HandoverCreate.model_validate(net.body())) for i in range(6)]
    with new_session(engine) as s:
        results = _group(s, net.collector.account.username, bodies)
    assert failed == [6]  # the group was tried, and failed
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(created for _, created in results)
    assert _cp_totals(session, net.cp.id) == (6, Decimal(6 * 12_500))
    assert verify_chain(session).ok


def test_scans_posted_at_once_through_the_api_are_grouped_and_each_answered_on_its_own(
    engine: sa.Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Requests that arrive together are handled in one worker thread: one is refused by a
    # rule, one has no valid token, one retries another's key; each gets its own answer.
    import asyncio

    import httpx

    from api.main import create_app
    from tests.conftest import run_async
    from wasteflow.services import handovers

    groups: list[int] = []
    real = handovers.record_handovers

    def counted(session: Session, scans: Any, *args: Any) -> Any:
        groups.append(len(scans))
        return real(session, scans, *args)

    monkeypatch.setattr(handovers, "record_handovers", counted)
    net = make_network(session)
    headers = net.collector.headers
    good = [(f"api-group-{i}", net.body(declared_mass_kg=1 + i)) for i in range(8)]
    requests = [
        *((headers | {"Idempotency-Key": key}, body) for key, body in good),
        (headers | {"Idempotency-Key": "api-group-far"}, net.body(to_site="WL-NO-SUCH-SITE")),
        ({"Authorization": "Bearer not-a-token", "Idempotency-Key": "api-group-x"}, good[1][1]),
        (headers | {"Idempotency-Key": good[0][0]}, good[0][1]),  # a retry, in the same group
    ]

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(
                *(client.post("/api/v1/handovers", json=b, headers=h) for h, b in requests)
            )

    *created, unknown_site, anonymous, retry = run_async(post_all)
    assert max(groups) > 1, groups  # handled together, not one by one
    assert [r.status_code for r in created[1:]] == [201] * 7
    # The first and its retry: one made it, the other is its replay.
    assert sorted([created[0].status_code, retry.status_code]) == [200, 201]
    assert created[0].json()["code"] == retry.json()["code"]
    assert unknown_site.status_code in (404, 422) and unknown_site.json()["field"] == "to_site"
    assert anonymous.status_code == 401
    assert _cp_totals(session, net.cp.id) == (8, Decimal(sum(1 + i for i in range(8)) * 1000))
    assert verify_chain(session).ok
