"""Offline tickets: a phone's device key, a load's signed ticket, and the receipt by ticket that
the server links to the load whichever of the two phones syncs first (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Network, make_account, make_network
from tests.integration.field_tickets_support import (
    API,
    SYNCS,
    Phone,
    admin_headers,
    by_ticket,
    final_state,
    handover,
    load,
    records_ok,
    register,
    sync_batch,
)
from wasteflow.models import AuditEvent, PendingReceipt
from wasteflow.tickets import parse_ticket
from wasteflow.types import Role


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


@pytest.fixture
def phone(client: TestClient, net: Network) -> Phone:
    return register(client, net.collector)


# --- both orders ---------------------------------------------------------------------------


@pytest.mark.parametrize("sync", sorted(SYNCS))
def test_the_collector_syncs_first_then_the_ticket_confirms_the_load(
    client: TestClient, session: Session, net: Network, phone: Phone, sync: str
) -> None:
    body, key = load(net, declared_mass_kg=18.4)
    ticket = phone.ticket(body, key, net.source.code)
    sent = SYNCS[sync](client, phone, body, key)
    code = sent["handover"]["code"]
    assert sent["handover"]["status"] == "in_transit"
    r = by_ticket(client, net.operator, ticket, received_mass_kg=18.1)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["state"] == "applied" and got["handover"]["code"] == code
    assert got["handover"]["status"] == "received"
    assert got["ticket"]["recorded_by"] == net.collector.account.username
    assert got["ticket"]["declared_mass_kg"] == 18.4
    history = client.get(f"{API}/handovers/{code}/history", headers=net.operator.headers).json()
    receive = [e for e in history["events"] if e["action"] == "handover.receive"]
    assert receive and receive[0]["after"]["ticket"] == parse_ticket(ticket).ident
    records_ok(session)


@pytest.mark.parametrize("sync", sorted(SYNCS))
def test_the_ticket_comes_first_and_the_load_is_received_as_it_arrives(
    client: TestClient, session: Session, net: Network, phone: Phone, sync: str
) -> None:
    body, key = load(net, declared_mass_kg=18.4)
    ticket = phone.ticket(body, key, net.source.code)
    r = by_ticket(
        client,
        net.operator,
        ticket,
        received_mass_kg=18.1,
        refused_mass_kg=0.6,
        refusal_reason="soil and stones",
    )
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "pending" and r.json()["handover"] is None
    assert handover(session, net.collector, key) is None
    mine = client.get(f"{API}/handovers/receipt/tickets", headers=net.operator.headers).json()
    assert [t["state"] for t in mine["items"]][:1] == ["pending"]

    sent = SYNCS[sync](client, phone, body, key)
    # The collector's answer already says what the load became in its transaction.
    assert sent["result"] == "created"
    h = sent["handover"]
    assert h["status"] == "partially_refused" and h["received_by"] == net.operator.account.username
    assert (h["received_mass_kg"], h["refused_mass_kg"]) == (18.1, 0.6)
    mine = client.get(f"{API}/handovers/receipt/tickets", headers=net.operator.headers).json()
    first = mine["items"][0]
    assert first["state"] == "applied" and first["handover"]["code"] == h["code"]
    session.rollback()
    events = (
        session.execute(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity_id.in_([h["code"], parse_ticket(ticket).ident]))
            .order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert events == ["handover.receipt_pending", "handover.record", "handover.receive"]
    records_ok(session)


@pytest.mark.parametrize("sync", sorted(SYNCS))
def test_both_orders_give_the_same_handover(
    client: TestClient, net: Network, phone: Phone, sync: str
) -> None:
    """At a processor: a partial refusal and a treatment route, by ticket, in both orders."""
    receipt = {
        "received_mass_kg": 40,
        "refused_mass_kg": 5,
        "refusal_reason": "wet and mouldy",
        "route": "recycling",
    }
    op_phone = register(client, net.operator)
    finals = []
    for ticket_first in (True, False):
        body, key = load(
            net,
            source_plaque=net.cp_plaque,
            to_site=net.processor.code,
            declared_mass_kg=41.5,
            lat=None,
            lon=None,
        )
        ticket = op_phone.ticket(body, key, net.cp.code)
        if ticket_first:
            r = by_ticket(client, net.processor_account, ticket, **receipt)
            assert r.status_code == 202, r.text
            code = SYNCS[sync](client, op_phone, body, key)["handover"]["code"]
        else:
            code = SYNCS[sync](client, op_phone, body, key)["handover"]["code"]
            r = by_ticket(client, net.processor_account, ticket, **receipt)
            assert r.status_code == 200, r.text
        finals.append(final_state(client, code))
    assert finals[0] == finals[1]
    assert finals[0]["status"] == "partially_refused" and finals[0]["route"] == "recycling"
    assert finals[0]["accepted_mass_kg"] == 35


# --- refusals ------------------------------------------------------------------------------


def test_a_forged_or_altered_ticket_is_refused_and_changes_nothing(
    client: TestClient, session: Session, net: Network, phone: Phone
) -> None:
    body, key = load(net, declared_mass_kg=18.4)
    ticket = phone.ticket(body, key, net.source.code)
    altered = ticket.replace("/18.4/", "/81.4/")
    stranger = register(client, make_account(session, Role.collector))
    borrowed = ticket.replace(f"d={phone.device_id}", f"d={stranger.device_id}")
    unknown = ticket.replace(f"d={phone.device_id}", "d=zzzzzz")
    cases = {
        altered: "bad_signature",
        borrowed: "bad_signature",
        unknown: "unknown_device",
        ticket[:-10]: "malformed",
        net.plaque: "malformed",
    }
    for text, reason in cases.items():
        r = by_ticket(client, net.operator, text, received_mass_kg=18.4)
        assert r.status_code == 422, (reason, r.text)
        assert r.json()["field"] == "ticket" and r.json()["reason"] == reason, r.text
    session.rollback()
    assert (
        session.execute(
            sa.select(PendingReceipt).where(PendingReceipt.idempotency_key == key)
        ).first()
        is None
    )


def test_a_ticket_to_another_site_or_a_bad_receipt_is_refused_before_it_waits(
    client: TestClient, session: Session, net: Network, phone: Phone
) -> None:
    body, key = load(net)
    ticket = phone.ticket(body, key, net.source.code)
    r = by_ticket(client, net.processor_account, ticket, received_mass_kg=12.5)
    assert r.status_code == 403 and r.json()["field"] == "ticket"
    r = by_ticket(client, net.operator, ticket, received_mass_kg=12.5, refused_mass_kg=13)
    assert r.status_code == 422 and r.json()["field"] == "refused_mass_kg"
    r = by_ticket(client, net.operator, ticket, received_mass_kg=12.5, route="recycling")
    assert r.status_code == 422 and r.json()["field"] == "route"
    r = by_ticket(client, net.collector, ticket, received_mass_kg=12.5)
    assert r.status_code == 403
    session.rollback()
    assert (
        session.execute(
            sa.select(sa.func.count()).where(PendingReceipt.idempotency_key == key)
        ).scalar_one()
        == 0
    )


def test_a_revoked_device_s_tickets_are_refused_then_and_when_its_load_arrives(
    client: TestClient, session: Session, net: Network, phone: Phone
) -> None:
    body, key = load(net)
    ticket = phone.ticket(body, key, net.source.code)
    assert by_ticket(client, net.operator, ticket, received_mass_kg=12.5).status_code == 202
    later, later_key = load(net, declared_mass_kg=3)
    later_ticket = phone.ticket(later, later_key, net.source.code)

    path = f"{API}/field/devices/{phone.device_id}/revoke"
    assert (
        client.post(path, json={"reason": "lost"}, headers=net.operator.headers).status_code == 403
    )
    r = client.post(path, json={"reason": "phone lost on the road"}, headers=admin_headers(client))
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    assert r.json()["revoked_by"] and r.json()["revoke_reason"] == "phone lost on the road"
    again = client.post(path, json={"reason": "again"}, headers=admin_headers(client))
    assert again.status_code == 409

    r = by_ticket(client, net.operator, later_ticket, received_mass_kg=3)
    assert r.status_code == 422 and r.json()["reason"] == "revoked_device"
    # The load the pending receipt waits for arrives: it is recorded, the receipt is refused.
    h = sync_batch(client, phone, body, key)["handover"]
    assert h["status"] == "in_transit"
    mine = client.get(f"{API}/handovers/receipt/tickets", headers=net.operator.headers).json()
    refused = next(t for t in mine["items"] if t["handover"] and t["handover"]["code"] == h["code"])
    assert refused["state"] == "refused" and "revoked" in refused["reason"]
    listed = client.get(
        f"{API}/field/devices",
        params={"account": net.collector.account.username},
        headers=admin_headers(client),
    ).json()
    assert [(d["device_id"], d["status"]) for d in listed] == [(phone.device_id, "revoked")]
    session.rollback()
    actions = session.execute(
        sa.select(AuditEvent.action)
        .where(AuditEvent.entity_id == phone.device_id)
        .order_by(AuditEvent.id)
    ).scalars()
    assert list(actions) == ["device.register", "device.revoke"]
    records_ok(session)


def test_a_load_that_disagrees_with_its_ticket_is_not_confirmed_by_it_in_either_order(
    client: TestClient, session: Session, net: Network, phone: Phone
) -> None:
    # The load arrives first, recorded as 20 kg; the ticket says 18.4.
    body, key = load(net, declared_mass_kg=20)
    ticket = phone.ticket(body | {"declared_mass_kg": 18.4}, key, net.source.code)
    code = sync_batch(client, phone, body, key)["handover"]["code"]
    r = by_ticket(client, net.operator, ticket, received_mass_kg=18.4)
    assert r.status_code == 422 and r.json()["field"] == "ticket", r.text
    assert "18.4 kg on the ticket, 20 kg recorded" in r.json()["detail"]
    assert r.json()["handover"] == code
    assert final_state(client, code)["status"] == "in_transit"

    # The ticket first, then a load of another material to another site.
    body, key = load(net, material="straw.maize", declared_mass_kg=18.4)
    ticket = phone.ticket(body | {"material": "film.agri"}, key, net.source.code)
    assert by_ticket(client, net.operator, ticket, received_mass_kg=18.4).status_code == 202
    h = sync_batch(client, phone, body, key)["handover"]
    assert h["status"] == "in_transit"
    mine = client.get(f"{API}/handovers/receipt/tickets", headers=net.operator.headers).json()
    refused = next(t for t in mine["items"] if t["handover"] and t["handover"]["code"] == h["code"])
    assert refused["state"] == "refused"
    assert "material film.agri on the ticket, straw.maize recorded" in refused["reason"]
    # The site then confirms the load as it arrived, by its code.
    r = client.post(
        f"{API}/handovers/{h['code']}/receipt",
        json={"received_mass_kg": 18.4},
        headers=net.operator.headers,
    )
    assert r.status_code == 200, r.text
    records_ok(session)


def test_a_receipt_by_ticket_is_sent_again_safely_and_only_once(
    client: TestClient, session: Session, net: Network, phone: Phone
) -> None:
    body, key = load(net)
    ticket = phone.ticket(body, key, net.source.code)
    rkey = uuid.uuid4().hex
    first = by_ticket(client, net.operator, ticket, rkey, received_mass_kg=12.5)
    assert first.status_code == 202
    again = by_ticket(client, net.operator, ticket, rkey, received_mass_kg=12.5)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["state"] == "pending"
    other_body = by_ticket(client, net.operator, ticket, rkey, received_mass_kg=12)
    assert other_body.status_code == 409 and other_body.json()["field"] == "Idempotency-Key"
    # A second receipt of the same ticket (another key, another phone of the site): 409.
    second = make_account(session, Role.site_operator, sites=[net.cp.code])
    assert by_ticket(client, second, ticket, received_mass_kg=12.5).status_code == 409

    h = sync_batch(client, phone, body, key)["handover"]
    assert h["status"] == "received"
    # The retry after the load arrived says what became of the receipt.
    late = by_ticket(client, net.operator, ticket, rkey, received_mass_kg=12.5)
    assert late.status_code == 200 and late.json()["state"] == "applied"
    assert late.json()["handover"]["code"] == h["code"]
    # And the collector's retry of its batch is a duplicate, still received.
    dup = sync_batch(client, phone, body, key)
    assert dup["result"] == "duplicate" and dup["handover"]["status"] == "received"
    # Once applied, confirming by ticket again is the ordinary second confirmation: 409.
    assert by_ticket(client, net.operator, ticket, received_mass_kg=12.5).status_code == 409
    records_ok(session)


def test_a_load_corrected_before_receipt_is_confirmed_as_its_correction(
    client: TestClient, net: Network, phone: Phone
) -> None:
    body, key = load(net, declared_mass_kg=9)
    ticket = phone.ticket(body, key, net.source.code)
    code = sync_batch(client, phone, body, key)["handover"]["code"]
    r = client.post(
        f"{API}/handovers/{code}/correct",
        json=body | {"to_site": net.cp.code, "lat": None, "lon": None},
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    got = by_ticket(client, net.operator, ticket, received_mass_kg=9)
    assert got.status_code == 200, got.text
    assert got.json()["handover"]["code"] == r.json()["code"]


# --- the two phones at the same moment ----------------------------------------------------


def race_round(
    engine: sa.Engine, net: Network, body: dict[str, Any], key: str, ticket: str
) -> None:
    """The ticket's receipt and the load's batch, in two threads released at one instant."""
    import threading

    from wasteflow.db import new_session
    from wasteflow.schemas_field import ReceiptByTicket
    from wasteflow.services.accounts import get_account
    from wasteflow.services.handovers import record_batch
    from wasteflow.services.handovers.tickets import confirm_by_ticket

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def receive() -> None:
        with new_session(engine) as s:
            account = get_account(session=s, username=net.operator.account.username)
            data = ReceiptByTicket.model_validate({"ticket": ticket, "received_mass_kg": 12.5})
            barrier.wait()
            confirm_by_ticket(session=s, account=account, data=data)

    def record() -> None:
        with new_session(engine) as s:
            account = get_account(session=s, username=net.collector.account.username)
            barrier.wait()
            got = record_batch(session=s, account=account, items=[body | {"idempotency_key": key}])
            assert got.created == 1, got

    def run(work: Any) -> None:
        try:
            work()
        except BaseException as exc:  # asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (receive, record)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def received_by_ticket(session: Session, net: Network, key: str) -> None:
    h = handover(session, net.collector, key)
    assert h is not None and h.status == "received", (key, h and h.status)
    state = session.execute(
        sa.select(PendingReceipt.state).where(PendingReceipt.idempotency_key == key)
    ).scalar_one_or_none()
    assert state in (None, "applied")


def test_a_receipt_by_ticket_racing_its_load_is_never_left_waiting_beside_it(
    engine: sa.Engine, session: Session, net: Network, phone: Phone
) -> None:
    """Each round, the ticket's receipt and the load's sync start at the same instant: either
    the receipt applies to the load, or it waits and the load's transaction applies it."""
    for _ in range(8):
        body, key = load(net)
        race_round(engine, net, body, key, phone.ticket(body, key, net.source.code))
        received_by_ticket(session, net, key)
    records_ok(session)


def test_a_load_recorded_between_the_receipt_s_look_and_its_write_still_gets_it(
    engine: sa.Engine,
    session: Session,
    net: Network,
    phone: Phone,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worst interleaving, forced: the receipt by ticket finds no load, and the load's
    sync is let go before the receipt writes that it waits. The receipt's lock on the
    recorder holds the sync back until the receipt is written, so the sync applies it."""
    import threading

    from wasteflow.services.handovers import scans
    from wasteflow.services.handovers import tickets as ticket_receipts

    looked = threading.Event()
    recorded = threading.Event()
    look = ticket_receipts._by_key
    batch = scans.record_batch

    def look_then_dawdle(s: Session, account_id: int, key: str) -> Any:
        h = look(s, account_id, key)
        looked.set()
        recorded.wait(timeout=2)  # without the lock the load would commit here, unseen
        return h

    def after_the_look(**kw: Any) -> Any:
        looked.wait(timeout=5)
        try:
            return batch(**kw)
        finally:
            recorded.set()

    monkeypatch.setattr(ticket_receipts, "_by_key", look_then_dawdle)
    monkeypatch.setattr("wasteflow.services.handovers.record_batch", after_the_look)
    body, key = load(net)
    race_round(engine, net, body, key, phone.ticket(body, key, net.source.code))
    received_by_ticket(session, net, key)
    state = session.execute(
        sa.select(PendingReceipt.state).where(PendingReceipt.idempotency_key == key)
    ).scalar_one()
    assert state == "applied"
