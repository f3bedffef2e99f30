"""Adding a coefficient a set lacks (POST /coefficient-sets/{code}/values): with its unit,
source and verified flag, audited; one the set has already is a 409 naming the parameter;
bad input a 422 naming the field; admins only. On SQLite and PostgreSQL, each on a database
of its own (the sets a year uses are shared state)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col

from tests.conftest import BACKENDS, PostgresServer, fresh_engine
from tests.factories import admin, make_account
from wasteflow.db import new_session
from wasteflow.models import AuditEvent
from wasteflow.types import Role

BUCKWHEAT = {
    "subject": "buckwheat",
    "parameter": "straw_grain_ratio",
    "value": 1.6,
    "unit": "kg straw/kg grain",
    "verified": True,
    "source": "重庆市农业农村委 2026 年秸秆资源台账",
}


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str], Any]]:
    from api.main import create_app

    engine = fresh_engine(request, pg_server, tmp_path_factory, "coef")
    with new_session(engine) as session:
        boss = admin(session).headers
        official = make_account(session, Role.official).headers
    with TestClient(create_app(engine)) as client:
        yield client, boss, official, engine
    engine.dispose()


def test_an_admin_adds_a_coefficient_to_next_years_set(api: Any) -> None:
    client, boss, official, engine = api
    made = client.post("/api/v1/coefficient-sets/2026/from-latest", headers=boss)
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    before = len(made.json()["coefficients"])
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = client.post(f"/api/v1/coefficient-sets/{code}/values", headers=boss | key, json=BUCKWHEAT)
    assert r.status_code == 201, r.text
    values = r.json()["coefficients"]
    assert len(values) == before + 1
    added = next(v for v in values if v["subject"] == "buckwheat")
    assert added["value"] == 1.6 and added["verified"] and added["own_source"]
    assert added["source"] == BUCKWHEAT["source"] and added["unit"] == "kg straw/kg grain"
    # Everyone reads it; a retry gets the first answer and adds nothing.
    read = client.get(f"/api/v1/coefficient-sets/{code}", headers=official).json()
    assert any(v["subject"] == "buckwheat" for v in read["coefficients"])
    again = client.post(
        f"/api/v1/coefficient-sets/{code}/values", headers=boss | key, json=BUCKWHEAT
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    with new_session(engine) as session:
        events = (
            session.execute(
                sa.select(AuditEvent).where(
                    col(AuditEvent.action) == "coefficient.create",
                    col(AuditEvent.entity_id) == code,
                )
            )
            .scalars()
            .all()
        )
    assert len(events) == 1 and events[0].after["subject"] == "buckwheat"
    # The set has it now: adding it again is a 409 naming the parameter (edit it instead).
    dup = client.post(f"/api/v1/coefficient-sets/{code}/values", headers=boss, json=BUCKWHEAT)
    assert dup.status_code == 409 and dup.json()["field"] == "parameter"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": None}, "source"),
        ({"source": "x"}, "source"),
        ({"subject": "Buckwheat!"}, "subject"),
        ({"parameter": ""}, "parameter"),
        ({"value": -1}, "value"),
        ({"unit": ""}, "unit"),
        ({"verified": "perhaps"}, "verified"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api: Any, change: dict[str, Any], field: str) -> None:
    client, boss, _, _ = api
    body = {k: v for k, v in (BUCKWHEAT | {"subject": "oat"} | change).items() if v is not None}
    r = client.post("/api/v1/coefficient-sets/WL-2025/values", headers=boss, json=body)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]} or r.json().get("field") == field


def test_only_admins_add_and_only_to_a_set_that_exists(api: Any) -> None:
    client, boss, official, _ = api
    body = BUCKWHEAT | {"subject": "millet"}
    r = client.post("/api/v1/coefficient-sets/WL-2025/values", headers=official, json=body)
    assert r.status_code == 403
    r = client.post("/api/v1/coefficient-sets/NO-SUCH-SET/values", headers=boss, json=body)
    assert r.status_code == 404
