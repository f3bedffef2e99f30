"""Helpers of the offline-ticket tests: a phone with a registered device key, loads and
their tickets, syncing them, receipts by ticket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Actor, Network, admin
from wasteflow.models import Handover
from wasteflow.qr import public_key_b64
from wasteflow.services.audit_records import check_records
from wasteflow.tickets import sign_ticket
from wasteflow.types import utcnow

API = "/api/v1"


@dataclass
class Phone:
    """A phone logged in as ``actor``, with its registered device key."""

    actor: Actor
    device_id: str
    key: Ed25519PrivateKey

    def ticket(self, body: dict[str, Any], key: str, from_site: str) -> str:
        return sign_ticket(
            self.key,
            self.device_id,
            key=key,
            from_site=from_site,
            to_site=str(body["to_site"]),
            material=str(body["material"]),
            mass_kg=Decimal(str(body["declared_mass_kg"])),
            device_time=datetime.fromisoformat(str(body["device_time"])),
            units=body.get("units"),  # type: ignore[arg-type]
        )


def register(client: TestClient, actor: Actor, label: str = "test phone") -> Phone:
    key = Ed25519PrivateKey.generate()
    r = client.post(
        f"{API}/field/devices",
        json={"public_key": public_key_b64(key), "label": label},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return Phone(actor, r.json()["device_id"], key)


def load(net: Network, **over: Any) -> tuple[dict[str, Any], str]:
    """A load's body with a whole-second device time (as the app makes them), and its key."""
    body = net.body(device_time=utcnow().replace(microsecond=0).isoformat(), **over)
    return body, str(uuid.uuid4())


def sync_batch(client: TestClient, phone: Phone, body: dict[str, Any], key: str) -> Any:
    r = client.post(
        f"{API}/handovers/batch",
        json={"items": [body | {"idempotency_key": key}]},
        headers=phone.actor.headers,
    )
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


def sync_one(client: TestClient, phone: Phone, body: dict[str, Any], key: str) -> Any:
    r = client.post(
        f"{API}/handovers", json=body, headers=phone.actor.headers | {"Idempotency-Key": key}
    )
    assert r.status_code in (200, 201), r.text
    return {"result": "created", "handover": r.json()}


SYNCS = {"batch": sync_batch, "single": sync_one}


def by_ticket(
    client: TestClient, actor: Actor, ticket: str, key: str | None = None, **receipt: Any
) -> Any:
    headers = actor.headers | {"Idempotency-Key": key or uuid.uuid4().hex}
    return client.post(
        f"{API}/handovers/receipt/ticket", json={"ticket": ticket} | receipt, headers=headers
    )


def handover(session: Session, recorder: Actor, key: str) -> Handover | None:
    session.rollback()
    return session.execute(
        sa.select(Handover).where(
            Handover.recorded_by_id == recorder.account.id, Handover.idempotency_key == key
        )
    ).scalar_one_or_none()


def final_state(client: TestClient, code: str) -> dict[str, Any]:
    h = client.get(f"{API}/handovers/{code}", headers=admin_headers(client)).json()
    return {
        k: h[k]
        for k in (
            "status",
            "received_mass_kg",
            "refused_mass_kg",
            "accepted_mass_kg",
            "refusal_reason",
            "route",
            "received_by",
            "flags",
        )
    }


_admin: dict[int, dict[str, str]] = {}


def admin_headers(client: TestClient) -> dict[str, str]:
    from wasteflow.db import new_session

    engine = client.app.state.engine  # type: ignore[attr-defined]
    if id(engine) not in _admin:
        with new_session(engine) as s:
            _admin[id(engine)] = admin(s).headers
    return _admin[id(engine)]


def records_ok(session: Session) -> None:
    session.rollback()
    report = check_records(session)
    assert report.problems == 0, report.findings
