"""The schema comes from the Alembic migrations, and matches the models exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import wasteflow.models  # noqa: F401
from tests.conftest import BACKENDS, PostgresServer, fresh_database_url
from wasteflow.db import alembic_config, head_revision, make_engine, upgrade
from wasteflow.reference import read_json


def load_reference_of_an_older_schema(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regions, materials, routes and targets, into a database migrated to an older revision.

    The coefficients are left out: the loader writes today's coefficient columns, which an
    older schema lacks, and no migration test needs them.
    """
    from wasteflow.services import reference

    def without_coefficients(name: str) -> Any:
        return {"sets": []} if name == "coefficients.json" else read_json(name)

    monkeypatch.setattr(reference, "read_json", without_coefficients)
    reference.load_reference(session=session)
    monkeypatch.undo()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_build_the_models_schema_and_go_down_again(
    backend: str, pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, pg_server, tmp_path)
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
            assert diff == [], f"models and migrations disagree: {diff}"
            assert (
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                == head_revision()
            )
        command.downgrade(alembic_config(url), "base")
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade(url)  # and up again from nothing
    finally:
        engine.dispose()


def test_audit_log_refuses_updates_and_deletes(engine: sa.Engine) -> None:
    from wasteflow.db import new_session, unit_of_work
    from wasteflow.services.audit import record_event

    with new_session(engine) as session, unit_of_work(session):
        record_event(session, account_id=None, action="test.append", entity="test", entity_id="x")
    for statement in ("UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"):
        with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.execute(sa.text(statement))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_yearly_totals_migration_sums_the_monthly_totals_of_each_year(
    backend: str, pg_server: PostgresServer, tmp_path: Path
) -> None:
    from datetime import date

    from tests.factories import make_network
    from wasteflow.db import new_session
    from wasteflow.models import Material, TreatmentRoute
    from wasteflow.services.reference import load_reference

    url = fresh_database_url(backend, pg_server, tmp_path)
    upgrade(url)
    engine = make_engine(url)
    try:
        with new_session(engine) as s:
            load_reference(session=s)
            net = make_network(s)
            film = s.execute(sa.select(Material.id).where(Material.code == "film.agri")).scalar()
            route = s.execute(
                sa.select(TreatmentRoute.id).where(TreatmentRoute.code == "recycling")
            ).scalar()
            assert film is not None and route is not None
        # A database from before the yearly totals, holding monthly ones (written as that
        # schema had them: the tables have changed since).
        command.downgrade(alembic_config(url), "0001")
        with engine.begin() as conn:
            months = {date(2024, 11, 1): 3, date(2024, 12, 1): 5, date(2025, 1, 1): 7}
            for month, n in months.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO flow_monthly (month, from_site_id, to_site_id, material_id, "
                        "handovers, declared_g, declared_units, in_transit_g, received_g, "
                        "refused_g, accepted_g, accepted_units) "
                        "VALUES (:m, :f, :t, :mat, :n, :d, 0, 0, :r, 0, :a, 0)"
                    ),
                    {"m": month, "f": net.source.id, "t": net.cp.id, "mat": film, "n": n,
                     "d": n * 1000, "r": n * 900, "a": n * 800},
                )  # fmt: skip
                conn.execute(
                    sa.text(
                        "INSERT INTO treatment_monthly (month, site_id, material_id, route_id, "
                        "handovers, accepted_g, accepted_units) "
                        "VALUES (:m, :s, :mat, :r, :n, :a, 0)"
                    ),
                    {"m": month, "s": net.processor.id, "mat": film, "r": route, "n": n,
                     "a": n * 700},
                )  # fmt: skip
        upgrade(url, "0002")
        with engine.connect() as conn:
            flows = {
                str(r[0])[:10]: tuple(r[1:])
                for r in conn.execute(
                    sa.text(
                        "SELECT year, handovers, declared_g, received_g, accepted_g, "
                        "in_transit_g FROM flow_yearly"
                    )
                )
            }
            treated = {
                str(r[0])[:10]: tuple(r[1:])
                for r in conn.execute(
                    sa.text("SELECT year, handovers, accepted_g FROM treatment_yearly")
                )
            }
        assert flows == {
            "2024-01-01": (8, 8000, 7200, 6400, 0),
            "2025-01-01": (7, 7000, 6300, 5600, 0),
        }
        assert treated == {"2024-01-01": (8, 5600), "2025-01-01": (7, 4900)}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_lots_migration_rebuilds_the_totals_by_sender_and_lot_from_the_handovers(
    backend: str, pg_server: PostgresServer, tmp_path: Path
) -> None:
    """Handovers recorded the usual way (refusals, a return, an estimated load, a corrected
    receipt), the database taken back to 0002 (treatments without their sender, no returns,
    no estimated mass), and up again: the rebuilt totals equal those recomputed from every
    handover, and the refused load's return knows its sender."""
    import uuid
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.factories import make_network
    from wasteflow.db import new_session
    from wasteflow.models import Handover
    from wasteflow.services import keys
    from wasteflow.services.period_data import (
        FLOWS,
        RETURNS,
        TREATMENTS,
        flows_from_raw,
        from_totals,
        returns_from_raw,
        treatments_from_raw,
    )
    from wasteflow.services.reference import load_reference
    from wasteflow.types import utcnow

    url = fresh_database_url(backend, pg_server, tmp_path)
    upgrade(url)
    engine = make_engine(url)
    try:
        with new_session(engine) as s:
            load_reference(session=s)
            net = make_network(s)
        with TestClient(create_app(engine)) as client:

            def post(path: str, body: dict, headers: dict) -> dict:  # type: ignore[type-arg]
                key = {"Idempotency-Key": uuid.uuid4().hex}
                r = client.post(f"/api/v1{path}", json=body, headers=headers | key)
                assert r.status_code in (200, 201), r.text
                return r.json()  # type: ignore[no-any-return]

            ship = net.body(source_plaque=net.cp_plaque, to_site=net.processor.code)
            op, proc = net.operator.headers, net.processor_account.headers
            codes = [
                post("/handovers", ship | {"declared_mass_kg": kg}, op)["code"]
                for kg in (40, 30, 20)
            ]
            post(
                f"/handovers/{codes[0]}/receipt",
                {"received_mass_kg": 40, "route": "recycling"},
                proc,
            )
            post(
                f"/handovers/{codes[1]}/receipt",
                {"received_mass_kg": 30, "refused_mass_kg": 10, "refusal_reason": "soil",
                 "route": "recycling"},
                proc,
            )  # fmt: skip
            post(
                f"/handovers/{codes[2]}/receipt",
                {"received_mass_kg": 20, "route": "recycling"},
                proc,
            )
            post(
                f"/handovers/{codes[2]}/receipt/correct",
                {"received_mass_kg": 19, "route": "recycling", "reason": "scale"},
                proc,
            )
            with new_session(engine) as s:
                plaque = keys.sign(s, "site", net.processor.code)
            post(
                "/handovers",
                net.body(source_plaque=plaque, to_site=net.cp.code, declared_mass_kg=10,
                         returns=codes[1]),
                proc,
            )  # fmt: skip
            guess = post(
                "/handovers",
                net.body(declared_mass_kg=5, mass_method="estimated"),
                net.collector.headers,
            )
            post(f"/handovers/{guess['code']}/receipt", {"received_mass_kg": 5}, op)

        today = utcnow().date()
        start, end = today - timedelta(days=40), today + timedelta(days=1)

        def read() -> tuple[list, ...]:  # type: ignore[type-arg]
            with new_session(engine) as s:
                return tuple(
                    sorted(from_totals(s, family, start, end))
                    for family in (FLOWS, TREATMENTS, RETURNS)
                )

        def raw() -> tuple[list, ...]:  # type: ignore[type-arg]
            with new_session(engine) as s:
                return tuple(
                    sorted(f(s, start, end))
                    for f in (flows_from_raw, treatments_from_raw, returns_from_raw)
                )

        before = read()
        assert before == raw()
        assert before[2] and before[2][0].sender == net.cp.id  # the return knows its lot
        assert any(f.estimated_g == 5000 for f in before[0])
        command.downgrade(alembic_config(url), "0002")
        upgrade(url)
        assert read() == before
        with new_session(engine) as s:
            senders = (
                s.execute(
                    sa.select(Handover.returns_sender_id).where(Handover.returns_id.is_not(None))
                )
                .scalars()
                .all()
            )
        assert senders == [net.cp.id]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_identity_migration_keeps_older_duplicates_counting(
    backend: str,
    pg_server: PostgresServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging
    from datetime import date, datetime

    from tests.factories import admin, make_site
    from wasteflow.db import new_session
    from wasteflow.errors import Conflict
    from wasteflow.models import Declaration, Material, Region
    from wasteflow.schemas_declarations import FilmUsedCreate
    from wasteflow.services.declarations import identity, record_declaration
    from wasteflow.types import DeclarationKind, SiteKind

    url = fresh_database_url(backend, pg_server, tmp_path)
    upgrade(url, "0002")  # before declarations had an identity
    engine = make_engine(url)
    # The table as revision 0002 knew it: no identity column yet.
    old = sa.table(
        "declaration",
        *(
            sa.column(name, type_)
            for name, type_ in {
                "id": sa.Integer,
                "kind": sa.String,
                "region_id": sa.Integer,
                "site_id": sa.Integer,
                "material_id": sa.Integer,
                "period_start": sa.Date,
                "period_end": sa.Date,
                "quantity": sa.Float,
                "unit": sa.String,
                "mass_g": sa.BigInteger,
                "basis": sa.String,
                "detail": sa.JSON,
                "status": sa.String,
                "recorded_at": sa.DateTime,
                "synthetic": sa.Boolean,
            }.items()
        ),
    )
    try:
        with new_session(engine) as s:
            load_reference_of_an_older_schema(s, monkeypatch)
            region = s.execute(sa.select(Region.id).where(Region.code == "500156101")).scalar()
            film, pig = (
                s.execute(sa.select(Material.id).where(Material.code == code)).scalar()
                for code in ("film.agri", "manure.pig")
            )
            assert region is not None and film is not None and pig is not None
            year = {"period_start": date(2024, 1, 1), "period_end": date(2024, 12, 31)}
            row = {
                "region_id": region,
                "site_id": None,
                "unit": "kg",
                "basis": "declared",
                "recorded_at": datetime(2025, 1, 1),
                "synthetic": False,
                **year,
            }
            film_row = row | {"kind": "film_used", "material_id": film, "detail": {}}
            pigs = row | {
                "kind": "livestock_headcount",
                "material_id": pig,
                "basis": "estimated",
                "unit": "head",
            }
            rows = [
                film_row | {"id": 1, "quantity": 1, "mass_g": 1000, "status": "superseded"},
                film_row | {"id": 2, "quantity": 2, "mass_g": 2000, "status": "active"},
                film_row | {"id": 3, "quantity": 3, "mass_g": 3000, "status": "active"},
                film_row | {"id": 4, "quantity": 4, "mass_g": 4000, "status": "active"},
                pigs
                | {"id": 5, "quantity": 9, "mass_g": 9, "status": "active"}
                | {"detail": {"animal": "sow"}},
                pigs
                | {"id": 6, "quantity": 9, "mass_g": 9, "status": "active"}
                | {"detail": {"animal": "pig_fattening"}},
            ]
            s.execute(sa.insert(old), rows)
            s.commit()
        with caplog.at_level(logging.WARNING, logger="wasteflow.migrations"):
            upgrade(url)
        assert "2 active declarations are declared again" in caplog.text
        assert "ids 2, 3" in caplog.text

        with new_session(engine) as s:
            got = dict(s.execute(sa.select(Declaration.id, Declaration.identity)).all())
            expected = {
                i: identity(
                    kind=DeclarationKind(r["kind"]),
                    region_id=region,
                    site_id=None,
                    material_id=r["material_id"],
                    qualifier=r["detail"].get("animal"),
                    **year,
                )
                for i, r in enumerate(rows, start=1)
            }
            # The newest active duplicate keeps the identity; the older ones keep counting.
            assert got == expected | {2: None, 3: None}
            assert got[5] != got[6]  # sows and fattening pigs are different declarations

            # From now on a second one is refused, naming the one that holds the identity.
            make_site(s, SiteKind.source)  # creates the admin account too
            data = FilmUsedCreate.model_validate(
                {
                    "kind": "film_used",
                    "region_code": "500156101",
                    "material": "film.agri",
                    "quantity_kg": 5,
                    "period_start": "2024-01-01",
                    "period_end": "2024-12-31",
                }
            )
            with pytest.raises(Conflict) as err:
                record_declaration(session=s, actor=admin(s).account, data=data)[0]
            assert err.value.extra == {"existing_id": 4}

            # Coefficients gained a source of their own; loading the reference fills it.
            from wasteflow.models import Coefficient
            from wasteflow.services.reference import load_reference

            load_reference(session=s)
            source = s.execute(
                sa.select(Coefficient.source).where(
                    Coefficient.subject == "sow", Coefficient.parameter == "manure_kg_per_head_day"
                )
            ).scalar()
            assert source is not None and source.startswith("county livestock parameter table")

        command.downgrade(alembic_config(url), "0002")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("declaration")}
            assert "identity" not in columns
            columns = {c["name"] for c in sa.inspect(conn).get_columns("coefficient")}
            assert "source" not in columns
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_checkpoint_migration_seals_the_handovers_recorded_before_it(
    backend: str, pg_server: PostgresServer, tmp_path: Path
) -> None:
    """Handovers written before seals existed (here straight into the table, as 0005 left
    them, with no event) get one ``handover.seal`` event each at the upgrade, and the
    verifier then finds every row sealed and every total equal to the rows."""
    import uuid

    from tests.factories import make_network
    from wasteflow.bulk import bulk_insert
    from wasteflow.db import new_session
    from wasteflow.models import AuditEvent, Handover
    from wasteflow.services.audit_records import check_records
    from wasteflow.services.audit_verify import verify
    from wasteflow.services.reference import load_reference
    from wasteflow.services.totals import Deltas
    from wasteflow.types import utcnow

    url = fresh_database_url(backend, pg_server, tmp_path)
    upgrade(url)
    engine = make_engine(url)
    try:
        with new_session(engine) as s:
            load_reference(session=s)
            net = make_network(s)
            film = s.execute(sa.text("SELECT id FROM material WHERE code = 'film.agri'"))
            material_id = film.scalar_one()
            now = utcnow()
            rows = [
                {
                    "code": f"HO-{now:%Y%m%d}-OLD{i:02d}",
                    "idempotency_key": uuid.uuid4().hex,
                    "request_hash": "0" * 64,
                    "channel": "api",
                    "from_site_id": net.source.id,
                    "to_site_id": net.cp.id,
                    "material_id": material_id,
                    "declared_mass_g": 1_000 * (i + 1),
                    "mass_method": "weighed",
                    "device_time": now,
                    "day": now.date(),
                    "recorded_at": now,
                    "recorded_by_id": net.collector.account.id,
                    "status": "in_transit",
                    "flag_far_scan": False,
                    "flag_discrepancy": False,
                }
                for i in range(3)
            ]
            bulk_insert(s.connection(), Handover.__table__, rows)  # type: ignore[attr-defined]
            deltas = Deltas()
            for r in rows:
                deltas.add_handover(r)
            deltas.apply(s)
            s.commit()
        command.downgrade(alembic_config(url), "0005")
        with new_session(engine) as s:  # as 0005 left them: rows with no event
            assert check_records(s).problems == 3
        upgrade(url)
        with new_session(engine) as s:
            report = verify(s)
            assert report.ok, report.records
            sealed = s.execute(
                sa.select(AuditEvent.entity_id).where(AuditEvent.action == "handover.seal")
            )
            assert sorted(sealed.scalars()) == sorted(r["code"] for r in rows)
    finally:
        engine.dispose()
