"""Anomalies as work, through the API, on SQLite and PostgreSQL: assigning, commenting,
closing and reopening; who may do which; retries and rivals; the history; and a case that
outlives its anomaly once the records no longer show it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Actor, Network, make_account, make_network
from wasteflow.models import AuditEvent
from wasteflow.models_anomalies import AnomalyCase, AnomalyComment
from wasteflow.services.audit import verify_chain
from wasteflow.types import Role

API = "/api/v1/anomalies"


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


@pytest.fixture
def official(session: Session) -> Actor:
    return make_account(session, Role.official)


def this_year() -> str:
    return str(datetime.now(ZoneInfo("Asia/Shanghai")).year)


def this_month() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def record(client: TestClient, net: Network, kg: float, *, onward: bool = False) -> str:
    """A load from the source to the collection point (or from it to the processor)."""
    body = net.body(declared_mass_kg=kg)
    headers = net.collector.headers
    if onward:
        body |= {"source_plaque": net.cp_plaque, "to_site": net.processor.code}
        headers = net.operator.headers
    r = client.post("/api/v1/handovers", json=body, headers=headers | key())
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def receive(client: TestClient, code: str, actor: Actor, **body: Any) -> None:
    r = client.post(f"/api/v1/handovers/{code}/receipt", json=body, headers=actor.headers | key())
    assert r.status_code == 200, r.text


def a_light_load(client: TestClient, net: Network) -> str:
    """A load received 20 % lighter than declared: a mass discrepancy at the collection
    point, whose id is the handover's."""
    code = record(client, net, 50)
    receive(client, code, net.operator, received_mass_kg=40)
    return f"mass_discrepancy:{code}"


def listed(client: TestClient, actor: Actor, period: str, **params: str) -> dict[str, Any]:
    r = client.get(API, params={"period": period} | params, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def item(body: dict[str, Any], anomaly_id: str) -> dict[str, Any] | None:
    return next((i for i in body["items"] if i["id"] == anomaly_id), None)


def test_an_anomaly_is_assigned_commented_resolved_and_its_history_kept(
    client: TestClient, session: Session, net: Network, official: Actor
) -> None:
    anomaly = a_light_load(client, net)
    found = item(listed(client, official, this_year(), state="open"), anomaly)
    assert found is not None and found["state"] == "open" and found["found"]
    assert found["site"] == net.cp.code and found["detail"]["received_kg"] == 40
    # The same handover's finding is the same anomaly in its month.
    assert item(listed(client, official, this_month()), anomaly) is not None

    r = client.post(
        f"{API}/{anomaly}/assign",
        json={"assignee": net.operator.account.username, "note": "请复称"},
        headers=official.headers | key(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "assigned"
    assert r.json()["assignee"]["username"] == net.operator.account.username
    mine = listed(client, net.operator, this_year(), assignee="me")
    assert [i["id"] for i in mine["items"]] == [anomaly]
    assert mine["counts"]["assigned_to_me"] == 1
    assert item(listed(client, official, this_year(), state="open"), anomaly) is None
    assert item(listed(client, official, this_year(), state="assigned"), anomaly) is not None

    r = client.post(
        f"{API}/{anomaly}/comments",
        json={"text": "  地磅复称为 40 kg，申报有误  "},
        headers=net.operator.headers | key(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["comments"] == 1
    # The assignee resolves it, but may not dismiss it.
    r = client.post(
        f"{API}/{anomaly}/close",
        json={"resolution": "dismissed", "reason": "不是问题"},
        headers=net.operator.headers | key(),
    )
    assert r.status_code == 403 and r.json()["field"] == "resolution"
    r = client.post(
        f"{API}/{anomaly}/close",
        json={"resolution": "resolved", "reason": "已更正申报"},
        headers=net.operator.headers | key(),
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (closed["state"], closed["reason"]) == ("resolved", "已更正申报")
    assert closed["closed_by"]["username"] == net.operator.account.username
    assert item(listed(client, official, this_year(), state="resolved"), anomaly) is not None

    r = client.get(f"{API}/{anomaly}", headers=official.headers)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["period"] == this_month()
    assert [c["text"] for c in detail["comments"]] == ["地磅复称为 40 kg，申报有误"]
    assert detail["comments"][0]["author"]["username"] == net.operator.account.username
    steps = [(e["action"], e["account"], e["after"]["state"]) for e in detail["history"]]
    assert steps == [
        ("anomaly.assign", official.account.username, "assigned"),
        ("anomaly.comment", net.operator.account.username, "assigned"),
        ("anomaly.close", net.operator.account.username, "resolved"),
    ]
    assert detail["history"][0]["after"]["note"] == "请复称"
    assert detail["history"][2]["after"]["reason"] == "已更正申报"

    # Reopened by an official: back with whoever had it.
    r = client.post(
        f"{API}/{anomaly}/reopen", json={"reason": "复称记录缺失"}, headers=official.headers | key()
    )
    assert r.status_code == 200 and r.json()["state"] == "assigned" and r.json()["reason"] is None
    session.rollback()
    assert verify_chain(session).ok


def test_retries_replay_and_rivals_get_a_conflict(
    client: TestClient, session: Session, net: Network, official: Actor
) -> None:
    anomaly = a_light_load(client, net)
    comment = {"text": "电话联系了回收点"}
    same = official.headers | key()
    first = client.post(f"{API}/{anomaly}/comments", json=comment, headers=same)
    again = client.post(f"{API}/{anomaly}/comments", json=comment, headers=same)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = client.post(f"{API}/{anomaly}/comments", json={"text": "另一句"}, headers=same)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    session.rollback()
    case = session.execute(sa.select(AnomalyCase).where(AnomalyCase.key == anomaly)).scalar_one()
    comments = session.execute(
        sa.select(sa.func.count()).where(AnomalyComment.case_id == case.id)
    ).scalar_one()
    assert comments == 1

    close = {"resolution": "dismissed", "reason": "称重误差，核实无误"}
    assert (
        client.post(
            f"{API}/{anomaly}/close", json=close, headers=official.headers | key()
        ).status_code
        == 200
    )
    rival = client.post(f"{API}/{anomaly}/close", json=close, headers=official.headers | key())
    assert rival.status_code == 409 and rival.json()["field"] == "id"
    assign = {"assignee": net.operator.account.username}
    r = client.post(f"{API}/{anomaly}/assign", json=assign, headers=official.headers | key())
    assert r.status_code == 409 and "reopen" in r.json()["detail"]
    r = client.post(f"{API}/{anomaly}/reopen", headers=official.headers | key())
    assert r.status_code == 200 and r.json()["state"] == "open"
    r = client.post(f"{API}/{anomaly}/reopen", headers=official.headers | key())
    assert r.status_code == 409
    assert (
        client.post(
            f"{API}/{anomaly}/assign", json=assign, headers=official.headers | key()
        ).status_code
        == 200
    )
    r = client.post(f"{API}/{anomaly}/assign", json=assign, headers=official.headers | key())
    assert r.status_code == 409 and r.json()["field"] == "assignee"


def test_who_may_do_what_and_bad_input_changes_nothing(
    client: TestClient, session: Session, net: Network, official: Actor
) -> None:
    anomaly = a_light_load(client, net)
    session.rollback()  # a fresh snapshot: the load was written by another connection
    events_before = session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()
    assign = {"assignee": net.operator.account.username}
    for actor in (net.collector, net.operator, net.processor_account):
        r = client.post(f"{API}/{anomaly}/assign", json=assign, headers=actor.headers | key())
        assert r.status_code == 403, r.text
    # Not yet the operator's: it reads the anomaly (its own site) but may not work on it.
    r = client.post(f"{API}/{anomaly}/comments", json={"text": "x"}, headers=net.operator.headers)
    assert r.status_code == 403
    assert client.get(f"{API}/{anomaly}", headers=net.operator.headers).status_code == 200
    # The processor acts for another site: for it the anomaly does not exist.
    assert client.get(f"{API}/{anomaly}", headers=net.processor_account.headers).status_code == 404
    assert item(listed(client, net.processor_account, this_year()), anomaly) is None

    for body, field in (
        ({"assignee": net.collector.account.username}, "assignee"),
        ({"assignee": "nobody-" + uuid.uuid4().hex[:8]}, "assignee"),
        ({"assignee": ""}, "assignee"),
        ({"assignee": "x", "colour": "red"}, "colour"),
    ):
        r = client.post(f"{API}/{anomaly}/assign", json=body, headers=official.headers | key())
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    for body, field in (
        ({"resolution": "resolved", "reason": "   "}, "reason"),
        ({"resolution": "resolved"}, "reason"),
        ({"resolution": "fixed", "reason": "ok"}, "resolution"),
    ):
        r = client.post(f"{API}/{anomaly}/close", json=body, headers=official.headers | key())
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    r = client.post(f"{API}/{anomaly}/comments", json={"text": ""}, headers=official.headers)
    assert r.status_code == 422 and r.json()["field"] == "text"
    for bad in ("nonsense", "far_scan:HO-00000000-XXXXX", "stale_stock:X:y:2025-13", "a" * 200):
        r = client.get(f"{API}/{bad}", headers=official.headers)
        assert r.status_code in (404, 422) and r.json()["field"] in ("id", "anomaly_id"), r.text
    r = client.get(API, params={"period": this_year(), "state": "lost"}, headers=official.headers)
    assert r.status_code == 422 and r.json()["field"] == "state"
    # Nothing above changed anything.
    session.rollback()
    assert (
        session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()
        == events_before
    )
    assert session.execute(sa.select(AnomalyCase).where(AnomalyCase.key == anomaly)).first() is None

    # Assigned to the processor's account, the anomaly is now its to read and resolve.
    r = client.post(
        f"{API}/{anomaly}/assign",
        json={"assignee": net.processor_account.account.username},
        headers=official.headers | key(),
    )
    assert r.status_code == 200
    assert item(listed(client, net.processor_account, this_year()), anomaly) is not None
    r = client.post(
        f"{API}/{anomaly}/close",
        json={"resolution": "resolved", "reason": "已核实"},
        headers=net.processor_account.headers | key(),
    )
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    r = client.post(f"{API}/{anomaly}/reopen", headers=net.processor_account.headers | key())
    assert r.status_code == 403


def test_the_work_outlives_the_anomaly_once_the_records_no_longer_show_it(
    client: TestClient, session: Session, net: Network, official: Actor
) -> None:
    # The collection point ships 30 kg having received 10: negative stock, a finding on the
    # year's totals, whose id names the site, the material and the period.
    receive(client, record(client, net, 10), net.operator, received_mass_kg=10)
    receive(
        client,
        record(client, net, 30, onward=True),
        net.processor_account,
        received_mass_kg=30,
        route="recycling",
    )
    year = this_year()
    anomaly = f"negative_stock:{net.cp.code}:film.agri:{year}"
    found = item(listed(client, official, year), anomaly)
    assert found is not None and found["found"] and found["severity"] == "error"
    r = client.post(
        f"{API}/{anomaly}/assign",
        json={"assignee": net.operator.account.username},
        headers=official.headers | key(),
    )
    assert r.status_code == 200, r.text
    # The same finding in the month is another anomaly, with work of its own.
    month = item(
        listed(client, official, this_month()),
        f"negative_stock:{net.cp.code}:film.agri:{this_month()}",
    )
    assert month is not None and month["state"] == "open"

    # The missing 20 kg turns out to have been received but not recorded: recorded now, the
    # stock is no longer negative, and the work stays listed with what was last found.
    receive(client, record(client, net, 25), net.operator, received_mass_kg=25)
    still = item(listed(client, official, year, state="assigned"), anomaly)
    assert still is not None and not still["found"]
    assert still["detail"]["missing_kg"] == pytest.approx(20)
    r = client.post(
        f"{API}/{anomaly}/close",
        json={"resolution": "resolved", "reason": "补录了漏记的收入"},
        headers=net.operator.headers | key(),
    )
    assert r.status_code == 200 and r.json()["state"] == "resolved" and not r.json()["found"]
    # A finding that never existed cannot be worked on.
    r = client.post(
        f"{API}/negative_stock:{net.source2.code}:film.agri:{year}/comments",
        json={"text": "?"},
        headers=official.headers | key(),
    )
    assert r.status_code == 404 and r.json()["field"] == "id"
