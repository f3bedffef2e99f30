"""Sites: filters, paging, and the admin's create endpoint with its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import admin, make_account, make_site, unique
from wasteflow.types import Role, SiteKind


def _site_body(**over: Any) -> dict[str, Any]:
    body = {
        "code": unique("NEW"),
        "name": "新回收点",
        "kind": "collection_point",
        "region_code": "500156101201",
        "lat": 29.41,
        "lon": 107.55,
        "materials": ["film.agri", "hh.other"],
    }
    return body | over


def test_list_filters_by_region_including_villages_kind_and_material(
    client: TestClient, session: Session
) -> None:
    h = make_account(session, Role.official).headers
    cp = make_site(session, SiteKind.collection_point, materials=["appliance.tv"])
    pr = make_site(
        session,
        SiteKind.processor,
        materials=["appliance.tv"],
        routes=["dismantling"],
        region_code="500156104",
    )
    got = client.get(
        "/api/v1/sites",
        params={"region": "500156101", "material": "appliance.tv", "limit": 500},
        headers=h,
    ).json()
    codes = {s["code"] for s in got["items"]}
    assert cp.code in codes and pr.code not in codes
    item = next(s for s in got["items"] if s["code"] == cp.code)
    assert item["township_code"] == "500156101" and item["materials"] == ["appliance.tv"]
    got = client.get(
        "/api/v1/sites",
        params={"kind": "processor", "material": "appliance.tv", "limit": 500},
        headers=h,
    ).json()
    assert pr.code in {s["code"] for s in got["items"]}
    assert all(s["kind"] == "processor" for s in got["items"])


def test_paging_is_stable_and_counts_the_total(client: TestClient, session: Session) -> None:
    h = make_account(session, Role.collector).headers
    for _ in range(3):
        make_site(session, SiteKind.source, materials=["rec.glass"])
    params = {"material": "rec.glass", "limit": 2}
    first = client.get("/api/v1/sites", params=params, headers=h).json()
    second = client.get("/api/v1/sites", params=params | {"offset": 2}, headers=h).json()
    assert first["total"] == second["total"] >= 3
    assert len(first["items"]) == 2
    seen = [s["code"] for s in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) and seen == sorted(seen)


def test_admin_creates_a_site_and_reads_it_back(client: TestClient, session: Session) -> None:
    body = _site_body()
    r = client.post("/api/v1/sites", json=body, headers=admin(session).headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["materials"] == ["film.agri", "hh.other"] and not created["synthetic"]
    assert (
        client.get(f"/api/v1/sites/{body['code']}", headers=admin(session).headers).json()
        == created
    )


@pytest.mark.parametrize(
    "over,status,field",
    [
        ({"region_code": "500156999999"}, 422, "region_code"),
        ({"materials": ["film.agri", "unobtainium"]}, 422, "materials"),
        ({"kind": "processor"}, 422, "routes"),
        ({"routes": ["compost"]}, 422, "routes"),
        ({"lat": 95}, 422, "lat"),
        ({"lon": None}, 422, "lat"),
        ({"code": "lower-case"}, 422, "code"),
        ({"colour": "green"}, 422, "colour"),
        ({"capacity_kg": -1}, 422, "capacity_kg"),
    ],
)
def test_bad_site_input_names_the_field_and_creates_nothing(
    client: TestClient, session: Session, over: dict[str, Any], status: int, field: str
) -> None:
    h = admin(session).headers
    body = _site_body(**over)
    r = client.post("/api/v1/sites", json=body, headers=h)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and r.json()["detail"]
    if "code" in body and body["code"] != "lower-case":
        assert client.get(f"/api/v1/sites/{body['code']}", headers=h).status_code == 404


def test_duplicate_code_is_409_and_non_admins_are_403(client: TestClient, session: Session) -> None:
    body = _site_body()
    assert (
        client.post("/api/v1/sites", json=body, headers=admin(session).headers).status_code == 201
    )
    r = client.post("/api/v1/sites", json=body, headers=admin(session).headers)
    assert r.status_code == 409 and r.json()["field"] == "code"
    for role in (Role.collector, Role.site_operator, Role.processor, Role.official):
        r = client.post(
            "/api/v1/sites", json=_site_body(), headers=make_account(session, role).headers
        )
        assert r.status_code == 403 and r.json()["error"] == "Forbidden"


def test_malformed_json_is_422_not_500(client: TestClient, session: Session) -> None:
    r = client.post(
        "/api/v1/sites",
        content=b"{not json",
        headers=admin(session).headers | {"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"] == "Invalid"
