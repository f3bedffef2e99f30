"""Sites from a spreadsheet (POST /api/v1/sites/upload): the row-by-row report of a dry run,
which writes nothing; applying, in one transaction, only a clean file (or its clean rows when
asked); the same file again changes nothing; CSV in UTF-8 or GB18030 and XLSX; the template,
whose filled-in copy uploads back unchanged. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col

from tests.factories import TOWNSHIP, VILLAGE, admin, make_account, make_site, unique
from wasteflow.models import AuditEvent
from wasteflow.services.site_upload import COLUMNS
from wasteflow.types import Role, SiteKind

HEADER = "站点编码,站点名称,站点类型,所在村或乡镇,纬度,经度,容量（千克）,接收物料,处理方式,运营单位"


def _csv(*rows: str, header: str = HEADER, encoding: str = "utf-8-sig") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def _upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    name: str = "sites.csv",
    key: str | None = None,
    **params: Any,
) -> Any:
    if key:
        headers = headers | {"Idempotency-Key": key}
    return client.post(
        "/api/v1/sites/upload", headers=headers, params=params, files={"file": (name, data)}
    )


def _site(client: TestClient, headers: dict[str, str], code: str) -> Any:
    return client.get(f"/api/v1/sites/{code}", headers=headers)


def _uploads_audited(session: Session, digest: str) -> int:
    session.rollback()
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(col(AuditEvent.entity) == "site_upload", col(AuditEvent.entity_id) == digest)
        ).scalar_one()
    )


def test_a_dry_run_reports_every_row_and_writes_nothing(
    client: TestClient, session: Session
) -> None:
    h = admin(session).headers
    old = make_site(session, SiteKind.collection_point, capacity_kg=1000)
    cp, pr, bad_kind, bad_mat, misfit, dup = (unique("UP") for _ in range(6))
    data = _csv(
        f"{cp},白马村回收点,回收点,{VILLAGE},29.41,107.55,50000,废旧农膜、其他垃圾,,",
        f"{pr},再生塑料厂,处理企业,{TOWNSHIP},29.4,107.5,,废旧农膜,再生利用,",
        f"{old.code},改名的回收点,,,,,2500,,,",
        f"{bad_kind},x,垃圾站,{VILLAGE},,,,,,",
        f"{bad_mat},y,回收点,{VILLAGE},,,,废膜,,",
        # a film plant that only composts: the create endpoint's rule, said on its row
        f"{misfit},z,处理企业,{TOWNSHIP},,,,废旧农膜,堆肥,",
        f"{dup},a,回收点,{VILLAGE},,,,其他垃圾,,",
        f"{dup},b,回收点,{VILLAGE},,,,其他垃圾,,",
        f"{unique('UP')},c,回收点,{VILLAGE},29.4,,,其他垃圾,,",
    )
    r = _upload(client, h, data)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] and not report["applied"]
    assert (report["rows"], report["created"], report["updated"], report["invalid"]) == (9, 3, 1, 5)
    items = {i["row"]: i for i in report["items"]}
    assert items[2]["action"] == "create" and items[2]["code"] == cp
    assert items[3]["action"] == "create"
    assert items[4]["action"] == "update"
    assert items[4]["changes"] == {
        "name": ["test collection_point", "改名的回收点"],
        "capacity_kg": [1000.0, 2500.0],
    }
    assert [(e["column"], e["header"]) for e in items[5]["errors"]] == [("kind", "站点类型")]
    assert "'垃圾站' is not a site kind" in items[5]["errors"][0]["reason"]
    assert items[6]["errors"][0]["column"] == "materials"
    assert "no material named '废膜'" in items[6]["errors"][0]["reason"]
    assert items[7]["errors"][0]["column"] == "routes"
    assert "compost" in items[7]["errors"][0]["reason"]
    assert items[8]["action"] == "create"
    assert items[9]["errors"][0] == {
        "column": "code",
        "header": "站点编码",
        "reason": f"{dup} is on row 8 already",
    }
    assert items[10]["errors"][0]["column"] == "lat"
    # Nothing was written.
    for code in (cp, pr, dup):
        assert _site(client, h, code).status_code == 404
    assert _site(client, h, old.code).json()["capacity_kg"] == 1000
    assert _uploads_audited(session, report["digest"][:32]) == 0


def test_applying_writes_a_clean_file_once_and_refuses_one_with_errors(
    client: TestClient, session: Session
) -> None:
    h = admin(session).headers
    cp, src = unique("UP"), unique("UP")
    bad = _csv(
        f"{cp},白马村回收点,回收点,{VILLAGE},29.41,107.55,50000,废旧农膜,,",
        f"{unique('UP')},x,回收点,{VILLAGE},,,,废膜,,",
    )
    r = _upload(client, h, bad, key=uuid.uuid4().hex, dry_run=False)
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert r.json()["report"]["invalid"] == 1
    assert _site(client, h, cp).status_code == 404  # the clean row was not kept either

    good = _csv(
        f"{cp},白马村回收点,回收点,{VILLAGE},29.41,107.55,50000,废旧农膜,,",
        f"{src},白马村种植户,产生源,白马镇/白马生成村01,29.41,107.55,,废旧农膜,,",
    )
    key = uuid.uuid4().hex
    r = _upload(client, h, good, key=key, dry_run=False)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["applied"] and report["created"] == 2 and not report["dry_run"]
    site = _site(client, h, cp).json()
    assert site["materials"] == ["film.agri"] and site["capacity_kg"] == 50000
    assert _site(client, h, src).json()["region_code"] == VILLAGE
    history = client.get(f"/api/v1/sites/{cp}/history", headers=h).json()
    assert [e["action"] for e in history["events"]] == ["site.create"]
    assert _uploads_audited(session, report["digest"][:32]) == 1

    again = _upload(client, h, good, key=key, dry_run=False)  # a retry: the first answer
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == report
    fresh = _upload(client, h, good, key=uuid.uuid4().hex, dry_run=False)
    assert fresh.status_code == 200
    assert (fresh.json()["unchanged"], fresh.json()["applied"]) == (2, False)
    assert _uploads_audited(session, report["digest"][:32]) == 1
    history = client.get(f"/api/v1/sites/{cp}/history", headers=h).json()
    assert len(history["events"]) == 1


def test_skip_invalid_keeps_the_clean_rows(client: TestClient, session: Session) -> None:
    h = admin(session).headers
    cp = unique("UP")
    data = _csv(
        f"{cp},回收点甲,回收点,{VILLAGE},,,,其他垃圾,,",
        f"{unique('UP')},回收点乙,回收点,{VILLAGE},,,,,,",  # accepts nothing
    )
    r = _upload(client, h, data, dry_run=False, skip_invalid=True)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["invalid"]) == (1, 1)
    assert r.json()["items"][1]["errors"][0]["column"] == "materials"
    assert _site(client, h, cp).status_code == 200


def test_gb18030_csv_and_xlsx_with_number_cells(client: TestClient, session: Session) -> None:
    h = admin(session).headers
    a, b = unique("UP"), unique("UP")
    r = _upload(client, h, _csv(f"{a},甲,回收点,{VILLAGE},,,,其他垃圾,,", encoding="gb18030"))
    assert r.status_code == 200 and r.json()["created"] == 1, r.text

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["站点编码", "站点名称", "站点类型", "所在村或乡镇", "纬度", "经度", "接收物料"])
    sheet.append([b, "乙", "回收点", int(VILLAGE), 29.41, 107.55, "废旧农膜, 其他垃圾"])
    out = io.BytesIO()
    book.save(out)
    r = _upload(client, h, out.getvalue(), name="sites.xlsx", dry_run=False)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    site = _site(client, h, b).json()
    assert site["region_code"] == VILLAGE and site["lat"] == 29.41
    assert site["materials"] == ["film.agri", "hh.other"]


def test_the_template_and_a_filled_copy_uploaded_back(client: TestClient, session: Session) -> None:
    h = admin(session).headers
    r = client.get("/api/v1/sites/upload/template", headers=h)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert [c.value for c in book["站点"][1]] == [c.zh for c in COLUMNS]
    assert book["说明"]["A2"].value == "站点编码"
    make_site(session, SiteKind.processor, routes=["recycling"], region_code=TOWNSHIP)
    r = client.get(
        "/api/v1/sites/upload/template",
        headers=h,
        params={"with_sites": "true", "region": TOWNSHIP},
    )
    filled = r.content
    rows = list(load_workbook(io.BytesIO(filled))["站点"].iter_rows(values_only=True))
    assert len(rows) > 2 and "再生利用" in {row[11] for row in rows[1:]}
    back = _upload(client, h, filled, name="sites.xlsx").json()
    assert back["rows"] == len(rows) - 1
    assert back["unchanged"] == back["rows"], [i for i in back["items"] if i["errors"]][:3]


def test_refusals_of_the_file_itself(client: TestClient, session: Session) -> None:
    h = admin(session).headers
    r = _upload(client, h, _csv("X,y", header="站点编码,站点名字"))
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert "站点名字" in r.json()["detail"]
    assert _upload(client, h, b"").status_code == 422
    assert _upload(client, h, b"not a workbook", name="a.xlsx").status_code == 422
    nul = _upload(client, h, "站点编码,站点名称\nA\x00B,x\n".encode())  # binary, not text
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
    r = _upload(client, h, _csv("", header="站点名称"))
    assert r.status_code == 422 and "站点编码" in r.json()["detail"]
    official = make_account(session, Role.official).headers
    assert _upload(client, official, _csv(f"{unique('UP')},a,回收点,{VILLAGE}")).status_code == 403
    r = client.get("/api/v1/sites/upload/template", headers=official)
    assert r.status_code == 403
