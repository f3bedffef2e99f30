"""Declarations: each kind's mass worked by hand from data/coefficients.json, the refusals,
the correction chain (also under concurrency), listing, and pro-rating for the rates.

Tests share a database with others, so each creates its own source site and filters by it.
"""

from __future__ import annotations

import threading
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import TOWNSHIP, VILLAGE, admin, make_account, make_site, unique
from wasteflow.db import new_session, unit_of_work
from wasteflow.errors import Conflict
from wasteflow.models import Coefficient, CoefficientSet, Declaration, Region
from wasteflow.schemas_declarations import FilmUsedCreate
from wasteflow.services.audit import history
from wasteflow.services.catalogue import region_and_descendants
from wasteflow.services.declarations import (
    correct_declaration,
    declaration_details,
    denominators,
)
from wasteflow.types import DeclarationKind, Role, SiteKind

URL = "/api/v1/declarations"
OTHER_TOWNSHIP = "500156104"  # 火炉镇, not above VILLAGE


@pytest.fixture
def api(client: TestClient) -> TestClient:
    return client


@pytest.fixture
def source(session: Session) -> str:
    """A fresh source site in VILLAGE: everything a test declares names it."""
    return make_site(session, SiteKind.source, materials=["film.agri"]).code


def _count(session: Session) -> int:
    session.rollback()  # a fresh snapshot, not the one the session last read
    return session.execute(sa.select(sa.func.count()).select_from(Declaration)).scalar_one()


def _mass_g(session: Session, declaration_id: int) -> int:
    session.rollback()  # see what the API committed, not an older snapshot
    return session.execute(
        sa.select(Declaration.mass_g).where(Declaration.id == declaration_id)
    ).scalar_one()


def _history(session: Session, *, entity: str, entity_id: int) -> list[Any]:
    session.rollback()
    return history(session, entity=entity, entity_id=entity_id)


def body(kind: str, site: str | None = None, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": kind,
        "region_code": VILLAGE,
        "period_start": "2024-01-01",
        "period_end": "2024-12-31",
    }
    if site:
        base["site_code"] = site
    base |= {
        "film_used": {"material": "film.agri", "quantity_kg": "1234.567"},
        "livestock_headcount": {"animal": "pig_fattening", "heads": 1000},
        "crop_output": {
            "crop": "maize",
            "output_kg": 10000,
            "area_sown_mu": 20,
            "area_returned_mu": 5,
        },
        "industrial_generated": {"material": "isw.fly_ash", "quantity_kg": 5000},
        "industrial_from_storage": {"material": "isw.coal_gangue", "quantity_kg": 0},
        "household_collected": {"material": "hh.kitchen", "quantity_kg": "250.5"},
        "manure_self_use": {
            "material": "manure.pig",
            "quantity_kg": "12000.5",
            "land_area_mu": "40.25",
        },
        "straw_household_use": {"crop": "maize", "use": "fuel", "quantity_kg": 800},
    }.get(kind, {})
    return base | over


def _post(api: TestClient, session: Session, b: dict[str, Any]) -> dict[str, Any]:
    r = api.post(URL, json=b, headers=admin(session).headers)
    assert r.status_code == 201, r.text
    return r.json()


# ---- each kind -------------------------------------------------------------------------------


def test_film_used_is_declared_as_given_and_audited(
    api: TestClient, session: Session, source: str
) -> None:
    d = _post(api, session, body("film_used", source))
    assert d["kind"] == "film_used" and d["material"] == "film.agri"
    assert d["mass_kg"] == 1234.567 and d["quantity"] == 1234.567 and d["unit"] == "kg"
    assert d["basis"] == "declared" and d["coefficient_set"] is None and d["detail"] == {}
    assert d["region_code"] == VILLAGE and d["site_code"] == source
    assert d["status"] == "active" and d["corrects_id"] is None and not d["synthetic"]
    assert d["recorded_by"] == admin(session).account.username
    assert _mass_g(session, d["id"]) == 1_234_567
    events = _history(session, entity="declaration", entity_id=d["id"])
    assert [e.action for e in events] == ["declaration.record"]
    assert events[0].after == d and events[0].account_id == admin(session).account.id
    got = api.get(f"{URL}/{d['id']}", headers=make_account(session, Role.official).headers)
    assert got.status_code == 200 and got.json() == d


@pytest.mark.parametrize(
    ("animal", "heads", "material", "kg", "slurry_kg", "count_basis", "unverified"),
    [
        # heads × kg/head/day × days, from data/coefficients.json (set WL-2025); the period is
        # 2024, a leap year: a stock count counts its 366 days, a slaughter count the lifetime.
        (
            "pig_fattening",
            1000,
            "manure.pig",
            1000 * 2 * 180,
            1000 * 12 * 180,
            "slaughtered",
            [],
        ),
        ("sow", 10, "manure.pig", 10 * 2 * 366, 10 * 12 * 366, "stock", []),
        ("dairy_cow", 3, "manure.dairy_cattle", 3 * 20 * 366, 3 * 68 * 366, "stock", []),
        ("broiler", 1000, "manure.broiler", 1000 * 0.1 * 45, 1000 * 0.35 * 45, "slaughtered", []),
        # The set's unverified 365 days is no longer used: the period says how many days.
        ("duck_goose", 100, "manure.duck_goose", 100 * 0.13 * 366, None, "stock", []),
    ],
)
def test_livestock_headcount_estimates_manure(
    api: TestClient,
    session: Session,
    source: str,
    animal: str,
    heads: int,
    material: str,
    kg: float,
    slurry_kg: float | None,
    count_basis: str,
    unverified: list[str],
) -> None:
    d = _post(api, session, body("livestock_headcount", source, animal=animal, heads=heads))
    assert d["material"] == material and d["quantity"] == heads and d["unit"] == "head"
    assert d["mass_kg"] == pytest.approx(kg, abs=0.0005)  # the solids produced
    assert d["basis"] == "estimated" and d["coefficient_set"] == "WL-2025"
    det = d["detail"]
    assert det["coefficient_set"] == "WL-2025" and det["animal"] == animal
    assert det["count_basis"] == count_basis and det["produced_kg"] == pytest.approx(kg)
    assert det["mass_basis"] == "solids"
    if slurry_kg is None:
        assert det["produced_slurry_kg"] is None and det["solids_share_of_slurry"] is None
    else:
        assert det["produced_slurry_kg"] == pytest.approx(slurry_kg)
        assert det["solids_share_of_slurry"] == pytest.approx(kg / slurry_kg)
    stock = count_basis == "stock"
    if stock:
        assert det["days"] == 366
    assert det["days_rule"] == ("declared period" if stock else "lifetime")
    assert det["unverified_coefficients"] == unverified
    assert det["all_coefficients_verified"] is (not unverified)


def test_a_quarter_of_stock_counts_the_quarters_days(
    api: TestClient, session: Session, source: str
) -> None:
    # 20 sows in stock declared for Q1 2026 (90 days): 20 × 2 × 90 = 3,600 kg solids, and
    # 20 × 12 × 90 = 21,600 kg slurry; a whole year (2025) would be 14,600 and 87,600.
    q1 = body(
        "livestock_headcount",
        source,
        animal="sow",
        heads=20,
        period_start="2026-01-01",
        period_end="2026-03-31",
    )
    d = _post(api, session, q1)
    assert _mass_g(session, d["id"]) == 3_600_000
    assert d["detail"]["days"] == 90 and d["detail"]["produced_slurry_kg"] == 21_600
    # 2026 has no coefficient set of its own: 2025's stands in, and the record says so.
    assert d["coefficient_set"] == "WL-2025" and d["detail"]["coefficient_set_fallback"] is True
    assert d["detail"]["coefficient_set_year"] == 2025
    year = q1 | {"period_start": "2025-01-01", "period_end": "2025-12-31"}
    d = _post(api, session, year)
    assert _mass_g(session, d["id"]) == 14_600_000
    assert d["detail"]["days"] == 365 and d["detail"]["produced_slurry_kg"] == 87_600
    assert d["detail"]["coefficient_set_fallback"] is False
    session.rollback()
    details = declaration_details(session, [d["id"], d["id"], 999_999_999])
    assert list(details) == [d["id"]] and details[d["id"]] == d["detail"]


def test_pigs_make_exactly_360_tonnes(api: TestClient, session: Session, source: str) -> None:
    d = _post(api, session, body("livestock_headcount", source))
    assert _mass_g(session, d["id"]) == 360_000_000


def test_crop_output_estimates_collectable_straw_and_field_return(
    api: TestClient, session: Session, source: str
) -> None:
    d = _post(api, session, body("crop_output", source))
    # 10,000 kg grain × 1.15 (unverified) × 0.81 = 9,315 kg; 5 of 20 mu returned → 2,328.75 kg
    assert _mass_g(session, d["id"]) == 9_315_000
    assert d["material"] == "straw.maize" and d["unit"] == "kg_grain" and d["quantity"] == 10000
    assert d["area_sown_mu"] == 20 and d["area_returned_mu"] == 5
    det = d["detail"]
    assert det["theoretical_kg"] == pytest.approx(11_500)
    assert det["field_return_kg"] == pytest.approx(2328.75)
    assert det["unverified_coefficients"] == ["maize.straw_grain_ratio"]
    assert det["all_coefficients_verified"] is False and det["coefficient_set"] == "WL-2025"


def test_verified_crop_and_zero_output(api: TestClient, session: Session, source: str) -> None:
    b = body("crop_output", source, crop="soybean", output_kg=1000, area_returned_mu=0)
    d = _post(api, session, b)
    assert d["mass_kg"] == 1215  # 1,000 × 1.5 × 0.81
    assert d["detail"]["unverified_coefficients"] == [] and d["detail"]["field_return_kg"] == 0
    zero = api.post(
        f"{URL}/{d['id']}/correct", json=b | {"output_kg": 0}, headers=admin(session).headers
    )
    assert zero.status_code == 201 and zero.json()["mass_kg"] == 0, zero.text


@pytest.mark.parametrize(
    ("kind", "material", "kg"),
    [
        ("industrial_generated", "isw.fly_ash", 5000),
        ("industrial_from_storage", "isw.coal_gangue", 0),
        ("household_collected", "hh.kitchen", 250.5),
    ],
)
def test_declared_kinds(
    api: TestClient, session: Session, source: str, kind: str, material: str, kg: float
) -> None:
    d = _post(api, session, body(kind, source))
    assert (d["kind"], d["material"], d["mass_kg"]) == (kind, material, kg)
    assert d["basis"] == "declared" and d["unit"] == "kg"


def test_a_declaration_may_name_no_site_and_a_township(api: TestClient, session: Session) -> None:
    d = _post(api, session, body("household_collected", region_code=TOWNSHIP))
    assert d["site_code"] is None and d["region_code"] == TOWNSHIP


# ---- coefficient sets ------------------------------------------------------------------------


def _custom_set(session: Session, **values: float) -> str:
    """A set on the district for year 2900, so no automatic choice of another test picks it."""
    code = unique("TEST-SET")
    with unit_of_work(session):
        district = session.execute(sa.select(Region.id).where(Region.code == "500156")).scalar()
        cset = CoefficientSet(code=code, name="test", year=2900, region_id=district, source="tests")
        session.add(cset)
        session.flush()
        for param, value in values.items():
            session.add(
                Coefficient(
                    set_id=cset.id,  # type: ignore[arg-type]
                    subject="pig_fattening",
                    parameter=param,
                    value=value,
                    unit="x",
                    verified=True,
                )
            )
    return code


def test_admin_may_choose_the_coefficient_set(
    api: TestClient, session: Session, source: str
) -> None:
    code = _custom_set(
        session, manure_kg_per_head_day=3, days_counted=100, count_basis_slaughtered=1
    )
    d = _post(api, session, body("livestock_headcount", source, coefficient_set=code))
    assert d["mass_kg"] == 1000 * 3 * 100 and d["coefficient_set"] == code
    assert d["detail"]["coefficient_set"] == code
    # Without it, 2024 falls back on the earliest set of the district (WL-2025).
    half = body("livestock_headcount", source, period_end="2024-06-30")
    assert _post(api, session, half)["mass_kg"] == 360_000


def test_manure_a_farm_spreads_on_its_own_land_is_declared(
    api: TestClient, session: Session, source: str
) -> None:
    d = _post(api, session, body("manure_self_use", source))
    assert d["kind"] == "manure_self_use" and d["material"] == "manure.pig"
    assert d["site_code"] == source and d["region_code"] == VILLAGE
    assert d["mass_kg"] == 12000.5 and d["quantity"] == 12000.5 and d["unit"] == "kg"
    assert d["basis"] == "declared" and d["coefficient_set"] is None
    assert d["detail"] == {"use": "自行还田", "mass_basis": "solids", "land_area_mu": 40.25}
    assert _mass_g(session, d["id"]) == 12_000_500
    slurry = body("manure_self_use", source, mass_basis="slurry", material="manure.dairy_cattle")
    assert _post(api, session, slurry)["detail"]["mass_basis"] == "slurry"


@pytest.mark.parametrize("use", ["fertiliser", "feed", "fuel", "substrate", "raw_material"])
def test_straw_households_use_is_declared_by_use(
    api: TestClient, session: Session, use: str
) -> None:
    # Region-level: no site.
    b = body("straw_household_use", use=use, crop="rice", quantity_kg="750.125")
    d = _post(api, session, b | {"region_code": TOWNSHIP})
    assert d["kind"] == "straw_household_use" and d["material"] == "straw.rice"
    assert d["site_code"] is None and d["region_code"] == TOWNSHIP
    assert d["mass_kg"] == 750.125 and d["basis"] == "declared" and d["unit"] == "kg"
    zh = {"fertiliser": "肥料化", "feed": "饲料化", "fuel": "燃料化", "substrate": "基料化"}
    assert d["detail"] == {"crop": "rice", "use": use, "use_zh": zh.get(use, "原料化")}


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "over", "field", "status"),
    [
        ("film_used", {"animal": "sow"}, "animal", 422),
        ("film_used", {"coefficient_set": "WL-2025"}, "coefficient_set", 422),
        ("livestock_headcount", {"quantity_kg": 3}, "quantity_kg", 422),
        ("livestock_headcount", {"heads": None}, "heads", 422),
        ("crop_output", {"area_returned_mu": None}, "area_returned_mu", 422),
        ("compost", {}, "kind", 422),
        ("film_used", {"kind": None}, "kind", 422),
        ("livestock_headcount", {"animal": "unicorn"}, "animal", 422),
        ("livestock_headcount", {"heads": -1}, "heads", 422),
        ("livestock_headcount", {"heads": 1.5}, "heads", 422),
        ("livestock_headcount", {"coefficient_set": "NO-SUCH-SET"}, "coefficient_set", 422),
        ("crop_output", {"crop": "durian"}, "crop", 422),
        ("crop_output", {"area_returned_mu": 21}, "area_returned_mu", 422),
        ("crop_output", {"area_sown_mu": 0, "area_returned_mu": 0}, "area_sown_mu", 422),
        ("crop_output", {"output_kg": -1}, "output_kg", 422),
        ("film_used", {"material": "film.nope"}, "material", 422),
        ("film_used", {"material": "hh.other"}, "material", 422),
        ("household_collected", {"material": "isw.fly_ash"}, "material", 422),
        ("industrial_generated", {"material": "film.agri"}, "material", 422),
        ("film_used", {"quantity_kg": 0}, "quantity_kg", 422),
        ("household_collected", {"quantity_kg": -0.001}, "quantity_kg", 422),
        ("film_used", {"quantity_kg": "1.0005"}, "quantity_kg", 422),
        ("film_used", {"quantity_kg": 0.1 + 0.2}, "quantity_kg", 422),
        ("film_used", {"quantity_kg": "NaN"}, "quantity_kg", 422),
        ("film_used", {"region_code": "500156999"}, "region_code", 422),
        ("film_used", {"region_code": "wulong"}, "region_code", 422),
        ("film_used", {"site_code": "NO-SUCH-SITE"}, "site_code", 422),
        (
            "film_used",
            {"period_start": "2024-12-31", "period_end": "2024-01-01"},
            "period_end",
            422,
        ),
        (
            "film_used",
            {"period_start": "2024-01-01", "period_end": "2025-01-01"},
            "period_end",
            422,
        ),
        ("film_used", {"period_end": "2024-02-30"}, "period_end", 422),
        ("manure_self_use", {"site_code": None}, "site_code", 422),
        ("manure_self_use", {"material": "straw.maize"}, "material", 422),
        ("manure_self_use", {"material": None}, "material", 422),
        ("manure_self_use", {"quantity_kg": 0}, "quantity_kg", 422),
        ("manure_self_use", {"land_area_mu": 0}, "land_area_mu", 422),
        ("manure_self_use", {"land_area_mu": None}, "land_area_mu", 422),
        ("manure_self_use", {"mass_basis": "wet"}, "mass_basis", 422),
        ("manure_self_use", {"animal": "sow"}, "animal", 422),
        ("straw_household_use", {"use": "burning"}, "use", 422),
        ("straw_household_use", {"use": None}, "use", 422),
        ("straw_household_use", {"crop": "durian"}, "crop", 422),
        ("straw_household_use", {"material": "straw.maize"}, "material", 422),
        ("straw_household_use", {"quantity_kg": -1}, "quantity_kg", 422),
    ],
)
def test_refusals_name_the_field_and_create_nothing(
    api: TestClient,
    session: Session,
    source: str,
    kind: str,
    over: dict[str, Any],
    field: str,
    status: int,
) -> None:
    b = body(kind, source) | over
    b = {k: v for k, v in b.items() if v is not None}  # None means: leave the field out
    before = _count(session)
    r = api.post(URL, json=b, headers=admin(session).headers)
    assert r.status_code == status, r.text
    got = r.json()
    assert got["error"] == "Invalid" and got["field"] == field, got
    assert got["detail"].startswith(field), got
    assert _count(session) == before


def test_site_must_be_a_source_in_the_region(api: TestClient, session: Session) -> None:
    elsewhere = make_site(session, SiteKind.source, region_code=OTHER_TOWNSHIP).code
    cp = make_site(session, SiteKind.collection_point).code
    before = _count(session)
    for site in (elsewhere, cp):
        r = api.post(URL, json=body("film_used", site), headers=admin(session).headers)
        assert r.status_code == 422 and r.json()["field"] == "site_code", r.text
    # A village's site is inside its township and district.
    ok = body("film_used", make_site(session, SiteKind.source).code, region_code="500156")
    assert _post(api, session, ok)["region_code"] == "500156"
    assert _count(session) == before + 1


def test_a_coefficient_set_without_the_animal_is_refused(
    api: TestClient, session: Session, source: str
) -> None:
    code = _custom_set(session, days_counted=100)
    before = _count(session)
    r = api.post(
        URL,
        json=body("livestock_headcount", source, coefficient_set=code),
        headers=admin(session).headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "coefficient_set", r.text
    assert _count(session) == before


@pytest.mark.parametrize("role", [Role.official, Role.collector, Role.processor])
def test_only_admins_record_and_correct(
    api: TestClient, session: Session, source: str, role: Role
) -> None:
    d = _post(api, session, body("film_used", source))
    h = make_account(session, role).headers
    before = _count(session)
    for url in (URL, f"{URL}/{d['id']}/correct"):
        r = api.post(url, json=body("film_used", source), headers=h)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "Forbidden" and r.json()["detail"]
    assert _count(session) == before
    assert api.post(URL, json=body("film_used", source)).status_code == 401


@pytest.mark.parametrize("role", [Role.collector, Role.site_operator, Role.processor])
def test_only_officials_and_admins_read(api: TestClient, session: Session, role: Role) -> None:
    h = make_account(session, role).headers
    assert api.get(URL, headers=h).status_code == 403
    assert api.get(f"{URL}/1", headers=h).status_code == 403


# ---- corrections -----------------------------------------------------------------------------


def test_correction_chain(api: TestClient, session: Session, source: str) -> None:
    h = admin(session).headers
    a = _post(api, session, body("film_used", source))
    r = api.post(
        f"{URL}/{a['id']}/correct", json=body("film_used", source, quantity_kg=2000), headers=h
    )
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["corrects_id"] == a["id"] and b["mass_kg"] == 2000 and b["status"] == "active"
    old = api.get(f"{URL}/{a['id']}", headers=h).json()
    assert old["status"] == "superseded" and old["mass_kg"] == a["mass_kg"]  # not edited
    events = _history(session, entity="declaration", entity_id=a["id"])
    assert [e.action for e in events] == ["declaration.record", "declaration.supersede"]
    assert events[1].before == a and events[1].after == old
    assert [e.action for e in _history(session, entity="declaration", entity_id=b["id"])] == [
        "declaration.record"
    ]

    # Only the newest can be corrected; the 409 names it.
    before = _count(session)
    r = api.post(f"{URL}/{a['id']}/correct", json=body("film_used", source), headers=h)
    assert r.status_code == 409 and r.json()["field"] == "id"
    assert r.json()["newest_id"] == b["id"] and str(b["id"]) in r.json()["detail"]
    assert _count(session) == before
    c = api.post(f"{URL}/{b['id']}/correct", json=body("film_used", source), headers=h).json()
    assert c["corrects_id"] == b["id"]
    r = api.post(f"{URL}/{a['id']}/correct", json=body("film_used", source), headers=h)
    assert r.status_code == 409 and r.json()["newest_id"] == c["id"]

    # A bad correction changes nothing: the newest stays active.
    r = api.post(
        f"{URL}/{c['id']}/correct", json=body("film_used", source, quantity_kg=-1), headers=h
    )
    assert r.status_code == 422 and r.json()["field"] == "quantity_kg"
    r = api.post(f"{URL}/{c['id']}/correct", json=body("film_used", "NO-SUCH-SITE"), headers=h)
    assert r.status_code == 422 and r.json()["field"] == "site_code"
    assert api.get(f"{URL}/{c['id']}", headers=h).json()["status"] == "active"
    assert _count(session) == before + 1

    r = api.post(f"{URL}/999999999/correct", json=body("film_used", source), headers=h)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"


def test_concurrent_corrections_leave_one_active_successor(
    api: TestClient, engine: Engine, session: Session, source: str
) -> None:
    original = _post(api, session, body("film_used", source))
    actor = admin(session).account
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def correct(kg: int) -> None:
        with new_session(engine) as s:
            data = FilmUsedCreate.model_validate(body("film_used", source, quantity_kg=kg))
            barrier.wait()
            try:
                outcomes.append(
                    correct_declaration(
                        session=s, actor=actor, declaration_id=original["id"], data=data
                    )[0]
                )
            except Conflict as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=correct, args=(kg,)) for kg in (10, 20, 30, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 4
    assert sum(not isinstance(o, Conflict) for o in outcomes) == 1
    session.rollback()
    successors = session.execute(
        sa.select(Declaration.status).where(Declaration.corrects_id == original["id"])
    ).all()
    assert successors == [("active",)]


# ---- the same thing twice --------------------------------------------------------------------


def _refused_as_duplicate(r: Any, existing_id: int) -> None:
    assert r.status_code == 409, r.text
    got = r.json()
    assert got["error"] == "Conflict" and got["existing_id"] == existing_id, got
    assert f"declaration {existing_id} already declares this" in got["detail"]
    assert f"POST /api/v1/declarations/{existing_id}/correct" in got["detail"]


@pytest.mark.parametrize(
    ("kind", "same", "different"),
    [
        ("film_used", {"quantity_kg": 99}, [{"period_end": "2024-06-30"}, {"site_code": None}]),
        (
            "livestock_headcount",
            {"heads": 7, "coefficient_set": "WL-2025"},
            [{"animal": "sow"}, {"period_start": "2024-01-02"}],
        ),
        ("crop_output", {"output_kg": 1}, [{"crop": "rice"}]),
        ("household_collected", {"quantity_kg": 1}, [{"material": "hh.other"}]),
        ("industrial_generated", {}, [{"region_code": TOWNSHIP}]),
        ("industrial_from_storage", {"quantity_kg": 9}, [{"material": "isw.fly_ash"}]),
        (
            "manure_self_use",
            {"quantity_kg": 5, "land_area_mu": 1},
            [{"mass_basis": "slurry"}, {"material": "manure.layer"}],
        ),
        ("straw_household_use", {"quantity_kg": 1}, [{"use": "feed"}, {"crop": "rice"}]),
    ],
)
def test_a_second_declaration_of_the_same_thing_is_a_conflict(
    api: TestClient,
    session: Session,
    source: str,
    kind: str,
    same: dict[str, Any],
    different: list[dict[str, Any]],
) -> None:
    h = admin(session).headers
    first = _post(api, session, body(kind, source))
    before = _count(session)
    # The quantity (or the coefficient set) does not make it another declaration.
    _refused_as_duplicate(api.post(URL, json=body(kind, source) | same, headers=h), first["id"])
    assert _count(session) == before
    # Another site, period, material, animal, use or basis does.
    for over in different:
        b = {k: v for k, v in (body(kind, source) | over).items() if v is not None}
        _post(api, session, b)
    # A correction may declare the same thing again; then the correction is the one named.
    fixed = api.post(f"{URL}/{first['id']}/correct", json=body(kind, source) | same, headers=h)
    assert fixed.status_code == 201, fixed.text
    _refused_as_duplicate(api.post(URL, json=body(kind, source), headers=h), fixed.json()["id"])


def test_a_correction_onto_another_active_declaration_is_a_conflict(
    api: TestClient, session: Session, source: str
) -> None:
    h = admin(session).headers
    year = _post(api, session, body("film_used", source))
    half = _post(api, session, body("film_used", source, period_end="2024-06-30"))
    before = _count(session)
    r = api.post(f"{URL}/{half['id']}/correct", json=body("film_used", source), headers=h)
    _refused_as_duplicate(r, year["id"])
    assert _count(session) == before
    assert api.get(f"{URL}/{half['id']}", headers=h).json()["status"] == "active"


def test_the_unique_index_refuses_what_the_first_read_missed(
    api: TestClient, session: Session, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests that both read "none yet" before either inserts: the second's insert
    # clashes on the partial unique index, and that is the same 409.
    from wasteflow.services import declarations

    first = _post(api, session, body("film_used", source))
    real = declarations._active_with
    reads: list[str] = []

    def blind_once(s: Session, identity: str) -> int | None:
        reads.append(identity)
        return None if len(reads) == 1 else real(s, identity)

    monkeypatch.setattr(declarations, "_active_with", blind_once)
    before = _count(session)
    r = api.post(URL, json=body("film_used", source), headers=admin(session).headers)
    _refused_as_duplicate(r, first["id"])
    assert len(reads) == 2 and _count(session) == before


def test_identical_declarations_at_once_make_one_active_row(
    engine: Engine, session: Session, source: str
) -> None:
    from wasteflow.services.declarations import record_declaration

    actor = admin(session).account
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def declare() -> None:
        with new_session(engine) as s:
            data = FilmUsedCreate.model_validate(body("film_used", source))
            barrier.wait()
            try:
                outcomes.append(record_declaration(session=s, actor=actor, data=data)[0])
            except Conflict as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=declare) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    made = [o for o in outcomes if not isinstance(o, Conflict)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(made) == 1 and len(refused) == 3, outcomes
    assert {e.extra["existing_id"] for e in refused} == {made[0].id}  # type: ignore[attr-defined]
    session.rollback()
    site_id = session.execute(
        sa.select(Declaration.site_id).where(Declaration.id == made[0].id)  # type: ignore[attr-defined]
    ).scalar_one()
    active = session.execute(
        sa.select(sa.func.count())
        .select_from(Declaration)
        .where(Declaration.site_id == site_id, Declaration.status == "active")
    ).scalar_one()
    assert active == 1


# ---- listing ---------------------------------------------------------------------------------


def test_listing_filters_and_pages(api: TestClient, session: Session, source: str) -> None:
    h = make_account(session, Role.official).headers
    made = [
        _post(
            api,
            session,
            body("film_used", source, period_start="2023-01-01", period_end="2023-12-31"),
        ),
        _post(
            api,
            session,
            body("household_collected", source, period_start="2024-07-01", period_end="2025-06-30"),
        ),
        _post(
            api,
            session,
            body("film_used", source, period_start="2025-01-01", period_end="2025-03-31"),
        ),
    ]
    ids = [d["id"] for d in made]

    def listed(**params: Any) -> list[int]:
        r = api.get(URL, params={"site": source, "limit": 500} | params, headers=h)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["items"]]

    assert listed() == ids
    assert listed(kind="film_used") == [ids[0], ids[2]]
    assert listed(year=2024) == [ids[1]]
    assert listed(year=2025) == [ids[1], ids[2]]
    assert listed(region=TOWNSHIP) == ids and listed(region="500156") == ids
    assert listed(region=OTHER_TOWNSHIP) == []
    assert listed(material="hh.kitchen") == [ids[1]]

    first = api.get(URL, params={"site": source, "limit": 2}, headers=h).json()
    second = api.get(URL, params={"site": source, "limit": 2, "offset": 2}, headers=h).json()
    assert first["total"] == second["total"] == 3
    assert [d["id"] for d in first["items"] + second["items"]] == ids
    assert first["items"][0] == made[0]

    # Superseded rows leave the default listing but stay readable.
    fixed = api.post(
        f"{URL}/{ids[0]}/correct", json=body("film_used", source), headers=admin(session).headers
    ).json()
    assert listed() == [ids[1], ids[2], fixed["id"]]
    assert listed(status="superseded") == [ids[0]]
    assert listed(status="all") == [*ids, fixed["id"]]


def test_region_filter_counts_regions_below(api: TestClient, session: Session) -> None:
    h = make_account(session, Role.official).headers

    def total(region: str) -> int:
        return api.get(URL, params={"region": region, "limit": 1}, headers=h).json()["total"]

    before = {r: total(r) for r in (VILLAGE, TOWNSHIP, OTHER_TOWNSHIP)}
    _post(api, session, body("household_collected"))
    after = {r: total(r) for r in before}
    assert after == {VILLAGE: before[VILLAGE] + 1, TOWNSHIP: before[TOWNSHIP] + 1} | {
        OTHER_TOWNSHIP: before[OTHER_TOWNSHIP]
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"region": "500156999"}, "region"),
        ({"site": "NO-SUCH-SITE"}, "site"),
        ({"material": "nope"}, "material"),
        ({"kind": "compost"}, "kind"),
        ({"status": "deleted"}, "status"),
        ({"limit": 0}, "limit"),
    ],
)
def test_listing_refuses_bad_filters(
    api: TestClient, session: Session, params: dict[str, Any], field: str
) -> None:
    r = api.get(URL, params=params, headers=admin(session).headers)
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_unknown_id_is_404(api: TestClient, session: Session) -> None:
    r = api.get(f"{URL}/999999999", headers=admin(session).headers)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"


def test_mounted_once_and_documented(api: TestClient) -> None:
    assert api.app.url_path_for("list_declarations") == URL  # type: ignore[attr-defined]
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"FilmUsedCreate", "ManureSelfUseCreate", "StrawHouseholdUseCreate"} <= set(schemas)
    assert schemas["StrawUse"]["enum"] == [
        "fertiliser",
        "feed",
        "fuel",
        "substrate",
        "raw_material",
    ]
    assert set(schemas["ManureSelfUseCreate"]["required"]) >= {
        "site_code",
        "material",
        "quantity_kg",
        "land_area_mu",
    }
    assert "manure_self_use" in schemas["DeclarationKind"]["enum"]
    assert "409" in spec["paths"][URL]["post"]["responses"]
    assert (
        "post" in spec["paths"][URL] and "post" in spec["paths"][URL + "/{declaration_id}/correct"]
    )


# ---- pro-rating ------------------------------------------------------------------------------


def test_denominators_prorate_by_days(api: TestClient, session: Session, source: str) -> None:
    year = _post(api, session, body("film_used", source, quantity_kg=366))  # 2024: 366 days
    q1 = _post(
        api,
        session,
        body("film_used", source, quantity_kg="90.001", period_end="2024-03-30"),  # 90 days
    )
    outside = _post(
        api, session, body("film_used", source, period_start="2025-01-01", period_end="2025-12-31")
    )
    other_kind = _post(api, session, body("household_collected", source))
    replaced = _post(
        api, session, body("film_used", source, quantity_kg=1, period_end="2024-06-30")
    )
    moved = api.post(
        f"{URL}/{replaced['id']}/correct",
        json=body("film_used", quantity_kg=2, region_code=OTHER_TOWNSHIP),
        headers=admin(session).headers,
    )
    assert moved.status_code == 201, moved.text
    mine = {d["id"] for d in (year, q1, outside, other_kind, replaced)}

    session.rollback()
    rows = [
        r
        for r in denominators(
            session,
            kind=DeclarationKind.film_used,
            region_ids=region_and_descendants(session, TOWNSHIP),
            start=date(2024, 1, 1),
            end=date(2024, 1, 31),
        )
        if r.declaration_id in mine
    ]
    by_id = {r.declaration_id: r for r in rows}
    assert set(by_id) == {year["id"], q1["id"]}
    assert by_id[year["id"]].share == Fraction(31, 366)
    assert by_id[year["id"]].prorated_g == 31_000  # 366 kg × 31/366
    assert by_id[q1["id"]].share == Fraction(31, 90)
    assert by_id[q1["id"]].prorated_g == round(90_001 * Fraction(31, 90))  # 31,000.344… → 31,000
    assert by_id[q1["id"]].mass_g == 90_001

    whole = denominators(
        session,
        kind=[DeclarationKind.film_used, DeclarationKind.household_collected],
        region_ids=region_and_descendants(session, VILLAGE),
        start=date(2023, 6, 1),
        end=date(2025, 6, 1),
    )
    got = {r.declaration_id: r for r in whole if r.declaration_id in mine}
    assert set(got) == {year["id"], q1["id"], outside["id"], other_kind["id"]}
    assert got[year["id"]].share == 1 and got[year["id"]].prorated_g == 366_000
    assert got[outside["id"]].share == Fraction(152, 365)  # 1 Jan – 1 Jun 2025
