"""Reading regions, materials and routes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_account
from wasteflow.types import Role


def test_regions_by_level_and_parent(client: TestClient, session: Session) -> None:
    h = make_account(session, Role.collector).headers
    townships = client.get("/api/v1/regions", params={"level": "township"}, headers=h).json()
    assert len(townships) == 26 and all(t["parent_code"] == "500156" for t in townships)
    villages = client.get("/api/v1/regions", params={"parent": "500156101"}, headers=h).json()
    assert villages and all(v["generated"] and v["code"].startswith("500156101") for v in villages)
    one = client.get("/api/v1/regions/500156002", headers=h).json()
    assert one["name_zh"] == "芙蓉街道" and one["level"] == "township"
    r = client.get("/api/v1/regions/999999", headers=h)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    r = client.get("/api/v1/regions", params={"level": "province"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "level"


def test_materials_and_routes(client: TestClient, session: Session) -> None:
    h = make_account(session, Role.official).headers
    film = client.get("/api/v1/materials", params={"indicator": "film"}, headers=h).json()
    assert [m["code"] for m in film] == ["film.agri"] and film[0]["name_zh"] == "废旧农膜"
    routes = {r["code"]: r for r in client.get("/api/v1/routes", headers=h).json()}
    assert routes["compost"]["route_class"] == "utilisation"
    assert routes["landfill"]["route_class"] == "disposal"
    assert routes["storage"]["route_class"] == "storage"
