"""Validation errors through the API name the field and the allowed values in plain words:
never pydantic's wording about tags, nor Python enum reprs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import VILLAGE, admin, make_account
from wasteflow.types import DeclarationKind, MassMethod, Role, SiteKind

KINDS = ", ".join(k.value for k in DeclarationKind)
DECLARATION = {"region_code": VILLAGE, "period_start": "2024-01-01", "period_end": "2024-12-31"}


def _refused(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    got = r.json()
    assert got["error"] == "Invalid"
    # Nothing a person cannot read: no enum reprs, no pydantic phrasing.
    assert "<" not in got["detail"] and "Input" not in got["detail"], got
    return got


@pytest.mark.parametrize(
    ("kind", "shown"), [("foo", "'foo'"), (5, "5"), (None, "null"), ("FILM_USED", "'FILM_USED'")]
)
def test_an_unknown_declaration_kind(
    client: TestClient, session: Session, kind: object, shown: str
) -> None:
    r = client.post(
        "/api/v1/declarations", json=DECLARATION | {"kind": kind}, headers=admin(session).headers
    )
    got = _refused(r)
    assert got["field"] == "kind"
    assert got["detail"] == f"kind: {shown} is not a declaration kind; use one of {KINDS}"


def test_a_missing_declaration_kind(client: TestClient, session: Session) -> None:
    r = client.post("/api/v1/declarations", json=DECLARATION, headers=admin(session).headers)
    got = _refused(r)
    assert got["field"] == "kind" and got["detail"] == f"kind: required; use one of {KINDS}"


def test_a_declaration_body_that_is_not_an_object(client: TestClient, session: Session) -> None:
    r = client.post("/api/v1/declarations", json=[1, 2], headers=admin(session).headers)
    assert _refused(r)["detail"] == "body: must be a JSON object ({…})"


def test_an_unknown_kind_in_a_query(client: TestClient, session: Session) -> None:
    h = make_account(session, Role.official).headers
    got = _refused(client.get("/api/v1/declarations", params={"kind": "compost"}, headers=h))
    assert got["detail"] == f"kind: 'compost' is not a declaration kind; use one of {KINDS}"
    got = _refused(client.get("/api/v1/declarations", params={"status": "deleted"}, headers=h))
    assert got["detail"] == (
        "status: 'deleted' is not an allowed status; use one of active, superseded, all"
    )
    got = _refused(client.get("/api/v1/sites", params={"kind": "farm"}, headers=h))
    kinds = ", ".join(k.value for k in SiteKind)
    assert got["field"] == "kind"
    assert got["detail"] == f"kind: 'farm' is not a site kind; use one of {kinds}"


def test_an_unknown_role(client: TestClient, session: Session) -> None:
    body = {
        "username": f"u{uuid.uuid4().hex[:10]}",
        "display_name": "x",
        "role": "boss",
        "password": "correct horse battery",
    }
    got = _refused(client.post("/api/v1/accounts", json=body, headers=admin(session).headers))
    roles = ", ".join(r.value for r in Role)
    assert got["field"] == "role"
    assert got["detail"] == f"role: 'boss' is not a role; use one of {roles}"


def test_an_unknown_mass_method(client: TestClient, session: Session) -> None:
    body = {
        "source_plaque": "x",
        "to_site": "CP-1",
        "material": "film.agri",
        "declared_mass_kg": 1,
        "mass_method": "guessed",
        "device_time": "2025-01-01T08:00:00+08:00",
    }
    got = _refused(
        client.post(
            "/api/v1/handovers",
            json=body,
            headers=make_account(session).headers | {"Idempotency-Key": uuid.uuid4().hex},
        )
    )
    methods = ", ".join(m.value for m in MassMethod)
    assert got["errors"] == [
        {
            "field": "mass_method",
            "reason": f"'guessed' is not a mass method; use one of {methods}",
        }
    ]


def test_an_unknown_straw_use_and_mass_basis(client: TestClient, session: Session) -> None:
    h = admin(session).headers
    straw = DECLARATION | {
        "kind": "straw_household_use",
        "crop": "maize",
        "use": "burning",
        "quantity_kg": 1,
    }
    got = _refused(client.post("/api/v1/declarations", json=straw, headers=h))
    assert got["detail"] == (
        "use: 'burning' is not a straw use; use one of fertiliser, feed, fuel, substrate, "
        "raw_material"
    )
    manure = DECLARATION | {
        "kind": "manure_self_use",
        "site_code": "NO-SUCH-SITE",
        "material": "manure.pig",
        "quantity_kg": 1,
        "land_area_mu": 1,
        "mass_basis": "wet",
    }
    got = _refused(client.post("/api/v1/declarations", json=manure, headers=h))
    assert got["detail"] == "mass_basis: 'wet' is not a mass basis; use one of solids, slurry"
