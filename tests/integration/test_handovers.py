"""Recording handovers: every rule with the error the client gets, and idempotency."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Network, make_account, make_network, make_site
from wasteflow.models import AuditEvent, FlowDaily, Handover
from wasteflow.qr import verify_payload
from wasteflow.services import keys
from wasteflow.types import Role, SiteKind, utcnow


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def post(
    client: TestClient,
    net: Network,
    body: dict[str, Any],
    key: str | None = None,
    headers: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    h = (headers or net.collector.headers) | {"Idempotency-Key": key or uuid.uuid4().hex}
    return client.post("/api/v1/handovers", json=body, headers=h)


def flows(session: Session, net: Network, to: str | None = None) -> dict[str, int]:
    session.rollback()
    to_id = {net.cp.code: net.cp.id, net.processor.code: net.processor.id}[to or net.cp.code]
    row = session.execute(
        sa.select(
            sa.func.sum(FlowDaily.handovers),
            sa.func.sum(FlowDaily.declared_g),
            sa.func.sum(FlowDaily.in_transit_g),
            sa.func.sum(FlowDaily.accepted_g),
        ).where(FlowDaily.to_site_id == to_id)
    ).one()
    return dict(
        zip(
            ("handovers", "declared_g", "in_transit_g", "accepted_g"),
            (int(v or 0) for v in row),
            strict=True,
        )
    )


def test_record_returns_code_manifest_and_moves_the_totals(
    client: TestClient, session: Session, net: Network
) -> None:
    r = post(client, net, net.body())
    assert r.status_code == 201, r.text
    h = r.json()
    assert h["code"].startswith("HO-") and len(h["code"]) == 17
    assert h["status"] == "in_transit" and h["from_site"] == net.source.code
    assert h["declared_mass_kg"] == 12.5 and h["recorded_by"] == net.collector.account.username
    assert h["flags"] == [] and h["scan_distance_m"] < 1
    parsed = verify_payload(h["manifest"], keys.public_keys(session), expected_kind="handover")
    assert parsed.ident == h["code"]
    assert flows(session, net) == {
        "handovers": 1,
        "declared_g": 12_500,
        "in_transit_g": 12_500,
        "accepted_g": 0,
    }
    event = session.execute(
        sa.select(AuditEvent).where(
            AuditEvent.entity == "handover", AuditEvent.entity_id == h["code"]
        )
    ).scalar_one()
    assert event.action == "handover.record" and event.account_id == net.collector.account.id


def test_same_key_same_body_replays_and_changes_nothing(
    client: TestClient, session: Session, net: Network
) -> None:
    body = net.body()
    first = post(client, net, body, key="retry-key-0001")
    again = post(client, net, body, key="retry-key-0001")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["code"] == first.json()["code"]
    # Spelling the same values differently is still the same request.
    respelt = body | {"declared_mass_kg": "12.500"}
    assert post(client, net, respelt, key="retry-key-0001").status_code == 200
    assert flows(session, net)["handovers"] == 1
    assert (
        session.execute(
            sa.select(sa.func.count())
            .select_from(Handover)
            .where(Handover.idempotency_key == "retry-key-0001")
        ).scalar_one()
        == 1
    )


def test_same_key_other_body_is_409(client: TestClient, session: Session, net: Network) -> None:
    assert post(client, net, net.body(), key="conflict-key-01").status_code == 201
    r = post(client, net, net.body(declared_mass_kg=13), key="conflict-key-01")
    assert r.status_code == 409 and r.json()["field"] == "Idempotency-Key"
    assert flows(session, net)["declared_g"] == 12_500


def _tampered(payload: str) -> str:
    sig_start = payload.index("&s=") + 3
    flipped = "A" if payload[sig_start] != "A" else "B"
    return payload[:sig_start] + flipped + payload[sig_start + 1 :]


@pytest.mark.parametrize(
    "case,status,field,needle",
    [
        ("forged_plaque", 422, "source_plaque", "bad_signature"),
        ("truncated_plaque", 422, "source_plaque", "malformed"),
        ("swapped_plaque", 422, "source_plaque", "bad_signature"),
        ("manifest_as_plaque", 422, "source_plaque", "wrong_kind"),
        ("not_my_source", 403, "source_plaque", "do not act for"),
        ("unknown_to_site", 422, "to_site", "no site"),
        ("same_site", 422, "to_site", "cannot be handed over"),
        ("inactive_to_site", 422, "to_site", "inactive"),
        ("material_not_accepted", 422, "material", "does not accept"),
        ("unknown_material", 422, "material", "unknown material"),
        ("zero_mass", 422, "declared_mass_kg", "greater than 0"),
        ("too_precise", 422, "declared_mass_kg", "3 decimal"),
        ("implausible_mass", 422, "declared_mass_kg", "plausibility cap"),
        ("units_missing", 422, "units", "counted in units"),
        ("units_not_counted", 422, "units", "not counted in units"),
        ("future_time", 422, "device_time", "in the future"),
        ("too_old", 422, "device_time", "older than"),
        ("naive_time", 422, "device_time", "timezone"),
        ("lat_without_lon", 422, "lat", "both"),
        ("unknown_field", 422, "colour", "unknown field"),
        ("bad_method", 422, "mass_method", "weighed"),
    ],
)
def test_every_rule_has_its_own_error_and_records_nothing(
    client: TestClient,
    session: Session,
    net: Network,
    case: str,
    status: int,
    field: str,
    needle: str,
) -> None:
    body = net.body()
    headers = None
    if case == "forged_plaque":
        body["source_plaque"] = _tampered(net.plaque)
    elif case == "truncated_plaque":
        body["source_plaque"] = net.plaque[:-10]
    elif case == "swapped_plaque":  # the other source's signature under this source's code
        other = keys.sign(session, "site", net.source2.code)
        body["source_plaque"] = net.plaque[: net.plaque.index("&s=")] + other[other.index("&s=") :]
    elif case == "manifest_as_plaque":
        body["source_plaque"] = post(client, net, net.body()).json()["manifest"]
        session.rollback()
    elif case == "not_my_source":
        body["source_plaque"] = keys.sign(session, "site", net.source2.code)
    elif case == "unknown_to_site":
        body["to_site"] = "NO-SUCH-SITE"
    elif case == "same_site":
        headers = net.operator.headers
        body |= {"source_plaque": net.cp_plaque}
    elif case == "inactive_to_site":
        body["to_site"] = make_site(session, SiteKind.collection_point, active=False).code
    elif case == "material_not_accepted":
        body["material"] = "hh.kitchen"
    elif case == "unknown_material":
        body["material"] = "kryptonite"
    elif case == "zero_mass":
        body["declared_mass_kg"] = 0
    elif case == "too_precise":
        body["declared_mass_kg"] = 1.2345
    elif case == "implausible_mass":
        body["declared_mass_kg"] = 600  # a 600 kg bag of film from one household is a typo
    elif case == "units_missing":
        body["material"] = "appliance.tv"
    elif case == "units_not_counted":
        body["units"] = 2
    elif case == "future_time":
        body["device_time"] = (utcnow() + timedelta(hours=1)).isoformat()
    elif case == "too_old":
        body["device_time"] = (utcnow() - timedelta(days=400)).isoformat()
    elif case == "naive_time":
        body["device_time"] = "2025-03-14T09:30:00"
    elif case == "lat_without_lon":
        del body["lon"]
    elif case == "unknown_field":
        body["colour"] = "green"
    elif case == "bad_method":
        body["mass_method"] = "guessed"
    before = flows(session, net)
    r = post(client, net, body, headers=headers)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["error"] in ("Invalid", "Forbidden") and err["field"] == field
    assert needle in err["detail"], err["detail"]
    assert flows(session, net) == before


def test_missing_idempotency_key_is_422_naming_the_header(client: TestClient, net: Network) -> None:
    r = client.post("/api/v1/handovers", json=net.body(), headers=net.collector.headers)
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"


def test_a_far_scan_is_accepted_and_flagged(client: TestClient, net: Network) -> None:
    r = post(client, net, net.body(lat=29.63, lon=107.55))  # 25 km north of the plaque
    assert r.status_code == 201
    assert r.json()["flags"] == ["far_scan"] and r.json()["scan_distance_m"] > 20_000
    near = post(client, net, net.body())
    register = client.get(
        "/api/v1/handovers",
        params={"site": net.source.code, "flag": "far_scan"},
        headers=net.collector.headers,
    ).json()
    codes = {h["code"] for h in register["items"]}
    assert r.json()["code"] in codes and near.json()["code"] not in codes
    bad = client.get("/api/v1/handovers", params={"flag": "odd"}, headers=net.collector.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "flag"


def test_appliances_carry_units(client: TestClient, net: Network) -> None:
    r = post(client, net, net.body(material="appliance.tv", units=3, declared_mass_kg=61))
    assert r.status_code == 201 and r.json()["units"] == 3


def test_only_recording_roles_record(client: TestClient, session: Session, net: Network) -> None:
    for role in (Role.official, Role.admin):
        r = post(client, net, net.body(), headers=make_account(session, role).headers)
        assert r.status_code == 403 and r.json()["error"] == "Forbidden"


def test_a_revoked_key_refuses_its_plaques_and_a_retired_one_does_not(
    client: TestClient, session: Session, net: Network
) -> None:
    from tests.factories import admin

    old_plaque = net.plaque
    r = client.post("/api/v1/qr/keys/rotate", headers=admin(session).headers)
    assert r.status_code == 201
    assert post(client, net, net.body(source_plaque=old_plaque)).status_code == 201
    session.rollback()  # see the rotation made through the API
    new_plaque = keys.sign(session, "site", net.source.code)
    assert new_plaque != old_plaque and r.json()["kid"] in new_plaque
    old_kid = old_plaque.split("k=")[1].split("&")[0]
    r = client.post(
        f"/api/v1/qr/keys/{old_kid}/revoke",
        json={"reason": "phone lost"},
        headers=admin(session).headers,
    )
    assert r.status_code == 200
    r = post(client, net, net.body(source_plaque=old_plaque))
    assert r.status_code == 422 and "revoked_key" in r.json()["detail"]
    assert post(client, net, net.body(source_plaque=new_plaque)).status_code == 201


def test_a_code_clash_is_drawn_again(
    client: TestClient, session: Session, net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes are random (5 characters a day); the unique index catches a clash and the
    handover is recorded under a fresh code, whole, with nothing written twice."""
    first = post(client, net, net.body()).json()
    from wasteflow.services.handovers import store

    codes = iter(
        [
            first["code"],
            first["code"].replace(first["code"][-1], "Z" if first["code"][-1] != "Z" else "Y"),
        ]
    )
    monkeypatch.setattr(store, "random_handover_code", lambda day: next(codes))
    r = post(client, net, net.body(declared_mass_kg=7))
    assert r.status_code == 201, r.text
    assert r.json()["code"] != first["code"]
    assert flows(session, net)["handovers"] == 2
