"""Late records with approval: a scan older than 30 days is submitted, then approved (recorded
as the collector's scan) or rejected, each audited, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Actor, Network, admin, make_network
from wasteflow.models import AuditEvent, Handover
from wasteflow.types import utcnow

URL = "/api/v1/late-submissions"


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


@pytest.fixture
def boss(session: Session) -> Actor:
    return admin(session)


def late_body(net: Network, days: int = 45, **over: Any) -> dict[str, Any]:
    return net.body(device_time=(utcnow() - timedelta(days=days)).isoformat(), **over)


def submit(client: TestClient, net: Network, scan: dict[str, Any], key: str) -> Any:
    return client.post(
        URL,
        json={"scan": scan, "reason": "phone was lost for six weeks"},
        headers=net.collector.headers | {"Idempotency-Key": key},
    )


def test_a_late_scan_is_refused_with_the_way_to_submit_it(client: TestClient, net: Network) -> None:
    r = client.post(
        "/api/v1/handovers",
        json=late_body(net),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 422 and r.json()["field"] == "device_time"
    assert "POST /api/v1/late-submissions" in r.json()["detail"]


def test_submitted_then_approved_the_load_is_the_collectors_scan(
    client: TestClient, session: Session, net: Network, boss: Actor
) -> None:
    key = uuid.uuid4().hex
    scan = late_body(net)
    r = submit(client, net, scan, key)
    assert r.status_code == 202, r.text
    sub = r.json()
    assert sub["state"] == "pending" and sub["from_site"] == net.source.code
    assert sub["submitted_by"] == net.collector.account.username
    again = submit(client, net, scan, key)  # a retry: the same submission, nothing new
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == sub["id"]
    pending = client.get(f"{URL}?state=pending", headers=boss.headers).json()["items"]
    assert sub["id"] in [p["id"] for p in pending]
    # Only admins decide.
    assert (
        client.post(f"{URL}/{sub['id']}/approve", headers=net.collector.headers).status_code == 403
    )
    r = client.post(f"{URL}/{sub['id']}/approve", json={"reason": "checked the paper ledger"},
                    headers=boss.headers | {"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "approved" and done["decided_by"] == boss.account.username
    h = client.get(f"/api/v1/handovers/{done['handover']}", headers=boss.headers).json()
    assert h["recorded_by"] == net.collector.account.username
    assert h["device_time"][:10] == scan["device_time"][:10] and h["status"] == "in_transit"
    # The collector's retry of the scan itself, with its key, is the approved load's replay.
    replay = client.post("/api/v1/handovers", json=scan,
                         headers=net.collector.headers | {"Idempotency-Key": key})  # fmt: skip
    assert replay.status_code == 200 and replay.json()["code"] == done["handover"]
    # Audited: the submission by the collector, the approval by the admin, the record.
    session.rollback()
    events = session.execute(
        sa.select(AuditEvent.action, AuditEvent.account_id).where(
            AuditEvent.entity == "late_submission", AuditEvent.entity_id == str(sub["id"])
        ).order_by(AuditEvent.id)
    ).all()  # fmt: skip
    assert [tuple(e) for e in events] == [
        ("late.submit", net.collector.account.id), ("late.approve", boss.account.id)
    ]  # fmt: skip
    # A decided submission is not decided again.
    twice = client.post(f"{URL}/{sub['id']}/reject", json={"reason": "changed my mind"},
                        headers=boss.headers)  # fmt: skip
    assert twice.status_code == 409


def test_rejected_with_a_reason_records_nothing(
    client: TestClient, session: Session, net: Network, boss: Actor
) -> None:
    sub = submit(client, net, late_body(net, 60), uuid.uuid4().hex).json()
    no_reason = client.post(f"{URL}/{sub['id']}/reject", json={}, headers=boss.headers)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    r = client.post(f"{URL}/{sub['id']}/reject", json={"reason": "no such load in the ledger"},
                    headers=boss.headers)  # fmt: skip
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert r.json()["handover"] is None
    assert r.json()["decision_reason"] == "no such load in the ledger"
    session.rollback()
    assert not session.execute(
        sa.select(Handover).where(Handover.from_site_id == net.source.id)
    ).first()
    mine = client.get(URL, headers=net.collector.headers).json()["items"]
    assert [m["state"] for m in mine if m["id"] == sub["id"]] == ["rejected"]


def test_submissions_are_checked_by_every_other_rule(
    client: TestClient, net: Network, boss: Actor
) -> None:
    recent = submit(client, net, net.body(), uuid.uuid4().hex)
    assert recent.status_code == 422 and recent.json()["field"] == "scan.device_time"
    heavy = submit(client, net, late_body(net, declared_mass_kg=999999), uuid.uuid4().hex)
    assert heavy.status_code == 422 and heavy.json()["field"] == "scan.declared_mass_kg"
    no_key = client.post(URL, json={"scan": late_body(net), "reason": "late"},
                         headers=net.collector.headers)  # fmt: skip
    assert no_key.status_code == 422
    # Another collector cannot see it.
    sub = submit(client, net, late_body(net), uuid.uuid4().hex).json()
    other = make_network_collector(client, net)
    assert client.get(f"{URL}/{sub['id']}", headers=other).status_code == 404
    assert client.get(f"{URL}/{sub['id']}", headers=boss.headers).status_code == 200


def make_network_collector(client: TestClient, net: Network) -> dict[str, str]:
    from tests.factories import make_account
    from wasteflow.db import new_session
    from wasteflow.types import Role

    with new_session(client.app.state.engine) as s:  # type: ignore[attr-defined]
        return make_account(s, Role.collector).headers
