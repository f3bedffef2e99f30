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
    backend: str, pg_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from tests.factories import make_network
    from wasteflow.db import new_session
    from wasteflow.models import (
        FlowMonthly,
        FlowYearly,
        Material,
        TreatmentMonthly,
        TreatmentRoute,
        TreatmentYearly,
    )

    url = fresh_database_url(backend, pg_server, tmp_path)
    upgrade(url, "0001")  # a database from before the yearly totals, holding monthly ones
    engine = make_engine(url)
    try:
        with new_session(engine) as s:
            load_reference_of_an_older_schema(s, monkeypatch)
            net = make_network(s)
            film = s.execute(sa.select(Material.id).where(Material.code == "film.agri")).scalar()
            route = s.execute(
                sa.select(TreatmentRoute.id).where(TreatmentRoute.code == "recycling")
            ).scalar()
            assert film is not None and route is not None
            months = {date(2024, 11, 1): 3, date(2024, 12, 1): 5, date(2025, 1, 1): 7}
            for month, n in months.items():
                s.add(
                    FlowMonthly(
                        month=month,
                        from_site_id=net.source.id,
                        to_site_id=net.cp.id,
                        material_id=film,
                        handovers=n,
                        declared_g=n * 1000,
                        received_g=n * 900,
                        accepted_g=n * 800,
                    )
                )
                s.add(
                    TreatmentMonthly(
                        month=month,
                        site_id=net.processor.id,
                        material_id=film,
                        route_id=route,
                        handovers=n,
                        accepted_g=n * 700,
                    )
                )
            s.commit()
        upgrade(url)
        with new_session(engine) as s:
            flows = {
                r.year: (r.handovers, r.declared_g, r.received_g, r.accepted_g, r.in_transit_g)
                for r in s.execute(sa.select(FlowYearly)).scalars()
            }
            treated = {
                r.year: (r.handovers, r.accepted_g)
                for r in s.execute(sa.select(TreatmentYearly)).scalars()
            }
        assert flows == {
            date(2024, 1, 1): (8, 8000, 7200, 6400, 0),
            date(2025, 1, 1): (7, 7000, 6300, 5600, 0),
        }
        assert treated == {date(2024, 1, 1): (8, 5600), date(2025, 1, 1): (7, 4900)}
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
                record_declaration(session=s, actor=admin(s).account, data=data)
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
