"""The demo district end to end: rates against targets, the planted anomalies, exports — and
the per-day totals agreeing with the raw records, on SQLite and PostgreSQL.

The demo is built as of 1 April 2026 (``AS_OF``): the full year 2025 and 2026's first
quarter, as a user building it that day would get, and the same figures whatever the date
the tests run on."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from tests.conftest import BACKENDS, PostgresServer, fresh_database_url
from wasteflow.db import make_engine, new_session, upgrade
from wasteflow.demo import DEMO_PASSWORD, PLANTED, load_demo
from wasteflow.models import Handover, Site
from wasteflow.rates import parse_period
from wasteflow.services.rates import load_period, period_engine
from wasteflow.services.reference import load_reference
from wasteflow.types import Channel, HandoverStatus

AS_OF = date(2026, 4, 1)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[sa.Engine]:
    url = fresh_database_url(request.param, pg_server, Path(tmp_path_factory.mktemp("demo")))
    upgrade(url)
    engine = make_engine(url)
    with new_session(engine) as session:
        load_reference(session=session)
        load_demo(session=session, today=AS_OF)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(demo: sa.Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from api.main import create_app

    with TestClient(create_app(demo)) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "official", "password": DEMO_PASSWORD}
        ).json()["access_token"]
        yield client, {"Authorization": f"Bearer {token}"}


def _figures(report: dict) -> dict[tuple[str, str], tuple]:  # type: ignore[type-arg]
    return {
        (row["region"]["code"], key): (
            f["numerator_kg"],
            f["denominator_kg"],
            f["rate"],
            f["met"],
            f["records"]["handovers"],
        )
        for row in report["rows"]
        for key, f in row["figures"].items()
    }


def test_report_from_totals_equals_report_recomputed_from_raw_records(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    totals = client.get("/api/v1/rates/report", params={"period": "2025"}, headers=h)
    raw = client.get("/api/v1/rates/report", params={"period": "2025", "source": "raw"}, headers=h)
    assert totals.status_code == raw.status_code == 200
    assert raw.json()["source"] == "raw"
    a, b = _figures(totals.json()), _figures(raw.json())
    assert len(a) == 27 * 11  # the district and its 26 townships × 11 indicators
    assert a == b


def test_totals_equal_raw_after_live_recording_cancelling_and_correcting(
    demo: sa.Engine, api
) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    login = client.post(
        "/api/v1/auth/token", data={"username": "collector.baima", "password": DEMO_PASSWORD}
    ).json()
    operator = client.post(
        "/api/v1/auth/token", data={"username": "operator.baima", "password": DEMO_PASSWORD}
    ).json()
    hc = {"Authorization": f"Bearer {login['access_token']}"}
    ho = {"Authorization": f"Bearer {operator['access_token']}"}
    plaque = client.get("/api/v1/sites/WL-HH-500156101001-1/plaque", headers=hc).json()["payload"]
    from wasteflow.types import utcnow

    def body(kg: float) -> dict:  # type: ignore[type-arg]
        return {
            "source_plaque": plaque,
            "to_site": "WL-CP-500156101001",
            "material": "film.agri",
            "declared_mass_kg": kg,
            "mass_method": "weighed",
            "device_time": utcnow().isoformat(),
        }

    period = parse_period(f"{utcnow():%Y}")
    with new_session(demo) as session:
        before = period_engine(session, period)
        assert period_engine(session, period) is before  # unchanged data: computed once
    codes = []
    for kg in (10, 20, 30, 40):
        r = client.post(
            "/api/v1/handovers", json=body(kg), headers=hc | {"Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 201
        codes.append(r.json()["code"])
    r = client.post(
        f"/api/v1/handovers/{codes[0]}/receipt", json={"received_mass_kg": 9.5}, headers=ho
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/handovers/{codes[1]}/cancel", json={"reason": "double scan"}, headers=hc
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/handovers/{codes[2]}/correct",
        json=body(3),
        headers=hc | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/handovers/{codes[3]}/receipt", json={"received_mass_kg": 4}, headers=ho
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/handovers/{codes[3]}/receipt/correct",
        json={
            "received_mass_kg": 40.5,
            "refused_mass_kg": 2,
            "refusal_reason": "wet bale",
            "reason": "a digit was dropped when keying the weight",
        },
        headers=ho,
    )
    assert r.status_code == 201, r.text
    with new_session(demo) as session:
        from_totals = load_period(session, period, source="totals")
        from_raw = load_period(session, period, source="raw")
        after = period_engine(session, period)  # every write moved the data's version
    assert after is not before
    assert sorted(after.d.flows, key=repr) == sorted(from_totals.flows, key=repr)
    assert sorted(from_totals.flows, key=repr) == sorted(from_raw.flows, key=repr)
    assert sorted(from_totals.treatments, key=repr) == sorted(from_raw.treatments, key=repr)
    assert sorted(from_totals.returns, key=repr) == sorted(from_raw.returns, key=repr)
    assert from_totals.flows, "the live handovers are in this year's totals"


def test_a_report_after_a_write_equals_one_computed_from_nothing(api) -> None:  # type: ignore[no-untyped-def]
    # After a write the report is computed afresh, but each material's attribution whose
    # inputs are unchanged is taken from the last one: the result must be what a process
    # that never computed anything before gives.
    from wasteflow.rates.memo import solved_memo as _solved_memo
    from wasteflow.services.rates import _periods
    from wasteflow.types import utcnow

    client, h = api
    period = {"period": f"2025..{utcnow():%Y}"}
    assert client.get("/api/v1/rates/report", params=period, headers=h).status_code == 200
    login = client.post(
        "/api/v1/auth/token", data={"username": "collector.baima", "password": DEMO_PASSWORD}
    ).json()
    hc = {"Authorization": f"Bearer {login['access_token']}"}
    plaque = client.get("/api/v1/sites/WL-HH-500156101001-1/plaque", headers=hc).json()["payload"]
    scan = {
        "source_plaque": plaque,
        "to_site": "WL-CP-500156101001",
        "material": "hh.kitchen",
        "declared_mass_kg": 7.5,
        "mass_method": "weighed",
        "device_time": utcnow().isoformat(),
    }
    r = client.post(
        "/api/v1/handovers", json=scan, headers=hc | {"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    reused = client.get("/api/v1/rates/report", params=period, headers=h).json()
    _solved_memo.clear()
    _periods.clear()
    fresh = client.get("/api/v1/rates/report", params=period, headers=h).json()
    assert _figures(reused) == _figures(fresh)
    assert reused == fresh


def test_some_townships_meet_the_targets_and_some_miss(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    report = client.get("/api/v1/rates/report", params={"period": "2025"}, headers=h).json()
    townships = report["rows"][1:]
    assert len(townships) == 26
    for key in ("film_recovery", "manure_utilisation", "straw_utilisation"):
        met = [row["figures"][key]["met"] for row in townships]
        assert True in met and False in met, key
    district = report["rows"][0]["figures"]
    assert district["film_recovery"]["target"]["value"] == 0.9
    assert district["household_raw_landfill"]["met"] is False  # raw waste was landfilled
    assert district["film_recovery"]["formula"].startswith("农膜回收率")


def test_one_figure_links_to_the_records_behind_it(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    fig = client.get(
        "/api/v1/rates",
        params={"indicator": "manure_utilisation", "region": "500156101", "period": "2025"},
        headers=h,
    ).json()
    assert fig["coefficient_sets"] == ["WL-2025"] and fig["status"] == "ok"
    records = client.get(fig["records"]["url"], headers=h).json()
    assert len(records["declarations"]) == fig["records"]["declarations"] > 0
    assert records["handovers"]["total"] == fig["records"]["handovers"] > 0
    assert all(d["kind"] == "livestock_headcount" for d in records["declarations"])


def test_planted_anomalies_are_listed_with_their_records(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    body = client.get("/api/v1/flows/balance", params={"period": "2025"}, headers=h).json()
    kinds = {a["kind"] for a in body["anomalies"]}
    assert {
        "refused_load",
        "negative_stock",
        "far_scan",
        "mass_discrepancy",
        "implausible_source",
    } <= kinds
    assert len(PLANTED) == 6
    refused = [a for a in body["anomalies"] if a["kind"] == "refused_load"]
    assert any(a["detail"]["status"] == "refused" for a in refused)
    far = next(a for a in body["anomalies"] if a["kind"] == "far_scan")
    assert far["handovers"] and far["detail"]["distance_m"] > 20_000
    negative = next(a for a in body["anomalies"] if a["kind"] == "negative_stock")
    assert negative["site"].startswith("WL-CP-") and negative["detail"]["missing_kg"] >= 1999
    # The mouldy straw refused at the straw plant was never sent back: it has sat there since.
    stale = [a for a in body["anomalies"] if a["kind"] == "stale_stock"]
    assert [(a["site"], a["material"]) for a in stale] == [("WL-PR-STRW", "straw.rice")]
    assert stale[0]["detail"]["dwell_days"] > 90
    # A handful of findings, not noise: the demo's pools ship what they hold.
    assert len(body["anomalies"]) < 20
    site = next(
        s for s in body["sites"] if s["site"] == negative["site"] and s["material"] == "film.agri"
    )
    assert site["closing_kg"] < 0


def test_sankey_from_townships_to_routes(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    body = client.get(
        "/api/v1/flows/sankey", params={"period": "2025", "material": "film"}, headers=h
    ).json()
    labels = [n["label"] for n in body["nodes"]]
    assert any("白马镇" in label for label in labels) and "再生利用" in labels
    assert all(link["value"] > 0 for link in body["links"])
    nodes = body["nodes"]
    # Every plant by name; sources and collection points by township; no merged node.
    assert "武隆区废旧农膜再生利用中心（示例）" in labels
    assert {"白马镇 产生源", "白马镇 回收点"} <= set(labels) and "回收点" not in labels
    baima_cp = next(n for n in nodes if n["label"] == "白马镇 回收点")
    assert (baima_cp["kind"], baima_cp["township"]) == ("collection_point", "500156101")
    for link in body["links"]:
        assert link["value"] == pytest.approx(sum(link["materials"].values()), abs=0.01)
    # Each node carries the mass through it: the recycler takes in what reaches it.
    plant = labels.index("武隆区废旧农膜再生利用中心（示例）")
    into_plant = sum(
        link["value"]
        for link in body["links"]
        if link["target"] == plant and link["kind"] == "flow"
    )
    assert nodes[plant]["value_kg"] == pytest.approx(into_plant, abs=0.01)
    # The planted refusal went back: a return link from the plant, not a forward flow.
    returns = [link for link in body["links"] if link["kind"] == "return"]
    assert len(returns) == 1 and returns[0]["source"] == plant
    assert nodes[returns[0]["target"]]["kind"] in ("collection_point", "source")
    assert not any(
        link["source"] == plant and nodes[link["target"]]["kind"] != "route"
        for link in body["links"]
        if link["kind"] == "flow"
    )
    english = client.get(
        "/api/v1/flows/sankey",
        params={"period": "2025", "material": "film", "lang": "en"},
        headers=h,
    ).json()
    assert "material recycling" in [n["label"] for n in english["nodes"]]
    bad = client.get(
        "/api/v1/flows/sankey", params={"period": "2025", "material": "gold"}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["field"] == "material"


def test_exports_in_chinese_and_english(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.get("/api/v1/rates/report", params={"period": "2025", "format": "csv"}, headers=h)
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["区域代码", "区域"] and len(rows) == 1 + 27 * 11
    assert any(row[1] == "白马镇" for row in rows)
    r = client.get(
        "/api/v1/rates/report",
        params={"period": "2025", "format": "xlsx", "lang": "en", "layout": "records"},
        headers=h,
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None and ws["A1"].value == "region code" and ws.max_row == 1 + 27 * 11
    r = client.get(
        "/api/v1/handovers/export", params={"from": "2025-10-01", "to": "2025-10-02"}, headers=h
    )
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("交接编号") and len(lines) > 100
    geo = client.get("/api/v1/sites.geojson", params={"period": "2025"}, headers=h).json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) > 1000
    film = next(f for f in geo["features"] if f["properties"]["code"] == "WL-PR-FILM")
    assert film["properties"]["treated_kg"] > 0


def test_the_report_officials_send_upward(api) -> None:  # type: ignore[no-untyped-def]
    """The 报表: townships × indicators, numbers stored as numbers with their formats, a title
    block, notes on what the figures rest on, frozen headers, a filter, and a page setup that
    prints one A4 landscape page wide with the header rows on every page."""
    client, h = api
    report = client.get("/api/v1/rates/report", params={"period": "2025"}, headers=h).json()
    r = client.get("/api/v1/rates/report", params={"period": "2025", "format": "xlsx"}, headers=h)
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert 'filename="wasteflow-report-500156-2025.xlsx"' in disposition
    name = "武隆区2025年资源化利用情况报表.xlsx"
    assert f"filename*=UTF-8''{quote(name)}" in disposition
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["利用率报表", "利用量与产生量"]
    ws = book["利用率报表"]
    assert ws["A1"].value == "武隆区 2025年 资源化利用情况报表"
    assert ws["A2"].value == "统计期间：2025年1月1日 至 2025年12月31日"
    top_line = [c.value for c in ws[3] if c.value]
    assert top_line[0] == "制表单位：武隆区生态环境局（示例）"  # the official's organisation
    assert top_line[1].startswith("制表日期：") and top_line[2] == "计量单位：吨、%"
    # Two header rows (indicator, then rate | 同比 | target | verdict), frozen with the
    # names and ranks. A year has no 环比: the year before is its 同比.
    assert [ws.cell(5, c).value for c in (1, 2, 3, 4, 8)] == [
        "乡镇（街道）", "区划代码", "排名", "农膜回收率", "畜禽粪污综合利用率"
    ]  # fmt: skip
    assert [ws.cell(6, c).value for c in (4, 5, 6, 7)] == [
        "利用率", "同比（百分点）", "目标（≥）", "达标情况"
    ]  # fmt: skip
    assert ws.freeze_panes == "D7"
    last = ws.cell(6, ws.max_column).column_letter
    assert ws.auto_filter.ref == f"A6:{last}32"  # the 26 townships; the total stays put
    assert ws.print_title_rows == "$5:$6"
    setup = ws.page_setup
    assert (setup.orientation, int(setup.paperSize), setup.fitToWidth, setup.fitToHeight) == (
        "landscape", 9, 1, 0
    )  # fmt: skip
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    widths = {ws.column_dimensions[c].width for c in ("A", "B", "C", "E")}
    assert len(widths) > 1  # not every column the default width
    rows = {row["region"]["code"]: row for row in report["rows"]}
    by_code = {ws.cell(n, 2).value: n for n in range(7, 34)}
    assert set(by_code) == set(rows) and ws.cell(33, 1).value == "武隆区（合计）"
    for code, n in by_code.items():
        film = rows[code]["figures"]["film_recovery"]
        rate, yoy, target, verdict = (ws.cell(n, c) for c in (4, 5, 6, 7))
        assert yoy.value is None  # the demo has no 2024 to compare with
        assert rate.value == film["rate"] and rate.number_format == "0.0%"
        assert isinstance(target.value, float) and target.value == film["target"]["value"]
        assert target.number_format == "0%"
        expected = {True: "达标", False: "未达标"}[film["met"]]
        if film["rate"] > 1:
            expected = "超过100%，请核查数据"  # 鸭江镇's 100.1 % is a data check, not 达标
        assert verdict.value == expected, code
    assert ws.cell(by_code["500156105"], 7).value == "超过100%，请核查数据"
    # The quantities that have no rate are tonnes with two decimals.
    dismantled = next(
        c for c in range(4, ws.max_column + 1) if ws.cell(5, c).value == "废弃电器电子产品拆解量"
    )
    cell = ws.cell(33, dismantled)
    assert cell.value == round(rows["500156"]["figures"]["appliance_dismantled"]["numerator_kg"]
                               / 1000, 6)  # fmt: skip
    assert cell.number_format == "#,##0.00"
    notes = "\n".join(str(c.value) for c in ws["A"][34:] if c.value)
    assert "注：" in notes and "超过100%" in notes
    assert "转化系数为占位值" in notes and "玉米草谷比" in notes  # placeholders, unverified
    assert "排名按达标指标数" in notes and "同比：与2024年相比" in notes
    assert "合成演示数据" in notes
    qs = book["利用量与产生量"]
    assert [qs.cell(6, c).value for c in (3, 4)] == ["回收量（吨）", "使用量（吨）"]
    film = rows["500156101"]["figures"]["film_recovery"]
    n = next(n for n in range(7, 34) if qs.cell(n, 2).value == "500156101")
    assert qs.cell(n, 3).value == round(film["numerator_kg"] / 1000, 6)
    assert qs.cell(n, 4).value == round(film["denominator_kg"] / 1000, 6)
    assert qs.cell(n, 4).number_format == "#,##0.00"
    assert qs.freeze_panes == "C7" and qs.print_title_rows == "$5:$6"
    # In English: English words, an ASCII file name.
    r = client.get(
        "/api/v1/rates/report", params={"period": "2025-Q2", "format": "xlsx", "lang": "en"},
        headers=h,
    )  # fmt: skip
    assert r.headers["content-disposition"] == (
        'attachment; filename="wasteflow-report-500156-2025-Q2.xlsx"'
    )
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["rates", "quantities"]
    assert book["rates"]["A1"].value == "Wulong District: resource utilisation report, 2025 Q2"


def test_the_reports_ranks_and_changes_are_the_townships_pages(api) -> None:  # type: ignore[no-untyped-def]
    """2026's first quarter against 2025's first and last quarters, worked by hand from the
    three reports: 白马镇's manure rate change in points, and a rank by targets met."""
    client, h = api

    def report(period: str) -> dict:  # type: ignore[type-arg]
        r = client.get("/api/v1/rates/report", params={"period": period}, headers=h)
        return {row["region"]["code"]: row for row in r.json()["rows"]}  # type: ignore[no-any-return]

    now, year_before, quarter_before = report("2026-Q1"), report("2025-Q1"), report("2025-Q4")
    r = client.get(
        "/api/v1/rates/report", params={"period": "2026-Q1", "format": "xlsx"}, headers=h
    )
    ws = load_workbook(io.BytesIO(r.content))["利用率报表"]
    manure = next(
        c for c in range(4, ws.max_column + 1) if ws.cell(5, c).value == "畜禽粪污综合利用率"
    )
    assert [ws.cell(6, c).value for c in range(manure, manure + 5)] == [
        "利用率", "同比（百分点）", "环比（百分点）", "目标（≥）", "达标情况"
    ]  # fmt: skip
    row = next(n for n in range(7, 34) if ws.cell(n, 2).value == "500156101")
    rate = now["500156101"]["figures"]["manure_utilisation"]["rate"]
    for column, then in ((manure + 1, year_before), (manure + 2, quarter_before)):
        before = then["500156101"]["figures"]["manure_utilisation"]["rate"]
        cell = ws.cell(row, column)
        assert cell.value == pytest.approx((rate - before) * 100, abs=1e-3)
        assert cell.number_format == "+0.0;-0.0;0.0"
    # Rank: targets met (a rate over 100 % is no target met), ties sharing a rank.
    met = {
        code: sum(1 for f in r["figures"].values() if f["met"] and (f["rate"] or 0) <= 1)
        for code, r in now.items()
        if code != "500156"
    }
    better = sum(1 for m in met.values() if m > met["500156101"])
    assert ws.cell(row, 3).value == better + 1 and ws.cell(row, 3).number_format == "0"
    assert ws.cell(33, 3).value is None  # the district's total has no rank


def test_the_demo_is_labelled_synthetic(demo: sa.Engine, api) -> None:  # type: ignore[no-untyped-def]
    client, _h = api
    assert client.get("/healthz").json()["dataset"]["synthetic"] is True
    with Session(demo) as session:
        assert (
            session.execute(
                sa.select(sa.func.count()).select_from(Site).where(Site.synthetic.is_(False))
            ).scalar_one()
            == 0
        )  # type: ignore[attr-defined]
        channels = set(
            session.execute(
                sa.select(Handover.channel)
                .where(Handover.day < parse_period("2026").start)
                .distinct()
            ).scalars()
        )
        assert channels == {Channel.demo}


def test_the_demo_holds_the_last_full_year_and_this_year_up_to_the_day_before(
    demo: sa.Engine, api
) -> None:  # type: ignore[no-untyped-def]
    from wasteflow.models import Declaration
    from wasteflow.types import DeclarationKind

    client, h = api
    dataset = client.get("/healthz").json()["dataset"]
    assert dataset["years"] == [2025, 2026] and dataset["year"] == 2026
    assert (dataset["first_day"], dataset["last_day"]) == ("2025-01-01", "2026-03-31")
    demo_rows = sa.select(Handover.day, Handover.status).where(Handover.channel == Channel.demo)
    with Session(demo) as session:
        days = session.execute(
            sa.select(sa.func.min(Handover.day), sa.func.max(Handover.day)).where(
                Handover.channel == Channel.demo
            )
        ).one()
        waiting = session.execute(
            demo_rows.where(Handover.status == HandoverStatus.in_transit)
        ).all()
        ends = dict(
            session.execute(
                sa.select(Declaration.kind, sa.func.max(Declaration.period_end))
                .where(Declaration.period_start >= date(2026, 1, 1))
                .group_by(Declaration.kind)
            ).all()
        )
        film = dict(
            session.execute(
                sa.select(
                    sa.func.extract("year", Declaration.period_start),
                    sa.func.sum(Declaration.mass_g),
                )
                .where(Declaration.kind == DeclarationKind.film_used)
                .group_by(sa.func.extract("year", Declaration.period_start))
            ).all()
        )
    assert days == (date(2025, 1, 1), date(2026, 3, 31))
    # Only the loads of the last two days are still on their way; the year's end is not.
    assert waiting and {d for d, _ in waiting} == {date(2026, 3, 30), date(2026, 3, 31)}
    # 2026 is declared up to its last day: head counts over the quarter's days, the
    # factories' output so far, household waste collected month by month.
    assert ends[DeclarationKind.livestock_headcount] == date(2026, 3, 31)
    assert ends[DeclarationKind.industrial_generated] == date(2026, 3, 31)
    assert ends[DeclarationKind.household_collected] == date(2026, 3, 31)
    assert DeclarationKind.crop_output not in ends  # no harvest has begun by March
    # Film goes on the fields from March: a month of a 92-day season so far.
    used = {int(y): float(g) for y, g in film.items()}  # PostgreSQL sums as Decimal
    assert used[2026] == pytest.approx(used[2025] * 31 / 92, rel=1e-6)
    quarter = client.get("/api/v1/rates/report", params={"period": "2026-Q1"}, headers=h).json()
    district = quarter["rows"][0]["figures"]
    assert 0.5 < district["manure_utilisation"]["rate"] < 1  # produced and used so far
    assert district["straw_utilisation"]["status"] == "no_data"  # nothing harvested yet
    # The townships' performance drifts from one year to the next: comparisons show change.
    compare = client.get("/api/v1/rates/compare", params={"period": "2026-Q1"}, headers=h).json()
    changes = [row["figures"]["manure_utilisation"]["yoy"]["change"] for row in compare["rows"][1:]]
    assert all(c is not None for c in changes) and len(set(changes)) > 20


def test_the_readmes_load_shows_in_the_figures_of_its_year(api) -> None:  # type: ignore[no-untyped-def]
    """A handover, end to end, as the README records it: 18.4 kg of film from a household
    cluster of 白马镇 to its village's collection point, confirmed at 18.2 kg — then the
    year's film figure of 白马镇 counts it and lists it among its records."""
    from wasteflow.types import utcnow

    client, h = api
    tokens = {
        u: client.post(
            "/api/v1/auth/token", data={"username": u, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        for u in ("collector.baima", "operator.baima")
    }
    hc = {"Authorization": f"Bearer {tokens['collector.baima']}"}
    ho = {"Authorization": f"Bearer {tokens['operator.baima']}"}
    params = {"indicator": "film_recovery", "region": "500156101", "period": f"{utcnow():%Y}"}
    before = client.get("/api/v1/rates", params=params, headers=h).json()
    plaque = client.get("/api/v1/sites/WL-HH-500156101001-1/plaque", headers=hc).json()["payload"]
    r = client.post(
        "/api/v1/handovers",
        json={
            "source_plaque": plaque,
            "to_site": "WL-CP-500156101001",
            "material": "film.agri",
            "declared_mass_kg": 18.4,
            "mass_method": "weighed",
            "device_time": utcnow().isoformat(),
            "lat": 29.4311,
            "lon": 107.5455,
        },
        headers=hc | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = client.post(
        f"/api/v1/handovers/{code}/receipt", json={"received_mass_kg": 18.2}, headers=ho
    )
    assert r.status_code == 200, r.text
    after = client.get("/api/v1/rates", params=params, headers=h).json()
    assert after["numerator_kg"] == pytest.approx((before["numerator_kg"] or 0) + 18.2)
    assert after["records"]["handovers"] == before["records"]["handovers"] + 1
    # Records come oldest first: the new load is the last.
    last = f"{after['records']['url']}&offset={after['records']['handovers'] - 1}"
    records = client.get(last, headers=h).json()
    assert [ho["code"] for ho in records["handovers"]["items"]] == [code]


def test_rates_refuse_what_they_cannot_read(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    collector = client.post(
        "/api/v1/auth/token", data={"username": "collector.baima", "password": DEMO_PASSWORD}
    ).json()
    r = client.get(
        "/api/v1/rates/report",
        params={"period": "2025"},
        headers={"Authorization": f"Bearer {collector['access_token']}"},
    )
    assert r.status_code == 403
    for params, field in (
        ({"period": "2025-13", "indicator": "film_recovery"}, "period"),
        ({"period": "2025", "indicator": "joy"}, "indicator"),
        ({"period": "2025", "indicator": "film_recovery", "region": "1"}, "region"),
    ):
        r = client.get("/api/v1/rates", params=params, headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_other_roles_see_the_balance_of_their_own_sites(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    operator = client.post(
        "/api/v1/auth/token", data={"username": "operator.baima", "password": DEMO_PASSWORD}
    ).json()
    h = {"Authorization": f"Bearer {operator['access_token']}"}
    body = client.get("/api/v1/flows/balance", params={"period": "2025"}, headers=h).json()
    mine = {s["site"] for s in body["sites"]}
    assert mine and all(
        code.startswith(
            (
                "WL-CP-500156101",
                "WL-TS-101",
                "WL-MC-101",
                "WL-HH-500156101",
                "WL-CF-500156101",
                "WL-LF-500156101",
            )
        )
        for code in mine
    )
    assert all(a["site"] in mine for a in body["anomalies"])
    geo = client.get("/api/v1/sites.geojson", params={"period": "2025"}, headers=h).json()
    assert {f["properties"]["code"] for f in geo["features"]} <= mine | {
        s["code"]
        for s in client.get(
            "/api/v1/sites", params={"region": "500156101", "limit": 500}, headers=h
        ).json()["items"]
    }


def test_every_demo_receipt_names_a_route_its_material_may_take_at_a_site_that_operates_it(
    demo: sa.Engine,
) -> None:
    from wasteflow.models import Material, SiteRoute, TreatmentRoute

    with Session(demo) as session:
        materials = session.execute(sa.select(Material)).scalars()
        allowed = {m.id: set(m.attributes["routes"]) for m in materials}
        route = dict(session.execute(sa.select(TreatmentRoute.id, TreatmentRoute.code)).all())
        operated = set(session.execute(sa.select(SiteRoute.site_id, SiteRoute.route_id)).all())
        used = session.execute(
            sa.select(Handover.to_site_id, Handover.material_id, Handover.route_id)
            .where(Handover.route_id.is_not(None))  # type: ignore[union-attr]
            .distinct()
        ).all()
    assert len(used) > 50
    for site_id, material_id, route_id in used:
        assert route[route_id] in allowed[material_id], (site_id, material_id, route[route_id])
        assert (site_id, route_id) in operated, (site_id, route[route_id])


def test_construction_waste_flows_apart_from_bulk_industrial_waste(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api

    def sankey(material: str) -> dict:  # type: ignore[type-arg]
        r = client.get(
            "/api/v1/flows/sankey", params={"period": "2025", "material": material}, headers=h
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    construction = [n["label"] for n in sankey("construction")["nodes"]]
    industrial = [n["label"] for n in sankey("industrial")["nodes"]]
    assert "建材利用" in construction and "建材利用" in industrial
    # The demo's building sites are in 芙蓉 and 仙女山, where no factory is: their townships
    # send construction waste only, so they are no source of bulk industrial waste.
    sources = {label for label in construction if label.endswith("产生源")}
    assert sources == {"芙蓉街道 产生源", "仙女山街道 产生源"}
    assert not sources & set(industrial)
