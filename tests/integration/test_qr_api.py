"""QR plaques and manifests over HTTP: images a real decoder reads back, resolving scans."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import admin, make_account, make_network
from wasteflow.qr_render import decode_png, qr_version
from wasteflow.types import Role


def test_plaque_png_decodes_and_resolves_to_its_site(client: TestClient, session: Session) -> None:
    net = make_network(session)
    h = net.collector.headers
    png = client.get(f"/api/v1/sites/{net.source.code}/plaque.png", headers=h)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    [text] = decode_png(png.content)  # zxing-cpp, a real decoder
    assert qr_version(text) <= 10
    r = client.post("/api/v1/qr/resolve", json={"payload": text}, headers=h)
    assert r.status_code == 200
    assert r.json()["kind"] == "site" and r.json()["site"]["code"] == net.source.code
    svg = client.get(f"/api/v1/sites/{net.source.code}/plaque.svg", headers=h)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(svg.content).tag.endswith("svg")


def test_manifest_png_round_trip_then_receipt(client: TestClient, session: Session) -> None:
    net = make_network(session)
    created = client.post(
        "/api/v1/handovers",
        json=net.body(),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    code = created.json()["code"]
    png = client.get(f"/api/v1/handovers/{code}/manifest.png", headers=net.operator.headers)
    [text] = decode_png(png.content)
    resolved = client.post(
        "/api/v1/qr/resolve", json={"payload": text}, headers=net.operator.headers
    ).json()
    assert resolved["kind"] == "handover" and resolved["handover"]["code"] == code
    r = client.post(
        "/api/v1/handovers/receipt",
        headers=net.operator.headers,
        json={"manifest": text, "received_mass_kg": 12.5},
    )
    assert r.status_code == 200 and r.json()["status"] == "received"


def test_resolving_a_tampered_payload_names_the_reason(
    client: TestClient, session: Session
) -> None:
    net = make_network(session)
    other = make_network(session)
    swapped = net.plaque.replace(net.source.code, other.source.code)
    r = client.post("/api/v1/qr/resolve", json={"payload": swapped}, headers=net.collector.headers)
    assert r.status_code == 422 and r.json()["reason"] == "bad_signature"
    r = client.post(
        "/api/v1/qr/resolve",
        json={"payload": "https://evil.example/x"},
        headers=net.collector.headers,
    )
    assert r.status_code == 422 and r.json()["reason"] == "malformed"


def test_printable_sheet_of_plaques(client: TestClient, session: Session) -> None:
    net = make_network(session)
    codes = [net.source.code, net.cp.code, net.processor.code]
    r = client.get("/api/v1/plaques/sheet", params={"codes": codes}, headers=admin(session).headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "size: A4" in r.text and r.text.count("<svg") == 3
    assert all(c in r.text for c in codes) and "白马镇" in r.text
    english = client.get(
        "/api/v1/plaques/sheet",
        params={"codes": codes, "lang": "en"},
        headers=admin(session).headers,
    )
    assert "Baima Town" in english.text
    r = client.get(
        "/api/v1/plaques/sheet", params={"codes": ["NOPE"]}, headers=admin(session).headers
    )
    assert r.status_code == 422 and r.json()["field"] == "codes"
    r = client.get(
        "/api/v1/plaques/sheet",
        params={"codes": codes},
        headers=make_account(session, Role.collector).headers,
    )
    assert r.status_code == 403


def test_public_keys_for_offline_phones(client: TestClient, session: Session) -> None:
    net = make_network(session)
    keys = client.get("/api/v1/qr/keys", headers=net.collector.headers).json()
    kid = net.plaque.split("k=")[1].split("&")[0]
    assert any(k["kid"] == kid and k["status"] == "active" for k in keys)
    assert all("private" not in str(k) for k in keys)
    assert client.post("/api/v1/qr/keys/rotate", headers=net.collector.headers).status_code == 403
