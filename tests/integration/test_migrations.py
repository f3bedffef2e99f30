"""The schema comes from the Alembic migrations, and matches the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import wasteflow.models  # noqa: F401
from tests.conftest import BACKENDS, PostgresServer, fresh_database_url
from wasteflow.db import alembic_config, make_engine, upgrade


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
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
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
