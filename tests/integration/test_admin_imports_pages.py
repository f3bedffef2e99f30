"""The admin pages for importing history and deciding late records: upload, the report as a
table, confirm, past imports; pending late scans approved or rejected. Both databases."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.web.auth import SESSION_COOKIE, logout_csrf
from tests.factories import Actor, Network, admin, make_network
from wasteflow.types import utcnow


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def logged_in(client: TestClient, who: Actor) -> str:
    client.cookies.set(SESSION_COOKIE, who.token)
    return logout_csrf(who.token)


def ledger(net: Network, *bad: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["行键", "交接时间", "交出站点", "接收站点", "物料", "申报重量(千克)", "称重方式"])
    w.writerow([uuid.uuid4().hex, "2016-05-05 08:00", net.source.code, net.cp.code, "废旧农膜",
                "25", "称重"])  # fmt: skip
    for material in bad:
        w.writerow([uuid.uuid4().hex, "2016-05-06", net.source.code, net.cp.code, material, "5",
                    "称重"])  # fmt: skip
    return buf.getvalue().encode()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_upload_check_then_confirm(
    client: TestClient, session: Session, net: Network, lang: str
) -> None:
    csrf = logged_in(client, admin(session))
    page = client.get(f"/dashboard/admin/imports?lang={lang}")
    assert page.status_code == 200 and 'id="import-form"' in page.text
    files = {"file": ("台账.csv", ledger(net, "no.such.material"))}
    checked = client.post("/dashboard/admin/imports", files=files,
                          data={"kind": "handovers", "csrf": csrf})  # fmt: skip
    assert checked.status_code == 200, checked.text
    problems = re.search(r'<table id="problems">.*?</table>', checked.text, re.S)
    assert problems and ">3<" in problems.group(0) and "物料" in problems.group(0)
    assert "unknown material code" in problems.group(0)
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', checked.text)
    assert digest and 'name="clean_rows" value="true"' in checked.text
    form = {"sha256": digest.group(1), "kind": "handovers", "clean_rows": "true", "csrf": csrf}
    done = client.post("/dashboard/admin/imports/confirm", data=form)
    assert done.status_code == 200 and 'id="import-done"' in done.text
    assert "台账.csv" in done.text.split('id="past-imports"')[1]
    batch = re.search(r'href="/dashboard/admin/imports/(\d+)"', done.text)
    assert batch is not None
    shown = client.get(f"/dashboard/admin/imports/{batch.group(1)}")
    assert shown.status_code == 200 and "HO-20160505-" in shown.text


def test_forms_need_the_session_token_and_an_admin(
    client: TestClient, session: Session, net: Network
) -> None:
    logged_in(client, admin(session))
    files = {"file": ("x.csv", ledger(net))}
    assert client.post("/dashboard/admin/imports", files=files,
                       data={"csrf": "forged"}).status_code == 403  # fmt: skip
    logged_in(client, net.collector)
    assert client.get("/dashboard/admin/imports").status_code == 403
    assert client.get("/dashboard/admin/late").status_code == 403


def test_a_garbage_file_is_a_page_naming_the_file(
    client: TestClient, session: Session, net: Network
) -> None:
    csrf = logged_in(client, admin(session))
    r = client.post("/dashboard/admin/imports", files={"file": ("x.xlsx", b"not a workbook")},
                    data={"kind": "handovers", "csrf": csrf})  # fmt: skip
    assert r.status_code == 422 and 'id="import-error"' in r.text and "file:" in r.text


def test_pending_late_scans_are_approved_or_rejected_on_the_page(
    client: TestClient, session: Session, net: Network
) -> None:
    ids = []
    for _ in range(2):
        body = net.body(device_time=(utcnow() - timedelta(days=40)).isoformat())
        key = {"Idempotency-Key": uuid.uuid4().hex}
        r = client.post("/api/v1/late-submissions", json={"scan": body, "reason": "no signal"},
                        headers=net.collector.headers | key)  # fmt: skip
        assert r.status_code == 202
        ids.append(r.json()["id"])
    csrf = logged_in(client, admin(session))
    page = client.get("/dashboard/admin/late")
    assert all(f'id="late-{i}"' in page.text for i in ids)
    ok = client.post(f"/dashboard/admin/late/{ids[0]}", data={"decision": "approve", "csrf": csrf})
    assert ok.status_code == 200 and 'id="late-done"' in ok.text  # followed the redirect
    no = client.post(f"/dashboard/admin/late/{ids[1]}", data={"decision": "reject", "csrf": csrf})
    assert no.status_code == 422 and "reason" in no.text
    form = {"decision": "reject", "reason": "duplicate of a scan", "csrf": csrf}
    no = client.post(f"/dashboard/admin/late/{ids[1]}", data=form)
    assert no.status_code == 200
    approved = client.get("/dashboard/admin/late?state=approved&lang=en").text
    assert f'id="late-{ids[0]}"' in approved and "HO-" in approved
