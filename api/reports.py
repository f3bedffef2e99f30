"""The rates report as a download, for the API and the dashboard alike.

``xlsx`` is the 报表 (:mod:`wasteflow.report_xlsx`): townships across indicators, with its
title block and notes, named in the reader's language. ``csv``, and ``xlsx`` with
``layout=records``, are the report as data: one row per region × indicator
(:mod:`wasteflow.exports`), for programs and for anyone who pivots it themselves.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from sqlmodel import Session

from api.responses import attachment
from api.web.i18n import Translator
from wasteflow import exports, report_xlsx
from wasteflow.config import get_settings
from wasteflow.models import Account
from wasteflow.rates import INDICATORS
from wasteflow.services import (
    accounts,
    applicability,
    catalogue,
    comparisons,
    health,
    rates,
)
from wasteflow.types import RegionLevel

Layout = Literal["report", "records"]


def report_download(
    *,
    session: Session,
    account: Account,
    period: str,
    region: str | None,
    fmt: Literal["csv", "xlsx"],
    lang: str,
    layout: Layout = "report",
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """The report for ``period`` as a file: the 报表 (xlsx) or the data (csv, or xlsx with
    ``layout=records``)."""
    data = rates.report(session=session, account=account, period=period, region=region)
    headers = extra_headers or {}
    if fmt == "csv" or layout == "records":
        content, media, name = exports.report_file(data, fmt, lang)
        return Response(content, media_type=media, headers=attachment(name) | headers)
    t = Translator(lang)
    compared = comparisons.comparison(
        session=session, account=account, period=period, region=region
    )
    heading = report_xlsx.ReportHeading(
        lang=lang,
        title=report_title(data, t),
        period_start=_day(data["period"]["start"], lang),
        period_end=_day(data["period"]["end"], lang),
        made_by=accounts.organisation_name(session=session, account=account)
        or _district_name(session, t),
        made_on=_day(datetime.now(ZoneInfo(get_settings().timezone)).date(), lang),
        notes=report_notes(data, t, health.dataset(session), compared),
        mom_kind="QoQ" if "Q" in data["period"]["label"] else "MoM",
        not_applicable=frozenset(
            applicability.not_applicable_cells(session, data["period"]["label"], data["rows"])
        ),
    )
    ascii_name = f"wasteflow-report-{data['region']['code']}-{data['period']['label']}.xlsx"
    name = ascii_name
    if lang == "zh":
        name = f"{t.name(data['region'])}{t.period(data['period']['label'])}资源化利用情况报表.xlsx"
    return Response(
        report_xlsx.report_workbook(data, heading, compared),
        media_type=exports.XLSX_MEDIA,
        headers=attachment(name, None if name == ascii_name else ascii_name) | headers,
    )


def report_title(data: dict[str, Any], t: Translator) -> str:
    """``武隆区 2025年 资源化利用情况报表``."""
    region, period = t.name(data["region"]), t.period(data["period"]["label"])
    if t.lang == "zh":
        return f"{region} {period} 资源化利用情况报表"
    return f"{region}: resource utilisation report, {period}"


def report_notes(
    data: dict[str, Any],
    t: Translator,
    dataset: dict[str, Any] | None = None,
    compared: dict[str, Any] | None = None,
) -> list[str]:
    """What the figures rest on, under the table: each indicator's basis (estimates,
    proportional sharing, unverified or placeholder coefficients, a target carried forward),
    the meaning of the data check, how ranks and changes are read, and that demo data is
    invented."""
    zh = t.lang == "zh"
    notes = [
        "比率按各指标的官方公式计算（利用量 ÷ 产生量等，见“利用量与产生量”工作表）；"
        "目标为规划目标。"
        if zh
        else "Rates follow each indicator's official formula (the quantities are on the "
        "'quantities' sheet); targets are the plan's.",
        "“超过100%，请核查数据”：比率超过100%，说明记录或申报有误（如回收量大于使用量），"
        "不作达标认定，请核查后再上报。"
        if zh
        else "'over 100 %: check the data': a rate above 100 % means the records or "
        "declarations are wrong (more recovered than used); it is not counted as met. Check it "
        "before sending the report on.",
    ]
    if compared is not None:
        notes.append(_compare_note(compared, t))
    top = data["rows"][0]
    for key in (i["key"] for i in data["indicators"]):
        said = t.basis(top["figures"][key])
        if said:
            name = t.name(INDICATORS[key])
            notes.append(f"【{name}】{'；'.join(said)}。" if zh else f"{name}: {'; '.join(said)}.")
    if dataset and dataset.get("synthetic"):
        notes.append(
            "本表数据为合成演示数据，不是武隆区的真实记录。"
            if zh
            else "The figures are synthetic demo data, not real records of Wulong District."
        )
    return notes


def _compare_note(compared: dict[str, Any], t: Translator) -> str:
    """How the rank and the changes are read, and against which periods (as the townships
    page says it)."""
    before = compared["previous_period"]
    label = compared["period"]["label"]
    mom = ""
    if before is not None:
        kind = t("townships.qoq" if "Q" in label else "townships.mom")
        mom = t("townships.compare_mom", kind=kind, period=t.period(before["label"]))
    said = t("townships.compare_note", yoy=t.period(compared["previous_year"]["label"]), mom=mom)
    space = "" if t.lang == "zh" else " "
    return f"{t('townships.rank_note')}{space}{said}"


def _district_name(session: Session, t: Translator) -> str:
    district = catalogue.list_regions(session=session, level=RegionLevel.district)
    return t.name(district[0]) if district else ""


def _day(day: date, lang: str) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day:%b} {day.year}"
