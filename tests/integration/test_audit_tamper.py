"""The audit log catches what it claims to: each tamper a database administrator could try.

One database per backend holds a record of every kind of write (scan, batch, receipt, receipt
by manifest, cancel, correction, receipt correction, return, bulk import), all sealed and
verified intact. Each tamper then runs inside a transaction that is rolled back afterwards,
with the append-only triggers dropped inside it, as someone with the database's owner rights
would do, and the verifier must name what was done.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PostgresServer, fresh_engine
from tests.factories import Network, admin, make_network
from wasteflow.db import get_engine, new_session
from wasteflow.models import AuditEvent, FlowDaily, Handover
from wasteflow.services import checkpoints
from wasteflow.services.audit import _digest
from wasteflow.services.audit_verify import AuditReport, verify
from wasteflow.services.imports import import_handovers
from wasteflow.types import utcnow


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Engine]:
    eng = fresh_engine(request, pg_server, tmp_path_factory, "tamper")
    yield eng
    eng.dispose()


def _post(client: TestClient, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = client.post(path, json=body, headers=headers | {"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def written(engine: Engine) -> dict[str, str]:
    """Every kind of write once; returns the codes a test tampers with."""
    from api.main import create_app

    with new_session(engine) as session:
        net: Network = make_network(session)
        with TestClient(create_app(engine)) as client:
            codes = _write_everything(net, client)
    with new_session(engine) as session:
        codes["imported"] = _import_one(session, net)
        checkpoints.sign(session)
    return codes


def _write_everything(net: Network, client: TestClient) -> dict[str, str]:
    col, op, pa = net.collector.headers, net.operator.headers, net.processor_account.headers
    to_plant = {"source_plaque": net.cp_plaque, "to_site": net.processor.code}
    scanned = _post(client, "/api/v1/handovers", col, **net.body())
    _post(client, f"/api/v1/handovers/{scanned['code']}/receipt", op, received_mass_kg=12.5)
    batch = client.post(
        "/api/v1/handovers/batch",
        json={"items": [{"idempotency_key": uuid.uuid4().hex, **net.body()} for _ in range(3)]},
        headers=col,
    )
    assert batch.status_code == 200, batch.text
    by_manifest = _post(client, "/api/v1/handovers", col, **net.body())
    _post(
        client,
        "/api/v1/handovers/receipt",
        op,
        manifest=by_manifest["manifest"],
        received_mass_kg=12,
    )
    cancelled = _post(client, "/api/v1/handovers", col, **net.body())
    _post(client, f"/api/v1/handovers/{cancelled['code']}/cancel", col, reason="scanned twice")
    wrong = _post(client, "/api/v1/handovers", col, **net.body(declared_mass_kg=120))
    _post(
        client, f"/api/v1/handovers/{wrong['code']}/correct", col, **net.body(declared_mass_kg=12)
    )
    load = _post(client, "/api/v1/handovers", op, **net.body(**to_plant, declared_mass_kg=90))
    _post(
        client,
        f"/api/v1/handovers/{load['code']}/receipt",
        pa,
        received_mass_kg=900,
        route="recycling",
    )
    _post(
        client,
        f"/api/v1/handovers/{load['code']}/receipt/correct",
        pa,
        received_mass_kg=90,
        route="recycling",
        reason="typed a zero too many",
    )
    refused = _post(client, "/api/v1/handovers", op, **net.body(**to_plant, declared_mass_kg=50))
    _post(
        client,
        f"/api/v1/handovers/{refused['code']}/receipt",
        pa,
        received_mass_kg=50,
        refused_mass_kg=20,
        refusal_reason="soil",
        route="recycling",
    )
    plaque = client.get(f"/api/v1/sites/{net.processor.code}/plaque", headers=pa).json()
    returned = _post(
        client,
        "/api/v1/handovers",
        pa,
        **net.body(source_plaque=plaque["payload"], declared_mass_kg=20, returns=refused["code"]),
    )
    return {"scanned": scanned["code"], "returned": returned["code"]}


def _import_one(session: Session, net: Network) -> str:
    """One row through the bulk path, as the demo and history imports write."""
    now = utcnow()
    who = admin(session)
    code = f"HO-{now:%Y%m%d}-IMP{uuid.uuid4().hex[:2].upper()}"
    row = {
        "code": code,
        "idempotency_key": uuid.uuid4().hex,
        "request_hash": "0" * 64,
        "channel": "import",
        "from_site_id": net.source.id,
        "to_site_id": net.cp.id,
        "material_id": session.execute(
            sa.text("SELECT id FROM material WHERE code = 'film.agri'")
        ).scalar_one(),
        "declared_mass_g": 7_000,
        "declared_units": None,
        "mass_method": "weighed",
        "device_time": now,
        "day": now.date(),
        "recorded_at": now,
        "recorded_by_id": who.account.id,
        "status": "in_transit",
        "flag_far_scan": False,
        "flag_discrepancy": False,
    }
    import_handovers(session, [row], account_id=who.account.id, label="test-import")
    session.commit()
    return code


@pytest.fixture
def tamper(engine: Engine, written: dict[str, str]) -> Iterator[Session]:
    """A session whose changes are rolled back after the test, with the log's append-only
    triggers dropped inside its transaction."""
    with new_session(engine) as session:
        dialect = engine.dialect.name
        if dialect == "sqlite":
            for name in ("audit_event_no_update", "audit_event_no_delete"):
                session.execute(sa.text(f"DROP TRIGGER {name}"))
            for name in ("audit_checkpoint_no_update", "audit_checkpoint_no_delete"):
                session.execute(sa.text(f"DROP TRIGGER {name}"))
        else:
            session.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            session.execute(sa.text("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER"))
        try:
            yield session
        finally:
            session.rollback()


def _ids(session: Session) -> list[int]:
    return list(session.execute(sa.select(AuditEvent.id).order_by(AuditEvent.id)).scalars())


def _problems(report: AuditReport) -> list[str]:
    found = report.records.findings if report.records else []
    return report.checkpoints.problems + [f"{f.check} {f.subject}: {f.reason}" for f in found]


def test_every_write_is_sealed_and_verifies(engine: Engine, written: dict[str, str]) -> None:
    with new_session(engine) as session:
        report = verify(session)
    assert report.ok, _problems(report)
    assert report.records is not None and report.records.handovers == 13
    assert report.records.total_cells > 0 and report.checkpoints.checked >= 1
    assert report.checkpoints.unprotected_events == 0


def test_an_edited_event_breaks_the_chain(tamper: Session) -> None:
    middle = _ids(tamper)[5]
    tamper.execute(
        sa.update(AuditEvent).where(AuditEvent.id == middle).values(entity_id="HO-FORGED")
    )
    report = verify(tamper, records=False)
    assert not report.ok and report.first_bad_id == middle
    assert report.reason == "hash does not match the event's content"


def test_a_deleted_middle_event_breaks_the_chain(tamper: Session) -> None:
    ids = _ids(tamper)
    tamper.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[5]))
    report = verify(tamper, records=False)
    assert not report.ok and report.first_bad_id == ids[6]
    assert report.reason == "prev_hash does not match the event before"


def test_deleted_last_events_are_caught_by_the_checkpoint(tamper: Session) -> None:
    ids = _ids(tamper)
    tamper.execute(sa.delete(AuditEvent).where(AuditEvent.id >= ids[-3]))
    report = verify(tamper, records=False)
    assert report.first_bad_id is None  # what is left of the chain is consistent…
    assert not report.ok  # …but shorter than what was signed
    assert any(f"event {ids[-1]} it signed is gone" in p for p in report.checkpoints.problems)


def test_a_recomputed_chain_is_caught_by_the_checkpoint(tamper: Session) -> None:
    """Edit an event, then recompute its hash and every later one: the chain links up again,
    but its head no longer matches the signed one."""
    rows = tamper.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    prev = rows[4].hash
    for i, ev in enumerate(rows[5:]):
        after = dict(ev.after or {})
        if i == 0:
            after["forged"] = True
        h = _digest(
            prev,
            at=ev.at,
            account_id=ev.account_id,
            action=ev.action,
            entity=ev.entity,
            entity_id=ev.entity_id,
            before=ev.before,
            after=after,
        )
        tamper.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.id == ev.id)
            .values(after=after, prev_hash=prev, hash=h)
        )
        prev = h
    report = verify(tamper, records=False)
    assert report.first_bad_id is None
    assert not report.ok
    assert any("the chain was rewritten" in p for p in report.checkpoints.problems)


def test_an_edited_handover_row_is_named(tamper: Session, written: dict[str, str]) -> None:
    code = written["returned"]
    tamper.execute(
        sa.update(Handover)
        .where(Handover.code == code)
        .values(declared_mass_g=Handover.declared_mass_g - 1_000)
    )
    report = verify(tamper)
    assert not report.ok and report.records is not None
    named = {(f.check, f.subject) for f in report.records.findings}
    assert ("handover", code) in named
    # …and the totals no longer add up to the rows: they are named too.
    assert any(check == "totals" and "flow_daily" in subject for check, subject in named)


def test_an_edited_imported_row_is_named(tamper: Session, written: dict[str, str]) -> None:
    code = written["imported"]
    tamper.execute(sa.update(Handover).where(Handover.code == code).values(status="cancelled"))
    report = verify(tamper)
    assert report.records is not None
    assert any(f.subject == code and f.check == "handover" for f in report.records.findings)


def test_a_deleted_handover_row_is_named(tamper: Session, written: dict[str, str]) -> None:
    code = written["imported"]
    tamper.execute(sa.delete(Handover).where(Handover.code == code))
    report = verify(tamper)
    assert report.records is not None
    assert any(
        f.subject == code and "no row (deleted)" in f.reason for f in report.records.findings
    )


def test_edited_totals_are_named(tamper: Session) -> None:
    cell = tamper.execute(sa.select(FlowDaily).limit(1)).scalar_one()
    tamper.execute(
        sa.update(FlowDaily)
        .where(
            FlowDaily.day == cell.day,
            FlowDaily.from_site_id == cell.from_site_id,
            FlowDaily.to_site_id == cell.to_site_id,
            FlowDaily.material_id == cell.material_id,
        )
        .values(accepted_g=FlowDaily.accepted_g + 5_000)
    )
    report = verify(tamper)
    assert report.records is not None
    subject = f"flow_daily {cell.day.isoformat()} {cell.from_site_id}/{cell.to_site_id}"
    found = [f for f in report.records.findings if f.subject.startswith(subject)]
    assert found and "accepted_g" in found[0].reason


def test_deleted_checkpoints_are_caught_by_the_archive(tamper: Session) -> None:
    """A cut chain whose checkpoints were deleted from the database too verifies only until
    it is checked against the checkpoints an official archived."""
    archive = checkpoints.parse_export(json.loads(json.dumps(checkpoints.export(tamper))))
    ids = _ids(tamper)
    tamper.execute(sa.text("DELETE FROM audit_checkpoint"))
    tamper.execute(sa.delete(AuditEvent).where(AuditEvent.id >= ids[-2]))
    assert verify(tamper, records=False).ok  # nothing left to compare with…
    report = verify(tamper, archive=archive, records=False)
    assert not report.ok  # …but the archive remembers
    assert any("(archive)" in p and "is gone" in p for p in report.checkpoints.problems)


def test_a_forged_checkpoint_is_refused(tamper: Session) -> None:
    tamper.execute(sa.text("UPDATE audit_checkpoint SET events = events + 1"))
    report = verify(tamper, records=False)
    assert any("signature does not match" in p for p in report.checkpoints.problems)


def test_the_api_and_the_command_line(
    engine: Engine, written: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.main import create_app
    from wasteflow.cli import app
    from wasteflow.config import get_settings

    with new_session(engine) as session:
        token = admin(session).headers
    client = TestClient(create_app(engine))
    signed = client.post("/api/v1/audit/checkpoints", headers=token)
    assert signed.status_code == 200 and signed.json() is None  # nothing new since the last
    exported = client.get("/api/v1/audit/checkpoints", headers=token)
    assert exported.status_code == 200
    document = exported.json()
    assert document["format"] == checkpoints.EXPORT_FORMAT and document["checkpoints"]
    report = client.get("/api/v1/audit/verify", headers=token)
    assert report.status_code == 200 and report.json()["ok"] is True
    assert report.json()["records"]["problems"] == 0

    archive = tmp_path / "checkpoints.json"
    archive.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setenv("WASTEFLOW_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        out = CliRunner().invoke(app, ["audit", "verify", "--checkpoints", str(archive)])
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert out.exit_code == 0, out.output
    assert "audit log intact" in out.output
