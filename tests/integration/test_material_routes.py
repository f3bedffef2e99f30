"""Which treatment routes a material may take, through the API on both databases: receipts
refuse a route that is not a use of the material (and a route that does not exist), sites
refuse routes none of their materials may take, and reloading the reference data moves an
existing database's materials (construction waste to its own indicator)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import (
    Actor,
    Network,
    admin,
    make_account,
    make_network,
    make_site,
    unique,
)
from wasteflow.models import Handover, Material
from wasteflow.services import cache
from wasteflow.services.reference import load_reference
from wasteflow.types import HandoverStatus, Indicator, Role, SiteKind


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def ship(client: TestClient, net: Network, to: str, material: str, kg: float = 900) -> str:
    """A load from the network's collection point to ``to``; returns its code."""
    body = net.body(source_plaque=net.cp_plaque, to_site=to, material=material, declared_mass_kg=kg)
    if material == "appliance.tv":
        body["units"] = 3
    r = client.post(
        "/api/v1/handovers",
        json=body,
        headers=net.operator.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return r.json()["code"]  # type: ignore[no-any-return]


def receive(client: TestClient, code: str, actor: Actor, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/handovers/{code}/receipt",
        json={"received_mass_kg": 900} | body,
        headers=actor.headers,
    )


def status(session: Session, code: str) -> HandoverStatus:
    session.rollback()
    return session.execute(sa.select(Handover.status).where(Handover.code == code)).scalar_one()


def test_film_cannot_be_composted_even_at_a_plant_that_composts(
    client: TestClient, session: Session, net: Network
) -> None:
    code = ship(client, net, net.processor.code, "film.agri")  # it operates compost
    r = receive(client, code, net.processor_account, route="compost")
    assert r.status_code == 422 and r.json()["field"] == "route"
    detail = r.json()["detail"]
    assert detail.startswith("route: 废旧农膜 (film.agri) cannot go to 堆肥 (compost)"), detail
    assert "its routes are recycling, " in detail and "landfill" in detail
    assert status(session, code) == HandoverStatus.in_transit  # nothing changed
    r = receive(client, code, net.processor_account, route="recycling")
    assert r.status_code == 200 and r.json()["route"] == "recycling"


def test_straw_is_not_recycled_but_composted(
    client: TestClient, session: Session, net: Network
) -> None:
    code = ship(client, net, net.processor.code, "straw.maize")
    r = receive(client, code, net.processor_account, route="recycling")
    assert r.status_code == 422 and "玉米秸秆 (straw.maize) cannot go to 再生利用" in r.text
    r = receive(client, code, net.processor_account, route="compost")
    assert r.status_code == 200 and r.json()["route"] == "compost"


def test_manure_cannot_be_recycled(client: TestClient, session: Session, net: Network) -> None:
    plant = make_site(
        session, SiteKind.processor, materials=["manure.pig"], routes=["recycling", "compost"]
    )
    operator = make_account(session, Role.processor, sites=[plant.code])
    code = ship(client, net, plant.code, "manure.pig")
    r = receive(client, code, operator, route="recycling")
    assert r.status_code == 422 and r.json()["field"] == "route"
    assert "(manure.pig) cannot go to 再生利用 (recycling); its routes are biogas" in r.text
    r = receive(client, code, operator, route="compost")
    assert r.status_code == 200, r.text


def test_an_unknown_route_is_not_a_route_the_site_lacks(
    client: TestClient, session: Session, net: Network
) -> None:
    code = ship(client, net, net.processor.code, "film.agri")
    r = receive(client, code, net.processor_account, route="compostt")
    assert r.status_code == 422 and r.json()["field"] == "route"
    detail = r.json()["detail"]
    assert "there is no treatment route 'compostt'" in detail
    assert "the routes are biogas, building_material" in detail and "does not operate" not in detail
    # A real route the material may take, that this plant does not operate: the old rule.
    r = receive(client, code, net.processor_account, route="landfill")
    assert r.status_code == 422 and r.json()["field"] == "route"
    detail = r.json()["detail"]
    assert "does not operate route 'landfill'" in detail
    assert "it operates compost, dismantling, recycling" in detail
    assert status(session, code) == HandoverStatus.in_transit


def test_receipt_by_manifest_and_its_correction_refuse_the_same(
    client: TestClient, session: Session, net: Network
) -> None:
    code = ship(client, net, net.processor.code, "appliance.tv")
    manifest = client.get(f"/api/v1/handovers/{code}", headers=net.operator.headers).json()[
        "manifest"
    ]
    r = client.post(
        "/api/v1/handovers/receipt",
        json={"manifest": manifest, "received_mass_kg": 900, "route": "compost"},
        headers=net.processor_account.headers,
    )
    assert r.status_code == 422 and "电视机 (appliance.tv) cannot go to 堆肥" in r.text
    r = client.post(
        "/api/v1/handovers/receipt",
        json={"manifest": manifest, "received_mass_kg": 900, "route": "dismantling"},
        headers=net.processor_account.headers,
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/handovers/{code}/receipt/correct",
        json={"received_mass_kg": 900, "route": "compost", "reason": "wrong route keyed"},
        headers=net.processor_account.headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "route"
    assert "cannot go to 堆肥 (compost)" in r.json()["detail"]
    assert status(session, code) == HandoverStatus.received  # not superseded


def _site_body(**over: Any) -> dict[str, Any]:
    return {
        "code": unique("PRN"),
        "name": "测试处理厂",
        "kind": "processor",
        "region_code": "500156101",
        "materials": ["film.agri"],
        "routes": ["compost"],
    } | over


def test_a_site_must_operate_a_route_one_of_its_materials_may_take(
    client: TestClient, session: Session
) -> None:
    h = admin(session).headers
    body = _site_body()
    r = client.post("/api/v1/sites", json=body, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "routes"
    assert "none of compost is a route this site's materials may take" in r.json()["detail"]
    assert client.get(f"/api/v1/sites/{body['code']}", headers=h).status_code == 404
    # One route that fits is enough; each receipt is still checked on its own.
    r = client.post("/api/v1/sites", json=_site_body(routes=["compost", "recycling"]), headers=h)
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/sites",
        json=_site_body(kind="disposal", materials=["hh.other"], routes=["residue_landfill"]),
        headers=h,
    )
    assert r.status_code == 422 and r.json()["field"] == "routes"


def test_reloading_the_reference_moves_construction_waste_to_its_own_indicator(
    session: Session,
) -> None:
    # A database loaded before this change: construction waste was bulk industrial and no
    # material had a list of routes.
    code = "isw.construction_waste"
    before = session.execute(sa.select(Material).where(Material.code == code)).scalar_one()
    mid = before.id
    session.execute(
        sa.update(Material)
        .where(Material.code == code)
        .values(indicator=Indicator.industrial, attributes={"bulk": True})
    )
    session.commit()
    cache.clear_all()
    assert cache.materials(session)[code].indicator == Indicator.industrial  # cached now
    try:
        load_reference(session=session)
        session.expire_all()
        after = session.execute(sa.select(Material).where(Material.code == code)).scalar_one()
        assert after.id == mid  # the records that name it keep naming it
        assert after.indicator == Indicator.construction
        assert "bulk" not in after.attributes
        assert after.attributes["routes"][0] == "building_material"
        ref = cache.materials(session)[code]  # the cache was cleared by the load
        assert ref.indicator == Indicator.construction and "building_material" in ref.routes
    finally:
        load_reference(session=session)  # the shared database as the other tests expect it


@pytest.mark.parametrize(
    "animal", ["pig_fattening", "sow", "dairy_cow", "beef_cattle", "laying_hen", "broiler"]
)
def test_a_head_count_resolves_to_the_solids_material_not_the_slurry(
    client: TestClient, session: Session, animal: str
) -> None:
    source = make_site(session, SiteKind.source, materials=["film.agri"]).code
    r = client.post(
        "/api/v1/declarations",
        json={
            "kind": "livestock_headcount",
            "region_code": "500156101201",
            "site_code": source,
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "animal": animal,
            "heads": 100,
        },
        headers=admin(session).headers,
    )
    assert r.status_code == 201, r.text
    material = r.json()["material"]
    row = session.execute(sa.select(Material).where(Material.code == material)).scalar_one()
    assert row.attributes["basis"] == "solids" and animal in row.attributes["animals"]
    assert not material.endswith("_slurry")


def test_industrial_generated_still_accepts_construction_waste(
    client: TestClient, session: Session
) -> None:
    source = make_site(session, SiteKind.source, materials=["isw.construction_waste"]).code
    r = client.post(
        "/api/v1/declarations",
        json={
            "kind": "industrial_generated",
            "region_code": "500156101201",
            "site_code": source,
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "material": "isw.construction_waste",
            "quantity_kg": 9000,
        },
        headers=admin(session).headers,
    )
    assert r.status_code == 201, r.text
