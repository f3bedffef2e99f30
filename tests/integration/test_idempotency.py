"""The one idempotent unit, as a client meets it: for each kind of write, a retry with the same
key replays the first answer and changes nothing; the same key for another request is a 409
naming it; a refused request does not use its key up."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Network, admin, make_network

VILLAGE = "500156101001"


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def send(client: TestClient, path: str, body: Any, headers: dict[str, str], key: str) -> Any:
    return client.post(path, json=body, headers=headers | {"Idempotency-Key": key})


def once_then_replayed(
    client: TestClient, path: str, body: Any, headers: dict[str, str], made: int
) -> dict[str, Any]:
    key = uuid.uuid4().hex
    first = send(client, path, body, headers, key)
    assert first.status_code == made, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = send(client, path, body, headers, key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    return first.json()  # type: ignore[no-any-return]


def scan(client: TestClient, net: Network, **over: Any) -> dict[str, Any]:
    r = send(client, "/api/v1/handovers", net.body(**over), net.collector.headers, uuid.uuid4().hex)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_receipt_cancel_and_corrections_replay(client: TestClient, net: Network) -> None:
    op = net.operator.headers
    load = scan(client, net)
    got = once_then_replayed(
        client, f"/api/v1/handovers/{load['code']}/receipt", {"received_mass_kg": 12.5}, op, 200
    )
    assert got["status"] == "received"
    other = scan(client, net)
    path = f"/api/v1/handovers/{other['code']}/cancel"
    got = once_then_replayed(client, path, {"reason": "scanned twice"}, net.collector.headers, 200)
    assert got["status"] == "cancelled"
    wrong = scan(client, net, declared_mass_kg=120)
    path = f"/api/v1/handovers/{wrong['code']}/correct"
    got = once_then_replayed(
        client, path, net.body(declared_mass_kg=12), net.collector.headers, 201
    )
    assert got["corrects"] == wrong["code"]
    fix = {"received_mass_kg": 12, "reason": "scale misread"}
    path = f"/api/v1/handovers/{load['code']}/receipt/correct"
    got = once_then_replayed(client, path, fix, op, 201)
    assert got["corrects"] == load["code"]


def test_a_key_names_one_request(client: TestClient, net: Network) -> None:
    op = net.operator.headers
    a, b = scan(client, net), scan(client, net)
    key = uuid.uuid4().hex
    assert (
        send(
            client, f"/api/v1/handovers/{a['code']}/receipt", {"received_mass_kg": 12}, op, key
        ).status_code
        == 200
    )
    other_body = send(
        client, f"/api/v1/handovers/{a['code']}/receipt", {"received_mass_kg": 11}, op, key
    )
    assert other_body.status_code == 409 and other_body.json()["field"] == "Idempotency-Key"
    assert "other values" in other_body.json()["detail"]
    other_record = send(
        client, f"/api/v1/handovers/{b['code']}/receipt", {"received_mass_kg": 12}, op, key
    )
    assert other_record.status_code == 409 and other_record.json()["field"] == "Idempotency-Key"
    assert f"handover.receipt of {a['code']}" in other_record.json()["detail"]
    # b was not touched by the refused request
    assert client.get(f"/api/v1/handovers/{b['code']}", headers=op).json()["status"] == "in_transit"


def test_a_refused_request_does_not_use_its_key_up(client: TestClient, net: Network) -> None:
    op = net.operator.headers
    load = scan(client, net)
    path, key = f"/api/v1/handovers/{load['code']}/receipt", uuid.uuid4().hex
    bad = send(client, path, {"received_mass_kg": 12, "refused_mass_kg": 13}, op, key)
    assert bad.status_code == 422 and bad.json()["field"] == "refused_mass_kg"
    fixed = send(client, path, {"received_mass_kg": 12}, op, key)
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers


def test_declarations_sites_and_accounts_replay(client: TestClient, session: Session) -> None:
    boss = admin(session).headers
    declared = {
        "kind": "film_used",
        "region_code": VILLAGE,
        "period_start": "2022-01-01",
        "period_end": "2022-12-31",
        "material": "film.agri",
        "quantity_kg": "321.5",
    }
    first = once_then_replayed(client, "/api/v1/declarations", declared, boss, 201)
    fixed = declared | {"quantity_kg": "330"}
    got = once_then_replayed(
        client, f"/api/v1/declarations/{first['id']}/correct", fixed, boss, 201
    )
    assert got["corrects_id"] == first["id"]
    code = f"WL-CP-IDEM{uuid.uuid4().hex[:4].upper()}"
    site = {"code": code, "name": "点", "kind": "collection_point", "region_code": VILLAGE}
    assert once_then_replayed(client, "/api/v1/sites", site, boss, 201)["code"] == code
    user = {
        "username": f"idem.{uuid.uuid4().hex[:6]}",
        "display_name": "idem",
        "role": "official",
        "password": "a long enough password",
    }
    assert once_then_replayed(client, "/api/v1/accounts", user, boss, 201)["role"] == "official"
