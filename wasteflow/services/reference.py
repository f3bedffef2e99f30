"""Load the reference data (regions, materials, routes, coefficients, targets).

Safe to run again: rows are matched by code and updated in place only where the reference
itself changed; nothing a user recorded refers to reference rows by anything but id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col

from wasteflow.db import unit_of_work
from wasteflow.models import (
    Coefficient,
    CoefficientSet,
    Material,
    Region,
    Target,
    TreatmentRoute,
)
from wasteflow.reference import DISTRICT, catalogue_materials, read_csv, read_json
from wasteflow.services import cache
from wasteflow.services.audit import record_event
from wasteflow.types import RegionLevel


@dataclass
class LoadReport:
    regions: int = 0
    materials: int = 0
    routes: int = 0
    coefficients: int = 0
    targets: int = 0


def _upsert(
    session: Session, model: type[SQLModel], key: dict[str, Any], values: dict[str, Any]
) -> Any:
    stmt = sa.select(model)
    for k, v in key.items():
        stmt = stmt.where(getattr(model, k) == v)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        row = model.model_validate({**key, **values})
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.flush()
    return row


def load_reference(*, session: Session, account_id: int | None = None) -> LoadReport:
    """Load every reference file into the database in one transaction."""
    report = LoadReport()
    with unit_of_work(session):
        district = _upsert(
            session,
            Region,
            {"code": DISTRICT["code"]},
            {k: v for k, v in DISTRICT.items() if k != "code"}
            | {"level": RegionLevel.district, "parent_id": None, "generated": False},
        )
        townships: dict[str, int] = {}
        for row in read_csv("regions/wulong_townships.csv"):
            t = _upsert(
                session,
                Region,
                {"code": row["code"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "kind_zh": row["kind_zh"],
                    "level": RegionLevel.township,
                    "parent_id": district.id,
                    "lat": float(row["lat"]),
                    "lon": float(row["lon"]),
                    "generated": False,
                },
            )
            townships[row["code"]] = t.id
        report.regions = 1 + len(townships)
        for row in read_csv("regions/villages_generated.csv"):
            _upsert(
                session,
                Region,
                {"code": row["code"]},
                {
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "kind_zh": row["kind_zh"],
                    "level": RegionLevel.village,
                    "parent_id": townships[row["township_code"]],
                    "lat": float(row["lat"]),
                    "lon": float(row["lon"]),
                    "generated": row["generated"] == "true",
                },
            )
            report.regions += 1

        routes = read_json("routes.json")["routes"]
        for r in routes:
            _upsert(
                session,
                TreatmentRoute,
                {"code": r["code"]},
                {
                    "name_zh": r["name_zh"],
                    "name_en": r["name_en"],
                    "route_class": r["route_class"],
                    "safe_treatment": r["safe_treatment"],
                    "straw_use": r.get("straw_use"),
                },
            )
            report.routes += 1

        # Routes first: each material's list of allowed routes names them. An existing
        # database's materials are updated in place (indicator, names, caps, attributes with
        # their routes), so records keep pointing at the same rows.
        materials = catalogue_materials(route_codes=[r["code"] for r in routes])
        for i, m in enumerate(materials):
            _upsert(
                session,
                Material,
                {"code": m["code"]},
                {
                    "name_zh": m["name_zh"],
                    "name_en": m["name_en"],
                    "indicator": m["indicator"],
                    "counts_units": m.get("counts_units", False),
                    "unit_mass_kg": m.get("unit_mass_kg"),
                    "max_handover_kg": m["max_handover_kg"],
                    "max_load_kg": m["max_load_kg"],
                    "attributes": m["attributes"],
                    "sort_order": i,
                },
            )
            report.materials += 1

        region_ids = {
            code: rid for code, rid in session.execute(sa.select(col(Region.code), col(Region.id)))
        }
        for s in read_json("coefficients.json")["sets"]:
            cset = _upsert(
                session,
                CoefficientSet,
                {"code": s["code"]},
                {
                    "name": s["name"],
                    "year": s["year"],
                    "region_id": region_ids[s["region_code"]],
                    "source": s["source"],
                },
            )
            for c in s["coefficients"]:
                _upsert(
                    session,
                    Coefficient,
                    {"set_id": cset.id, "subject": c["subject"], "parameter": c["parameter"]},
                    {
                        "value": c["value"],
                        "unit": c["unit"],
                        "verified": c["verified"],
                        "note": c.get("note"),
                        "source": c.get("source"),
                    },
                )
                report.coefficients += 1

        for t in read_json("targets.json")["targets"]:
            _upsert(
                session,
                Target,
                {
                    "indicator": t["indicator"],
                    "region_id": region_ids[t["region_code"]],
                    "year_from": t["year_from"],
                },
                {
                    "year_to": t["year_to"],
                    "comparator": t["comparator"],
                    "value": t["value"],
                    "source": t["source"],
                },
            )
            report.targets += 1
        record_event(
            session,
            account_id=account_id,
            action="reference.load",
            entity="reference",
            entity_id="data",
            after=report.__dict__,
        )
    cache.clear_all()
    return report
