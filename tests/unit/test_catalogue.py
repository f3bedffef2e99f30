"""The materials catalogue as data: which treatment routes each material may take, the
indicators materials feed, and the manure mass basis (reference/official-rates.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from wasteflow.reference import catalogue_materials, read_json

MATERIALS = {m["code"]: m for m in catalogue_materials()}
ROUTES = {r["code"]: r for r in read_json("routes.json")["routes"]}

# The official uses of livestock manure, as route codes: 沼气且沼渣沼液还田, 堆沤肥,
# 液体粪肥/肥水还田, 商品有机肥, 燃料, 垫料 and 基质 (one route: growing substrate and bedding).
MANURE_USES = {"biogas", "compost", "liquid_fertiliser", "organic_fertiliser", "fuel", "substrate"}
STRAW_USES = {"肥料化", "饲料化", "燃料化", "基料化", "原料化"}


def routes(code: str) -> list[str]:
    return MATERIALS[code]["attributes"]["routes"]  # type: ignore[no-any-return]


def utilisation(code: str) -> set[str]:
    return {r for r in routes(code) if ROUTES[r]["route_class"] == "utilisation"}


def of(indicator: str) -> list[str]:
    return [c for c, m in MATERIALS.items() if m["indicator"] == indicator]


def test_every_material_has_routes_and_every_route_exists() -> None:
    assert MATERIALS
    for code, m in MATERIALS.items():
        assert m["attributes"]["routes"], code
        assert set(m["attributes"]["routes"]) <= set(ROUTES), code


def test_manure_is_utilised_exactly_under_the_official_uses() -> None:
    assert len(of("manure")) >= 12
    for code in of("manure"):
        assert utilisation(code) == MANURE_USES, code
        # What may happen to manure but never counts: it can be recorded, not counted.
        assert {"landfill", "incineration", "discharge", "storage"} <= set(routes(code)), code
        assert "recycling" not in routes(code), code  # "manure recycled" is impossible
    assert ROUTES["discharge"]["route_class"] == "disposal"
    assert ROUTES["discharge"]["safe_treatment"] is False


def test_film_is_never_composted() -> None:
    film = routes("film.agri")
    assert "recycling" in film
    assert not {"compost", "organic_fertiliser", "biogas", "field_return", "feed"} & set(film)


def test_straw_routes_are_the_five_uses_and_each_says_which() -> None:
    for code in of("straw"):
        uses = utilisation(code)
        assert {ROUTES[r]["straw_use"] for r in uses} == STRAW_USES, code
        assert all(ROUTES[r]["straw_use"] for r in uses), code  # no use outside the five
        assert {"field_return", "feed", "raw_material"} <= uses


def test_household_fractions() -> None:
    assert set(routes("hh.kitchen")) == {
        "kitchen_treatment",
        "compost",
        "biogas",
        "incineration_energy",
        "incineration",
        "landfill",
    }
    assert set(routes("hh.other")) == {"incineration_energy", "incineration", "landfill"}
    assert "recycling" in routes("hh.recyclable")
    assert "hazardous_treatment" in routes("hh.hazardous")
    assert "landfill" not in routes("hh.hazardous")  # not into a sanitary landfill
    # Raw waste cannot be passed off as treatment residue at the landfill.
    raw = [c for c in of("household") if c != "hh.residue"]
    assert all("residue_landfill" not in routes(c) for c in raw)
    assert "residue_landfill" in routes("hh.residue")
    assert "landfill" not in routes("hh.residue")


def test_industrial_construction_appliances_and_recyclables() -> None:
    for code in of("industrial"):
        assert {"raw_material", "building_material", "landfill", "storage"} <= set(routes(code))
        assert MATERIALS[code]["attributes"]["bulk"] is True
    assert MATERIALS["isw.boiler_slag"]["indicator"] == "industrial"
    assert of("construction") == ["isw.construction_waste"]
    assert "building_material" in routes("isw.construction_waste")
    for code in of("appliance"):
        assert utilisation(code) == {"dismantling"}, code
    for code in of("recyclable"):
        assert "recycling" in routes(code) and "compost" not in routes(code), code


def test_manure_materials_say_their_basis_and_a_head_count_finds_the_solids_first() -> None:
    by_animal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for code in of("manure"):  # catalogue order, as declarations read it (sort_order)
        m = MATERIALS[code]
        assert m["attributes"]["basis"] in ("solids", "slurry"), code
        for animal in m["attributes"]["animals"]:
            by_animal[animal].append(m)
    for animal, materials in by_animal.items():
        assert materials[0]["attributes"]["basis"] == "solids", animal
        assert [m["attributes"]["basis"] for m in materials].count("solids") == 1, animal
    # Slurry materials exist for exactly the animals whose coefficients include wastewater.
    wastewater = {
        c["subject"]
        for s in read_json("coefficients.json")["sets"]
        for c in s["coefficients"]
        if c["parameter"] == "wastewater_l_per_head_day"
    }
    slurry = {a for a, ms in by_animal.items() for m in ms if m["attributes"]["basis"] == "slurry"}
    assert slurry == wastewater


@pytest.mark.parametrize(
    ("material", "error"),
    [
        ({"routes": ["recycling", "teleport"]}, "teleport"),
        ({"routes": []}, "no treatment routes"),
        ({"indicator": "nothing"}, "no treatment routes"),
        ({"attributes": {"routes": ["recycling"]}}, "inside attributes"),
        ({"routes": ["recycling", "recycling"]}, "twice"),
    ],
)
def test_the_loader_refuses_a_bad_route_list(material: dict[str, Any], error: str) -> None:
    catalogue = {
        "routes_by_indicator": {"film": ["recycling"]},
        "materials": [{"code": "film.x", "indicator": "film", "attributes": {}} | material],
    }
    with pytest.raises(ValueError, match=error):
        catalogue_materials(catalogue, route_codes=["recycling"])


def test_a_material_own_routes_replace_its_indicators() -> None:
    catalogue = {
        "routes_by_indicator": {"film": ["recycling", "landfill"]},
        "materials": [
            {"code": "film.a", "indicator": "film", "attributes": {"x": 1}},
            {"code": "film.b", "indicator": "film", "routes": ["landfill"]},
        ],
    }
    a, b = catalogue_materials(catalogue, route_codes=["recycling", "landfill"])
    assert a["attributes"] == {"x": 1, "routes": ["recycling", "landfill"]}
    assert b["attributes"] == {"routes": ["landfill"]} and "routes" not in b


def _expand(patterns: list[str]) -> list[str]:
    out: list[str] = []
    for p in patterns:
        out += [c for c in MATERIALS if c.startswith(p[:-1])] if p.endswith(".*") else [p]
    return out


def test_the_demo_names_only_routes_its_materials_may_take_and_its_sites_operate() -> None:
    import random

    from wasteflow.demo import PROCESSORS
    from wasteflow.demo.days import route_for

    proc = {code: i for i, (code, *_) in enumerate(PROCESSORS)}
    route_code = {i: code for i, code in enumerate(ROUTES)}
    route_id = {code: i for i, code in route_code.items()}
    rng = random.Random(1)
    for code, _kind, _name, _t, patterns, operated in PROCESSORS:
        for material in _expand(patterns):
            fits = set(operated) & set(routes(material))
            assert fits, f"{code} operates no route {material} may take"
            for _ in range(20):  # the straw plant draws its route at random
                named = route_code[route_for(proc, route_id, rng, proc[code], material)]
                assert named in routes(material), (code, material, named)
                assert named in operated, (code, material, named)
