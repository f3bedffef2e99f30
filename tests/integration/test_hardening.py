"""Input that used to answer 500, and writes that used to be read before anyone was asked:
each is now a 4xx naming the field, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from tests.factories import Network, admin, make_network
from tests.integration.test_concurrency import _race
from wasteflow.errors import Conflict
from wasteflow.schemas import HandoverCreate
from wasteflow.services.accounts import get_account
from wasteflow.services.handovers import correct_handover, record_handover


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


@pytest.mark.parametrize("ref", ["%C2%B3", "%D9%A1%D9%A2%D9%A3", "9" * 30, "99999999999999999999"])
def test_a_reference_that_is_no_ascii_number_or_too_long_is_not_found(
    client: TestClient, net: Network, ref: str
) -> None:
    r = client.get(f"/api/v1/handovers/{ref}", headers=net.collector.headers)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "NotFound"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/handovers?offset=9223372036854775808",
        "/api/v1/sites?offset=99999999999999",
        "/api/v1/declarations?offset=2147483648",
        "/api/v1/declarations/2147483648",
        "/api/v1/declarations/-1",
        "/api/v1/declarations/0",
    ],
)
def test_numbers_past_what_the_database_holds_are_a_422_naming_them(
    client: TestClient, session: Session, path: str
) -> None:
    r = client.get(path, headers=admin(session).headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] in ("offset", "declaration_id"), r.json()


def test_a_nul_character_anywhere_is_a_422_naming_where(
    client: TestClient, net: Network, session: Session
) -> None:
    h = admin(session).headers
    r = client.get("/api/v1/handovers?site=a%00b", headers=h)
    assert (r.status_code, r.json()["field"]) == (422, "site"), r.text
    r = client.get("/api/v1/sites/a%00b", headers=h)
    assert (r.status_code, r.json()["field"]) == (422, "path"), r.text
    code = client.post(
        "/api/v1/handovers",
        json=net.body(),
        headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
    ).json()["code"]
    r = client.post(
        f"/api/v1/handovers/{code}/cancel",
        json={"reason": "wrong\u0000bin"},
        headers=net.collector.headers,
    )
    assert (r.status_code, r.json()["field"]) == (422, "reason"), r.text
    assert "NUL" in r.json()["detail"]
    r = client.post(
        "/api/v1/sites",
        json={"code": "X1", "name": "bad\u0000name", "kind": "source", "region_code": "500156"},
        headers=h,
    )
    assert (r.status_code, r.json()["field"]) == (422, "name"), r.text
    r = client.post("/api/v1/auth/token", data={"username": "a\u0000b", "password": "x" * 10})
    assert (r.status_code, r.json()["field"]) == (422, "username"), r.text
    # Nothing changed: the load is still in transit.
    r = client.get(f"/api/v1/handovers/{code}", headers=net.collector.headers)
    assert r.json()["status"] == "in_transit"


def test_an_anonymous_write_is_a_401_before_its_body_is_looked_at(client: TestClient) -> None:
    for body in ({"nonsense": True}, {}):
        r = client.post("/api/v1/handovers", json=body)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        assert "schema" not in r.text and "source_plaque" not in r.text
    r = client.post("/api/v1/declarations", content=b"x" * (3 << 20))
    assert r.status_code == 401  # not read, not described


def test_a_body_past_the_cap_is_a_413_before_it_is_read(client: TestClient, net: Network) -> None:
    h = net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex}
    big = b'{"items": [' + b" " * (2 << 20) + b"]}"
    r = client.post(
        "/api/v1/handovers", content=big, headers=h | {"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (413, "TooLarge", "body")
    # The outbox endpoint has a cap of its own, larger: the same body is read and validated.
    r = client.post(
        "/api/v1/handovers/batch", content=big, headers=h | {"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text


def test_two_corrections_racing_with_one_key_make_one_and_refuse_the_other(
    engine: sa.Engine, session: Session
) -> None:
    net = make_network(session)
    username = net.collector.account.username
    first = record_handover(
        session=session,
        account=net.collector.account,
        data=HandoverCreate.model_validate(net.body(declared_mass_kg=10)),
        idempotency_key=uuid.uuid4().hex,
    )[0].code
    second = record_handover(
        session=session,
        account=net.collector.account,
        data=HandoverCreate.model_validate(net.body(declared_mass_kg=20)),
        idempotency_key=uuid.uuid4().hex,
    )[0].code
    key = uuid.uuid4().hex
    refs = [first, second]

    def work(i: int):  # type: ignore[no-untyped-def]
        def run(s: Session):  # type: ignore[no-untyped-def]
            account = get_account(session=s, username=username)
            data = HandoverCreate.model_validate(net.body(declared_mass_kg=11 + i))
            return correct_handover(
                session=s, account=account, ref=refs[i], data=data, idempotency_key=key
            )

        return run

    counter = iter(range(2))
    results = _race(engine, 2, lambda s: work(next(counter))(s))
    made = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(made) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], Conflict) and refused[0].field == "Idempotency-Key"


def test_exports_never_carry_a_live_formula(
    client: TestClient, net: Network, session: Session
) -> None:
    h = net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex}
    code = client.post("/api/v1/handovers", json=net.body(), headers=h).json()["code"]
    reason = '=HYPERLINK("http://evil.example","click")'
    r = client.post(
        f"/api/v1/handovers/{code}/receipt",
        json={"received_mass_kg": 12.5, "refused_mass_kg": 2, "refusal_reason": reason},
        headers=net.operator.headers,
    )
    assert r.status_code == 200, r.text
    official = admin(session).headers
    r = client.get(
        "/api/v1/handovers/export", params={"format": "csv", "site": net.cp.code}, headers=official
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    column = rows[0].index("拒收原因")
    cell = next(row[column] for row in rows[1:] if row[0] == code)
    assert cell == "'" + reason
    r = client.get(
        "/api/v1/handovers/export", params={"format": "xlsx", "site": net.cp.code}, headers=official
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if c.value == reason]
    assert cells and all(c.data_type == "s" for c in cells)


def test_an_xlsx_export_past_the_cap_is_refused_before_it_is_built(
    client: TestClient, net: Network, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasteflow import exports

    for kg in (1, 2, 3):
        client.post(
            "/api/v1/handovers",
            json=net.body(declared_mass_kg=kg),
            headers=net.collector.headers | {"Idempotency-Key": uuid.uuid4().hex},
        )
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    built = []
    monkeypatch.setattr(exports, "xlsx_bytes", lambda *a: built.append(a) or b"")
    r = client.get(
        "/api/v1/handovers/export",
        params={"format": "xlsx", "site": net.cp.code},
        headers=admin(session).headers,
    )
    assert (r.status_code, r.json()["field"]) == (422, "format"), r.text
    assert "more than an XLSX export holds" in r.json()["detail"] and not built


def test_a_plaque_is_given_to_admins_and_those_acting_for_the_site_only(
    client: TestClient, net: Network, session: Session
) -> None:
    from tests.factories import make_account
    from wasteflow.types import Role

    official = make_account(session, Role.official)
    stranger = make_account(session, Role.collector)
    for path in (
        f"/api/v1/sites/{net.source.code}/plaque",
        f"/api/v1/sites/{net.source.code}/plaque.png",
    ):
        for who in (official, stranger):
            r = client.get(path, headers=who.headers)
            assert (r.status_code, r.json()["field"]) == (403, "code"), r.text
        for who in (admin(session), net.collector):  # prints plaques; works the round
            assert client.get(path, headers=who.headers).status_code == 200
