"""Confirming intake, refusals, returns, cancellations, corrections, history and the register."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Network, make_account, make_network
from wasteflow.models import FlowDaily, TreatmentDaily
from wasteflow.services.audit import verify_chain
from wasteflow.types import Role


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def record(
    client: TestClient, net: Network, to_processor: bool = False, headers: Any = None, **over: Any
) -> dict[str, Any]:
    body = net.body(**over)
    if to_processor:
        body |= {"source_plaque": net.cp_plaque, "to_site": net.processor.code}
        headers = headers or net.operator.headers
    r = client.post(
        "/api/v1/handovers",
        json=body,
        headers=(headers or net.collector.headers) | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def receive(
    client: TestClient, code: str, headers: dict[str, str], key: str | None = None, **body: Any
):  # type: ignore[no-untyped-def]
    h = headers | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/api/v1/handovers/{code}/receipt", json=body, headers=h)


def totals(session: Session, code: str) -> dict[str, int]:
    session.rollback()
    from wasteflow.models import Handover

    h = session.execute(sa.select(Handover).where(Handover.code == code)).scalar_one()
    f = session.execute(
        sa.select(FlowDaily).where(
            FlowDaily.day == h.day,
            FlowDaily.from_site_id == h.from_site_id,
            FlowDaily.to_site_id == h.to_site_id,
            FlowDaily.material_id == h.material_id,
        )
    ).scalar_one()
    treated = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(TreatmentDaily.accepted_g), 0)).where(
            TreatmentDaily.site_id == h.to_site_id, TreatmentDaily.day == h.day
        )
    ).scalar_one()
    return {
        "handovers": f.handovers,
        "declared": f.declared_g,
        "in_transit": f.in_transit_g,
        "received": f.received_g,
        "refused": f.refused_g,
        "accepted": f.accepted_g,
        "treated": int(treated),
    }


def test_collection_point_confirms_intake(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net)
    r = receive(client, h["code"], net.operator.headers, received_mass_kg=12.4)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "received" and got["accepted_mass_kg"] == 12.4
    assert got["received_by"] == net.operator.account.username and got["flags"] == []
    t = totals(session, h["code"])
    assert (t["in_transit"], t["received"], t["accepted"]) == (0, 12_400, 12_400)


def test_processor_confirms_with_route_and_partial_refusal(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net, to_processor=True, declared_mass_kg=900)
    pa = net.processor_account.headers
    r = receive(client, h["code"], pa, received_mass_kg=900)
    assert r.status_code == 422 and r.json()["field"] == "route"
    r = receive(client, h["code"], pa, received_mass_kg=900, route="landfill")
    assert r.status_code == 422 and "does not operate" in r.json()["detail"]
    r = receive(client, h["code"], pa, received_mass_kg=900, refused_mass_kg=100, route="recycling")
    assert r.status_code == 422 and r.json()["field"] == "refusal_reason"
    r = receive(
        client,
        h["code"],
        pa,
        received_mass_kg=900,
        refused_mass_kg=901,
        refusal_reason="wet",
        route="recycling",
    )
    assert r.status_code == 422 and r.json()["field"] == "refused_mass_kg"
    assert totals(session, h["code"])["in_transit"] == 900_000  # refusals changed nothing
    r = receive(
        client,
        h["code"],
        pa,
        received_mass_kg=900,
        refused_mass_kg=150,
        refusal_reason="soil and stones",
        route="recycling",
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "partially_refused" and got["accepted_mass_kg"] == 750
    assert got["route"] == "recycling" and got["refusal_reason"] == "soil and stones"
    t = totals(session, h["code"])
    assert (t["refused"], t["accepted"], t["treated"]) == (150_000, 750_000, 750_000)


def test_refused_load_goes_back_by_a_new_handover_naming_it(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net, to_processor=True, declared_mass_kg=500)
    pa = net.processor_account.headers
    r = receive(
        client,
        h["code"],
        pa,
        received_mass_kg=480,
        refused_mass_kg=480,
        refusal_reason="film soaked in pesticide",
    )
    assert r.status_code == 200 and r.json()["status"] == "refused"
    assert r.json()["route"] is None and r.json()["accepted_mass_kg"] == 0
    plaque = client.get(f"/api/v1/sites/{net.processor.code}/plaque", headers=pa).json()["payload"]
    back = {
        "source_plaque": plaque,
        "to_site": net.cp.code,
        "material": "film.agri",
        "mass_method": "weighed",
        "device_time": net.body()["device_time"],
        "returns": h["code"],
    }
    too_much = client.post(
        "/api/v1/handovers",
        json=back | {"declared_mass_kg": 481},
        headers=pa | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert too_much.status_code == 422 and "left to send back" in too_much.json()["detail"]
    ok = client.post(
        "/api/v1/handovers",
        json=back | {"declared_mass_kg": 480},
        headers=pa | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert ok.status_code == 201 and ok.json()["returns"] == h["code"]
    again = client.post(
        "/api/v1/handovers",
        json=back | {"declared_mass_kg": 1},
        headers=pa | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert again.status_code == 422
    # A load that was not refused cannot be "returned".
    fine = record(client, net)
    receive(client, fine["code"], net.operator.headers, received_mass_kg=12.5)
    r = client.post(
        "/api/v1/handovers",
        json=net.body(returns=fine["code"]),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 422 and r.json()["field"] == "returns"
    history = client.get(f"/api/v1/handovers/{h['code']}/history", headers=pa).json()
    assert history["returned_by"] == [ok.json()["code"]]


def test_discrepancy_beyond_tolerance_is_flagged_not_refused(
    client: TestClient, net: Network
) -> None:
    h = record(client, net, declared_mass_kg=100)
    r = receive(client, h["code"], net.operator.headers, received_mass_kg=81)
    assert r.status_code == 200 and r.json()["flags"] == ["mass_discrepancy"]
    h2 = record(client, net, declared_mass_kg=100)
    r = receive(client, h2["code"], net.operator.headers, received_mass_kg=96)
    assert r.json()["flags"] == []


def test_confirmed_once_and_only_by_the_receiving_site(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net)
    stranger = make_account(session, Role.site_operator, sites=[net.source2.code])
    r = receive(client, h["code"], stranger.headers, received_mass_kg=12.5)
    assert r.status_code == 403
    for role in (Role.collector, Role.official, Role.admin):
        r = receive(client, h["code"], make_account(session, role).headers, received_mass_kg=1)
        assert r.status_code == 403, role
    assert (
        receive(
            client, h["code"], net.operator.headers, key="receipt-key-1", received_mass_kg=12.5
        ).status_code
        == 200
    )
    # An identical retry with its key is answered with the first result; anything else is 409.
    again = receive(
        client, h["code"], net.operator.headers, key="receipt-key-1", received_mass_kg=12.5
    )
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    r = receive(client, h["code"], net.operator.headers, key="receipt-key-1", received_mass_kg=12)
    assert r.status_code == 409 and r.json()["field"] == "Idempotency-Key"
    r = receive(client, h["code"], net.operator.headers, received_mass_kg=12.5)
    assert r.status_code == 409 and "confirmed once" in r.json()["detail"]
    assert totals(session, h["code"])["received"] == 12_500


def test_receipt_by_scanned_manifest(client: TestClient, net: Network) -> None:
    h = record(client, net)
    r = client.post(
        "/api/v1/handovers/receipt",
        headers=net.operator.headers,
        json={"manifest": h["manifest"], "received_mass_kg": 12.5},
    )
    assert r.status_code == 200 and r.json()["code"] == h["code"]
    forged = h["manifest"].replace(h["code"], record(client, net)["code"])
    r = client.post(
        "/api/v1/handovers/receipt",
        headers=net.operator.headers,
        json={"manifest": forged, "received_mass_kg": 12.5},
    )
    assert r.status_code == 422 and r.json()["field"] == "manifest"


def test_author_cancels_before_receipt_and_nothing_else_moves_it(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net)
    r = client.post(
        f"/api/v1/handovers/{h['code']}/cancel",
        json={"reason": "no"},
        headers=net.collector.headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(
        f"/api/v1/handovers/{h['code']}/cancel",
        json={"reason": "wrong site"},
        headers=net.operator.headers,
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/handovers/{h['code']}/cancel",
        json={"reason": "wrong site"},
        headers=net.collector.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert totals(session, h["code"]) == {
        "handovers": 0,
        "declared": 0,
        "in_transit": 0,
        "received": 0,
        "refused": 0,
        "accepted": 0,
        "treated": 0,
    }
    r = receive(client, h["code"], net.operator.headers, received_mass_kg=12.5)
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    received = record(client, net)
    receive(client, received["code"], net.operator.headers, received_mass_kg=12.5)
    r = client.post(
        f"/api/v1/handovers/{received['code']}/cancel",
        json={"reason": "too late"},
        headers=net.collector.headers,
    )
    assert r.status_code == 409


def test_a_correction_is_a_new_record_naming_the_old(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net, declared_mass_kg=120)  # meant 12.0
    r = client.post(
        f"/api/v1/handovers/{h['code']}/correct",
        json=net.body(declared_mass_kg=12),
        headers=net.collector.headers | {"Idempotency-Key": "correction-0001"},
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["corrects"] == h["code"] and new["code"] != h["code"]
    old = client.get(f"/api/v1/handovers/{h['code']}", headers=net.collector.headers).json()
    assert old["status"] == "superseded" and old["declared_mass_kg"] == 120  # not edited
    t = totals(session, new["code"])
    assert t["declared"] >= 12_000 and t["in_transit"] == t["declared"]
    hist = client.get(
        f"/api/v1/handovers/{h['code']}/history", headers=net.collector.headers
    ).json()
    assert [e["action"] for e in hist["events"]] == ["handover.record", "handover.supersede"]
    assert hist["corrected_by"] == new["code"]
    r = receive(client, h["code"], net.operator.headers, received_mass_kg=12)
    assert r.status_code == 409 and "superseded" in r.json()["detail"]
    r = client.post(
        f"/api/v1/handovers/{h['code']}/correct",
        json=net.body(),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 409


def correct_receipt(
    client: TestClient, code: str, headers: dict[str, str], key: str | None = None, **body: Any
):  # type: ignore[no-untyped-def]
    h = headers | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/api/v1/handovers/{code}/receipt/correct", json=body, headers=h)


def test_a_receipt_is_corrected_by_a_new_record_and_the_totals_follow(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net, to_processor=True, declared_mass_kg=90)
    pa = net.processor_account.headers
    r = receive(client, h["code"], pa, received_mass_kg=900, route="recycling")  # meant 90.0
    assert r.status_code == 200 and r.json()["flags"] == ["mass_discrepancy"]
    assert totals(session, h["code"])["treated"] == 900_000
    fix = {
        "received_mass_kg": 90,
        "refused_mass_kg": 5,
        "refusal_reason": "stones in the bales",
        "route": "recycling",
        "reason": "a zero too many when keying the weight",
    }
    r = correct_receipt(client, h["code"], pa, key="receipt-fix-1", **fix)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["code"] != h["code"] and new["corrects"] == h["code"]
    assert new["status"] == "partially_refused" and new["accepted_mass_kg"] == 85
    assert new["flags"] == [] and new["route"] == "recycling"
    # The load itself is the collector's record still, as first scanned.
    assert new["recorded_by"] == h["recorded_by"] and new["declared_mass_kg"] == 90
    assert new["device_time"] == h["device_time"] and new["from_site"] == h["from_site"]
    assert new["received_by"] == net.processor_account.account.username
    old = client.get(f"/api/v1/handovers/{h['code']}", headers=pa).json()
    assert old["status"] == "superseded" and old["received_mass_kg"] == 900  # not edited
    assert totals(session, new["code"]) == {
        "handovers": 1,
        "declared": 90_000,
        "in_transit": 0,
        "received": 90_000,
        "refused": 5_000,
        "accepted": 85_000,
        "treated": 85_000,
    }
    # A retry with the same key is answered with the same record; other values are 409.
    again = correct_receipt(client, h["code"], pa, key="receipt-fix-1", **fix)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["code"] == new["code"]
    other = correct_receipt(client, h["code"], pa, key="receipt-fix-1", **fix | {"route": None})
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    # The superseded receipt cannot be corrected again; its correction can.
    r = correct_receipt(client, h["code"], pa, **fix)
    assert r.status_code == 409 and "superseded" in r.json()["detail"]
    r = correct_receipt(
        client, new["code"], pa, received_mass_kg=90, route="recycling", reason="no refusal"
    )
    assert r.status_code == 201 and r.json()["corrects"] == new["code"]
    assert totals(session, new["code"])["treated"] == 90_000
    hist = client.get(f"/api/v1/handovers/{h['code']}/history", headers=pa).json()
    actions = [e["action"] for e in hist["events"]]
    assert actions == ["handover.record", "handover.receive", "handover.supersede"]
    assert hist["corrected_by"] == new["code"]
    assert hist["events"][-1]["after"]["reason"] == fix["reason"]
    hist = client.get(f"/api/v1/handovers/{new['code']}/history", headers=pa).json()
    first = hist["events"][0]
    assert first["action"] == "handover.receipt_correct"
    assert first["before"]["received_mass_g"] == 900_000
    assert first["after"]["received_mass_g"] == 90_000 and first["after"]["corrects"] == h["code"]
    session.rollback()
    assert verify_chain(session).ok


def test_a_receipt_correction_has_rules_and_a_refusal_changes_nothing(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net)
    ok = {"received_mass_kg": 12, "reason": "scale was not zeroed"}
    r = correct_receipt(client, h["code"], net.operator.headers, **ok)
    assert r.status_code == 409 and "not been received" in r.json()["detail"]
    receive(client, h["code"], net.operator.headers, received_mass_kg=12.5)
    before = totals(session, h["code"])
    r = correct_receipt(client, h["code"], net.operator.headers, received_mass_kg=12)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = correct_receipt(client, h["code"], net.operator.headers, **ok | {"reason": "x"})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = correct_receipt(client, h["code"], net.operator.headers, **ok | {"received_mass_kg": 12.5})
    assert r.status_code == 422 and "must change something" in r.json()["detail"]
    r = correct_receipt(client, h["code"], net.operator.headers, **ok | {"refused_mass_kg": 13})
    assert r.status_code == 422 and r.json()["field"] == "refused_mass_kg"
    stranger = make_account(session, Role.site_operator, sites=[net.source2.code])
    for headers in (
        stranger.headers,
        net.collector.headers,
        make_account(session, Role.official).headers,
        make_account(session, Role.admin).headers,
    ):
        assert correct_receipt(client, h["code"], headers, **ok).status_code == 403
    assert totals(session, h["code"]) == before
    cancelled = record(client, net)
    client.post(
        f"/api/v1/handovers/{cancelled['code']}/cancel",
        json={"reason": "double scan"},
        headers=net.collector.headers,
    )
    r = correct_receipt(client, cancelled["code"], net.operator.headers, **ok)
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]


def test_a_refusal_already_sent_back_cannot_be_corrected(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net, to_processor=True, declared_mass_kg=50)
    pa = net.processor_account.headers
    receive(client, h["code"], pa, received_mass_kg=50, refused_mass_kg=50, refusal_reason="wet")
    plaque = client.get(f"/api/v1/sites/{net.processor.code}/plaque", headers=pa).json()["payload"]
    back = client.post(
        "/api/v1/handovers",
        json={
            "source_plaque": plaque,
            "to_site": net.cp.code,
            "material": "film.agri",
            "declared_mass_kg": 50,
            "mass_method": "weighed",
            "device_time": net.body()["device_time"],
            "returns": h["code"],
        },
        headers=pa | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert back.status_code == 201
    r = correct_receipt(
        client, h["code"], pa, received_mass_kg=50, route="recycling", reason="it was dry after all"
    )
    assert r.status_code == 409 and back.json()["code"] in r.json()["detail"]


def test_history_lists_every_change_with_a_verifiable_chain(
    client: TestClient, session: Session, net: Network
) -> None:
    h = record(client, net)
    receive(client, h["code"], net.operator.headers, received_mass_kg=12.5)
    hist = client.get(f"/api/v1/handovers/{h['code']}/history", headers=net.operator.headers)
    assert hist.status_code == 200
    events = hist.json()["events"]
    assert [e["action"] for e in events] == ["handover.record", "handover.receive"]
    assert events[0]["account"] == net.collector.account.username
    assert events[1]["before"] == {"status": "in_transit"}
    assert events[1]["after"]["status"] == "received"
    session.rollback()
    assert verify_chain(session).ok


def test_register_filters_and_who_sees_what(
    client: TestClient, session: Session, net: Network
) -> None:
    mine = record(client, net)
    official = make_account(session, Role.official)
    r = client.get("/api/v1/handovers", params={"site": net.cp.code}, headers=official.headers)
    assert r.status_code == 200 and mine["code"] in {h["code"] for h in r.json()["items"]}
    assert (
        client.get(
            "/api/v1/handovers",
            params={"site": net.cp.code, "status": "received"},
            headers=official.headers,
        ).json()["total"]
        == 0
    )
    outsider = make_account(session, Role.collector)
    r = client.get("/api/v1/handovers", params={"site": net.cp.code}, headers=outsider.headers)
    assert r.json()["total"] == 0
    assert (
        client.get(f"/api/v1/handovers/{mine['code']}", headers=outsider.headers).status_code == 403
    )
    assert (
        client.get(
            "/api/v1/handovers", params={"material": "nope"}, headers=official.headers
        ).status_code
        == 422
    )
