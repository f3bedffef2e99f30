"""Importing history: the template round trip, the per-row report, clean-rows mode, the same
file twice, rates that include the imported year, audit events, and bad files, on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlmodel import Session

from tests.factories import VILLAGE, Actor, Network, admin, make_account, make_network
from wasteflow.models import AuditEvent, Handover, ImportRow
from wasteflow.services.audit import verify_chain
from wasteflow.types import Role

URL = "/api/v1/imports"
H_HEADER = ["交接时间", "交出站点", "接收站点", "物料", "申报重量(千克)", "称重方式",
            "实收重量(千克)", "拒收重量(千克)", "拒收原因", "处理方式"]  # fmt: skip
D_HEADER = ["行键", "类型", "区域代码", "开始日期", "结束日期", "物料", "数量(千克)"]


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


@pytest.fixture
def boss(session: Session) -> Actor:
    return admin(session)


def as_csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


def upload(
    client: TestClient, who: Actor, content: bytes, kind: str = "handovers",
    name: str = "ledger.csv", query: str = "",
) -> Any:  # fmt: skip
    return client.post(
        URL + query, files={"file": (name, content)}, data={"kind": kind}, headers=who.headers
    )


def film_rate(client: TestClient, who: Actor, year: int) -> dict[str, Any]:
    r = client.get(
        f"/api/v1/rates?indicator=film_recovery&period={year}&region={VILLAGE}",
        headers=who.headers,
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_year_of_film_imported_from_the_template_moves_the_rate_by_the_hand_worked_amount(
    client: TestClient, session: Session, net: Network, boss: Actor
) -> None:
    # The hand-worked example (2019 in the test village, a year no other test touches):
    #   film used, declared:                                          1000 kg
    #   source → collection point, received whole:                     300 kg accepted
    #   source → collection point, 200 received, 20 refused (wet):     180 kg accepted
    #   source → collection point, no receipt (in transit):              0 kg (not recovered)
    #   collection point → processor, 400 received, recycled:      not a first hop: 0 kg more
    #   film recovered = 300 + 180 = 480 kg; rate = 480 / 1000 = 0.48
    before = film_rate(client, boss, 2019)
    got = client.get(f"{URL}/template?format=xlsx&kind=handovers", headers=boss.headers)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(got.content))
    data, doc = wb.worksheets
    header = [c.value for c in data[1]]
    assert header[:3] == ["行键", "交接时间", "交出站点"]
    documented = {row[1]: row for row in doc.iter_rows(min_row=2, values_only=True) if row[1]}
    assert documented["material"][2] == "yes" and "Chinese name" in documented["material"][3]
    assert "in transit" in documented["received_mass_kg"][3]
    # The example row is one this database would take: upload the template as it is, dry.
    example = as_csv([header, [c.value or "" for c in data[2]]])
    dry = upload(client, boss, example, query="?dry_run=true")
    assert dry.status_code == 200 and dry.json()["clean"] == 1, dry.text
    data.delete_rows(2)
    col = {name: i for i, name in enumerate(header)}
    src, cp, plant = net.source.code, net.cp.code, net.processor.code
    fills = [
        ("2019-04-02 09:00", src, cp, "废旧农膜", 300, "称重", 300, None, None, None),
        ("2019-05-06", src, cp, "film.agri", 200, "weighed", 200, 20, "wet and muddy", None),
        ("2019-06-01", src, cp, "film.agri", 150, "估算", None, None, None, None),
        ("2019-06-09", cp, plant, "film.agri", 400, "称重", 400, None, None, "recycling"),
    ]  # fmt: skip
    for i, fill in enumerate(fills):
        row: list[Any] = [None] * len(header)
        row[col["行键"]] = f"2019-film-{i}"
        for name, value in zip(H_HEADER, fill, strict=True):
            row[col[name]] = value
        data.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, boss, buf.getvalue(), name="2019台账.xlsx")
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["rows"], report["added"], report["already"], report["refused"]) == (4, 4, 0, 0)
    assert report["batch"]["file_name"] == "2019台账.xlsx"
    declared = upload(
        client, boss, as_csv([D_HEADER, ["2019-film-used", "农膜使用量", VILLAGE, "2019-01-01",
                                          "2019-12-31", "废旧农膜", "1000"]]),
        kind="declarations",
    )  # fmt: skip
    assert declared.status_code == 201, declared.text
    after = film_rate(client, boss, 2019)
    assert after["numerator_kg"] - (before["numerator_kg"] or 0) == pytest.approx(480)
    assert after["denominator_kg"] - (before["denominator_kg"] or 0) == pytest.approx(1000)
    if before["denominator_kg"] is None:
        assert after["rate"] == pytest.approx(0.48)
    # The register shows them at once, marked as imported, received or in transit.
    listed = client.get(
        f"/api/v1/handovers?site={net.source.code}&from=2019-01-01&to=2019-12-31",
        headers=boss.headers,
    ).json()["items"]
    assert sorted(h["status"] for h in listed) == ["in_transit", "partially_refused", "received"]
    assert {h["channel"] for h in listed} == {"import"}
    assert {h["recorded_by"] for h in listed} == {boss.account.username}
    # Each row has its sealed audit event naming the batch, and the chain holds.
    session.rollback()
    codes = [h["code"] for h in listed]
    events = session.execute(
        sa.select(AuditEvent).where(
            AuditEvent.entity == "handover", AuditEvent.entity_id.in_(codes)
        )
    ).scalars().all()  # fmt: skip
    assert len(events) == 3 and all(e.after and e.after["batch"] == report["batch"]["id"]
                                    and e.after["seal"] for e in events)  # fmt: skip
    batch_event = session.execute(
        sa.select(AuditEvent).where(AuditEvent.entity == "import_batch",
                                    AuditEvent.entity_id == str(report["batch"]["id"]))
    ).scalar_one()  # fmt: skip
    assert batch_event.account_id == boss.account.id
    assert verify_chain(session).ok
    # The batch is listed and shown with the file's digest.
    shown = client.get(f"{URL}/{report['batch']['id']}", headers=boss.headers).json()
    assert shown["sha256"] == report["sha256"] and shown["uploaded_by"] == boss.account.username
    assert any(
        b["id"] == shown["id"] for b in client.get(URL, headers=boss.headers).json()["items"]
    )


def test_the_same_file_twice_adds_nothing(
    client: TestClient, session: Session, net: Network, boss: Actor
) -> None:
    # No 行键: each row's content is its key.
    src, cp = net.source.code, net.cp.code
    content = as_csv([H_HEADER[:6], ["2020-02-03 10:00", src, cp, "film.agri", "42.5", "称重"],
                      ["2020-02-04 10:00", src, cp, "film.agri", "7", "称重"]])  # fmt: skip
    first = upload(client, boss, content)
    assert first.status_code == 201 and first.json()["added"] == 2
    session.rollback()
    count = session.execute(sa.select(sa.func.count()).select_from(Handover)).scalar_one()
    second = upload(client, boss, content)
    assert second.status_code == 200, second.text
    assert (second.json()["added"], second.json()["already"]) == (0, 2)
    session.rollback()
    assert session.execute(sa.select(sa.func.count()).select_from(Handover)).scalar_one() == count
    # Written with another account's hands, the same rows are still known.
    other = make_account(session, Role.admin)
    assert upload(client, other, content).json()["already"] == 2
    links = session.execute(
        sa.select(ImportRow).where(ImportRow.batch_id == first.json()["batch"]["id"])
    ).scalars().all()  # fmt: skip
    assert len(links) == 2 and all(link.record.startswith("HO-2020020") for link in links)


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written(
    client: TestClient, session: Session, net: Network, boss: Actor
) -> None:
    rows = [
        H_HEADER,
        ["2020-03-01", net.source.code, net.cp.code, "film.agri", "10", "称重", "", "", "", ""],
        ["2020-03-02", net.source.code, net.cp.code, "no.such", "10", "称重", "", "", "", ""],
        ["2099-01-01", net.source.code, net.cp.code, "film.agri", "10", "称重", "", "", "", ""],
        ["2020-03-03", net.source.code, net.cp.code, "film.agri", "999999", "称重", "", "", "", ""],
        ["2020-03-04", net.cp.code, net.processor.code, "film.agri", "10", "称重", "10", "", "",
         "compost"],
        ["2020-03-05", net.source.code, net.cp.code, "film.agri", "10", "称重", "10", "3", "", ""],
        ["2020-03-06", net.source.code, net.cp.code, "film.agri", "10", "秤", "", "", "", ""],
        ["2020-03-07", net.source.code, net.cp.code, "film.agri", "10", "称重", "", "", "",
         "recycling"],
    ]  # fmt: skip
    r = upload(client, boss, as_csv(rows))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "file" and "nothing was written" in body["detail"]
    found = {(p["row"], p["field"]): p for p in body["report"]["problems"]}
    assert set(found) == {
        (3, "material"), (4, "device_time"), (5, "declared_mass_kg"), (6, "route"),
        (7, "refusal_reason"), (8, "mass_method"), (9, "received_mass_kg"),
    }  # fmt: skip
    assert found[(3, "material")]["column"] == "物料"
    assert "future" in found[(4, "device_time")]["why"]
    assert "plausibility cap" in found[(5, "declared_mass_kg")]["why"]
    assert "compost" in found[(6, "route")]["why"]  # film is never composted
    assert found[(8, "mass_method")]["why"].endswith("weighed, estimated")
    session.rollback()
    assert not session.execute(
        sa.select(Handover).where(Handover.from_site_id == net.source.id)
    ).first()
    # Clean-rows mode writes row 2 alone and reports the others.
    clean = upload(client, boss, as_csv(rows), query="?accept_clean_rows=true")
    assert clean.status_code == 201, clean.text
    assert (clean.json()["added"], clean.json()["refused"]) == (1, 7)
    assert len(clean.json()["problems"]) == 7


def test_declarations_are_checked_by_the_declarations_rules(
    client: TestClient, net: Network, boss: Actor
) -> None:
    rows = [
        [*D_HEADER, "畜种", "头数"],
        ["d1", "畜禽养殖量", VILLAGE, "2018-01-01", "2018-12-31", "", "", "sow", "12"],
        ["d2", "农膜使用量", VILLAGE, "2018-01-01", "2019-06-30", "film.agri", "5", "", ""],
        ["d3", "茶叶产量", VILLAGE, "2018-01-01", "2018-12-31", "film.agri", "5", "", ""],
        ["d4", "农膜使用量", "999999", "2018-01-01", "2018-12-31", "film.agri", "5", "", ""],
    ]
    r = upload(client, boss, as_csv(rows), kind="declarations", query="?accept_clean_rows=true")
    assert r.status_code == 201, r.text
    problems = {(p["row"], p["field"]) for p in r.json()["problems"]}
    assert problems == {(3, "period_end"), (4, "kind"), (5, "region_code")}
    assert r.json()["added"] == 1
    again = upload(client, boss, as_csv(rows[:2]), kind="declarations")
    assert (again.json()["added"], again.json()["already"]) == (0, 1)


@pytest.mark.parametrize(
    ("content", "name", "why"),
    [
        (b"", "x.csv", "empty"),
        (b"\x00\x01garbage\x00", "x.csv", "NUL"),
        (b"PK\x03\x04 not really a zip", "x.xlsx", "XLSX"),
        ("名字,年龄\n张三,3\n".encode(), "x.csv", "unknown column"),
        ("交接时间,交出站点\n2020-01-01,X\n".encode(), "x.csv", "missing required"),
        ("\ufeff" + ",".join(H_HEADER) + "\n", "x.csv", "no rows"),
    ],
)
def test_files_that_are_no_ledger_are_refused_naming_the_file(
    client: TestClient, boss: Actor, content: Any, name: str, why: str
) -> None:
    data = content.encode() if isinstance(content, str) else content
    r = upload(client, boss, data, name=name)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file" and why in r.json()["detail"]


def test_a_huge_file_is_refused_before_it_is_read(client: TestClient, boss: Actor) -> None:
    from wasteflow.config import get_settings

    cap = get_settings().max_import_body_bytes
    r = upload(client, boss, b"x" * (cap + 1))
    assert r.status_code == 413


def test_too_many_rows_are_refused(client: TestClient, boss: Actor) -> None:
    from wasteflow.services import ledger_files

    sheet = [",".join(H_HEADER[:6])] + ["2020-01-01,A,B,film.agri,1,称重"] * 5
    with pytest.raises(Exception, match="more than 3 rows"):
        ledger_files.read_ledger("handovers", "x.csv", "\n".join(sheet).encode(), max_rows=3)


def test_only_admins_import(client: TestClient, net: Network, session: Session) -> None:
    content = as_csv([H_HEADER[:6], ["2020-01-01", net.source.code, net.cp.code, "film.agri",
                                     "1", "称重"]])  # fmt: skip
    official = make_account(session, Role.official)
    for who in (net.collector, official):
        assert upload(client, who, content).status_code == 403
        assert client.get(URL, headers=who.headers).status_code == 403
        got = client.get(f"{URL}/template?format=csv", headers=who.headers)
        assert got.status_code == 403


def test_csv_template_round_trip_in_gb18030(client: TestClient, net: Network, boss: Actor) -> None:
    got = client.get(f"{URL}/template?format=csv&kind=handovers", headers=boss.headers)
    assert got.status_code == 200 and got.content.startswith("\ufeff".encode())
    header = next(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    row = dict.fromkeys(header, "") | {
        "交接时间": "2017/8/9 7:30", "交出站点": net.source.code, "接收站点": net.cp.code,
        "物料": "废旧农膜", "申报重量(千克)": "12.345", "称重方式": "称重",
    }  # fmt: skip
    # Saved by a Chinese Excel as GB18030 (GBK): still read.
    content = as_csv([header, [row[h] for h in header]]).decode().encode("gb18030")
    r = upload(client, boss, content)
    assert r.status_code == 201, r.text
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(
        ["device_time", "from_site", "to_site", "material", "declared_mass_kg", "mass_method"]
    )
    ws.append(["2017-08-10 07:30", net.source.code, net.cp.code, "film.agri", 3, "weighed"])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, boss, buf.getvalue(), name="english.xlsx")
    assert r.status_code == 201, r.text


def test_excel_dates_numbers_and_gaps_are_read_as_typed(
    client: TestClient, net: Network, boss: Actor
) -> None:
    from datetime import date, datetime

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(H_HEADER[:6])
    ws.append(
        [datetime(2014, 3, 5, 9, 30), net.source.code, net.cp.code, "film.agri", 12.5, "称重"]
    )
    ws.append([date(2014, 3, 6), net.source.code, net.cp.code, "film.agri", 7, "称重"])
    ws.append([])  # an empty row: the next row is row 5, as the spreadsheet numbers it
    ws.append([date(2014, 3, 7), net.source.code, net.cp.code, "film.agri", 0.1 + 0.2, "猜"])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, boss, buf.getvalue(), name="dates.xlsx", query="?accept_clean_rows=true")
    assert r.status_code == 201, r.text
    assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [(5, "mass_method")]
    listed = client.get(
        f"/api/v1/handovers?site={net.source.code}&from=2014-01-01&to=2014-12-31",
        headers=boss.headers,
    ).json()["items"]
    got = sorted((h["device_time"], h["declared_mass_kg"]) for h in listed)
    # 09:30 in Asia/Shanghai is 01:30 UTC; a date alone counts at 12:00 local (04:00 UTC).
    assert got == [("2014-03-05T01:30:00Z", 12.5), ("2014-03-06T04:00:00Z", 7.0)]
