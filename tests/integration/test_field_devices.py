"""The field app's device keys (registered, bound to an account, revoked), what a receiving
phone's bundle carries of them, and the paged intake lists (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Network, make_account, make_network
from tests.integration.field_tickets_support import (
    API,
    Phone,
    admin_headers,
    load,
    register,
    sync_batch,
)
from wasteflow.qr import public_key_b64
from wasteflow.types import Role


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


@pytest.fixture
def phone(client: TestClient, net: Network) -> Phone:
    return register(client, net.collector)


# --- devices and the bundle -----------------------------------------------------------------


def test_a_device_is_registered_once_per_key_and_bound_to_its_account(
    client: TestClient, session: Session, net: Network
) -> None:
    key = public_key_b64(Ed25519PrivateKey.generate())
    first = client.post(
        f"{API}/field/devices", json={"public_key": key}, headers=net.collector.headers
    )
    assert first.status_code == 201 and first.json()["account"] == net.collector.account.username
    again = client.post(
        f"{API}/field/devices", json={"public_key": key}, headers=net.collector.headers
    )
    assert again.status_code == 200 and again.json()["device_id"] == first.json()["device_id"]
    other = client.post(
        f"{API}/field/devices", json={"public_key": key}, headers=net.operator.headers
    )
    assert other.status_code == 409 and other.json()["field"] == "public_key"
    bad = client.post(
        f"{API}/field/devices", json={"public_key": "short"}, headers=net.collector.headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "public_key"
    official = make_account(session, Role.official)
    assert (
        client.post(
            f"{API}/field/devices",
            json={"public_key": public_key_b64(Ed25519PrivateKey.generate())},
            headers=official.headers,
        ).status_code
        == 403
    )
    mine = client.get(f"{API}/field/devices", headers=net.collector.headers).json()
    assert [d["device_id"] for d in mine] == [first.json()["device_id"]]
    others = client.get(
        f"{API}/field/devices",
        params={"account": net.operator.account.username},
        headers=net.collector.headers,
    )
    assert others.status_code == 403


def test_the_receiving_bundle_carries_the_senders_device_keys_and_revoked_ids(
    client: TestClient, net: Network, phone: Phone
) -> None:
    b = client.get(f"{API}/field/bundle", headers=net.operator.headers).json()
    senders = {d["device_id"]: d for d in b["sender_devices"]}
    assert senders[phone.device_id]["account"] == net.collector.account.username
    assert senders[phone.device_id]["public_key"] == public_key_b64(phone.key)
    assert (
        b["plaques"][net.cp.code].startswith("http")
        and "/q/S/" + net.cp.code in b["plaques"][net.cp.code]
    )
    # Where the point sends loads on (the processor takes film), with their names.
    assert net.processor.code in {s["code"] for s in b["destinations"]}
    own = client.get(
        f"{API}/field/bundle", params={"device": phone.device_id}, headers=net.collector.headers
    ).json()
    assert own["device"]["device_id"] == phone.device_id and own["device"]["status"] == "active"
    assert own["sender_devices"] == [] and own["revoked_devices"] == []
    # Another account's device id is nobody's business here.
    foreign = client.get(
        f"{API}/field/bundle", params={"device": phone.device_id}, headers=net.operator.headers
    ).json()
    assert foreign["device"] is None
    client.post(
        f"{API}/field/devices/{phone.device_id}/revoke",
        json={"reason": "lost"},
        headers=admin_headers(client),
    )
    b = client.get(f"{API}/field/bundle", headers=net.operator.headers).json()
    assert phone.device_id in b["revoked_devices"]
    assert phone.device_id not in {d["device_id"] for d in b["sender_devices"]}
    own = client.get(
        f"{API}/field/bundle", params={"device": phone.device_id}, headers=net.collector.headers
    ).json()
    assert own["device"]["status"] == "revoked"


# --- the intake lists ------------------------------------------------------------------------


def test_the_intake_list_is_paged_oldest_first_and_the_received_list_knows_returns(
    client: TestClient, net: Network, phone: Phone
) -> None:
    codes = [
        sync_batch(client, phone, *load(net, declared_mass_kg=kg))["handover"]["code"]
        for kg in (1, 2, 3, 4, 5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = client.get(f"{API}/field/intake", params=params, headers=net.operator.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == (5 if cursor is None else 4) and len(page["items"]) <= 2
        assert page["total_kg"] == (15 if cursor is None else 14)
        seen += [i["code"] for i in page["items"]]
        if codes[0] in seen and len(seen) >= 2:
            # A load confirmed between two pages does not make the next page skip one.
            client.post(
                f"{API}/handovers/{codes[0]}/receipt",
                json={"received_mass_kg": 1},
                headers=net.operator.headers,
            )
        cursor = page["next"]
        if cursor is None:
            break
    assert [c for c in seen if c in codes] == codes

    r = client.post(
        f"{API}/handovers/{codes[4]}/receipt",
        json={"received_mass_kg": 5, "refused_mass_kg": 2, "refusal_reason": "wet straw"},
        headers=net.operator.headers,
    )
    assert r.status_code == 200, r.text
    received = client.get(
        f"{API}/field/intake", params={"view": "received"}, headers=net.operator.headers
    ).json()
    assert [i["code"] for i in received["items"][:2]] == [codes[4], codes[0]]
    assert received["items"][0]["returned_kg"] == 0
    bad = client.get(f"{API}/field/intake", params={"cursor": "abc"}, headers=net.operator.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    assert client.get(f"{API}/field/intake", headers=net.collector.headers).status_code == 403
