"""The offline outbox: many handovers in one request, each with its own result."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Network, make_network
from wasteflow.models import FlowDaily, Handover


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def item(net: Network, **over: Any) -> dict[str, Any]:
    return net.body(idempotency_key=uuid.uuid4().hex, **over)


def test_one_bad_item_never_drops_the_good_ones(
    client: TestClient, session: Session, net: Network
) -> None:
    good = [item(net, declared_mass_kg=10 + i) for i in range(5)]
    bad_mass = item(net, declared_mass_kg=600)
    bad_shape = item(net, mass_method="guessed")
    not_even_an_object = "nonsense"
    items = [good[0], bad_mass, good[1], bad_shape, good[2], not_even_an_object, *good[3:]]
    r = client.post("/api/v1/handovers/batch", json={"items": items}, headers=net.collector.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (5, 0, 3)
    results = body["results"]
    assert [x["index"] for x in results] == list(range(len(items)))
    assert results[1]["error"]["field"] == "declared_mass_kg"
    assert results[3]["error"]["field"] == "mass_method"
    assert results[5]["result"] == "error" and results[5]["idempotency_key"] is None
    created = [x for x in results if x["result"] == "created"]
    assert all(x["handover"]["code"].startswith("HO-") for x in created)
    session.rollback()
    declared = session.execute(
        sa.select(sa.func.sum(FlowDaily.declared_g)).where(FlowDaily.to_site_id == net.cp.id)
    ).scalar_one()
    assert declared == sum(round((10 + i) * 1000) for i in range(5))


def test_resending_the_outbox_creates_nothing_twice(
    client: TestClient, session: Session, net: Network
) -> None:
    items = [item(net, declared_mass_kg=5) for _ in range(20)]
    first = client.post(
        "/api/v1/handovers/batch", json={"items": items}, headers=net.collector.headers
    ).json()
    assert first["created"] == 20
    # The phone lost the answer and sends everything again, plus one new scan.
    again = client.post(
        "/api/v1/handovers/batch",
        json={"items": [*items, item(net)]},
        headers=net.collector.headers,
    ).json()
    assert (again["created"], again["duplicates"], again["errors"]) == (1, 20, 0)
    assert [x["handover"]["code"] for x in again["results"][:20]] == [
        x["handover"]["code"] for x in first["results"]
    ]
    session.rollback()
    n = session.execute(
        sa.select(sa.func.count()).select_from(Handover).where(Handover.to_site_id == net.cp.id)
    ).scalar_one()
    assert n == 21


def test_duplicates_inside_one_batch(client: TestClient, net: Network) -> None:
    a = item(net)
    changed = a | {"declared_mass_kg": 99}
    body = client.post(
        "/api/v1/handovers/batch", json={"items": [a, a, changed]}, headers=net.collector.headers
    ).json()
    assert [x["result"] for x in body["results"]] == ["created", "duplicate", "error"]
    assert body["results"][1]["handover"]["code"] == body["results"][0]["handover"]["code"]
    assert body["results"][2]["error"]["error"] == "Conflict"


def test_a_reused_key_with_other_contents_is_an_error_item(
    client: TestClient, net: Network
) -> None:
    a = item(net)
    client.post("/api/v1/handovers/batch", json={"items": [a]}, headers=net.collector.headers)
    body = client.post(
        "/api/v1/handovers/batch",
        json={"items": [a | {"declared_mass_kg": 1}]},
        headers=net.collector.headers,
    ).json()
    assert body["results"][0]["error"]["field"] == "Idempotency-Key"


def test_batch_limits(client: TestClient, net: Network) -> None:
    r = client.post("/api/v1/handovers/batch", json={"items": []}, headers=net.collector.headers)
    assert r.status_code == 422 and r.json()["field"] == "items"
    from wasteflow.config import get_settings

    too_many = [item(net)] * (get_settings().batch_max_items + 1)
    r = client.post(
        "/api/v1/handovers/batch", json={"items": too_many}, headers=net.collector.headers
    )
    assert r.status_code == 422 and r.json()["field"] == "items"
