"""Comparisons for officials: each indicator of each township against the same period a year
before (同比) and the period just before (环比), with ranks (排名) among the townships.

Built from the rates reports of the periods involved (each computed once per version of the
data, see ``wasteflow.services.rates``), so a comparison shows exactly the figures the report
of each period shows.

Ranks are among the rows below the region (the townships of the district). Per indicator, by
rate (lower is better where the target is a ceiling, as for raw landfill); overall, by the
number of targets met. A rate above 100 % is bad data: it gets no rank and does not count as
a target met.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from wasteflow.permissions import Action, require
from wasteflow.rates import INDICATORS, parse_period
from wasteflow.rates.compare import (
    change,
    competition_ranks,
    over_full,
    preceding,
    previous_year,
)
from wasteflow.services import rates


def comparison(
    *, session: Session, account: Any, period: str, region: str | None = None
) -> dict[str, Any]:
    """Every indicator × every township for ``period`` with its year-on-year and
    period-on-period change, and ranks (see the module's text)."""
    require(account.role, Action.read_all_records)
    p = parse_period(period)
    now = rates.report(session=session, account=account, period=p.label, region=region)
    ly, before = previous_year(p), preceding(p)
    yoy = rates.report(session=session, account=account, period=ly.label, region=region)
    mom = (
        rates.report(session=session, account=account, period=before.label, region=region)
        if before
        else None
    )
    keys = [i["key"] for i in now["indicators"]]
    rows = now["rows"]
    ranks = {key: _ranks(rows[1:], key) for key in keys}
    met_counts = {r["region"]["code"]: _targets_met(r) for r in rows}
    overall = competition_ranks(
        {code: float(met) if set_ else None for code, (met, set_) in met_counts.items()}
    )
    overall[rows[0]["region"]["code"]] = None  # the region itself is not one of the ranked

    def earlier(report: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, Any]]:
        if report is None:
            return {}
        return {
            (r["region"]["code"], k): f for r in report["rows"] for k, f in r["figures"].items()
        }

    last_year, last_period = earlier(yoy), earlier(mom)
    out_rows = []
    for r in rows:
        code = r["region"]["code"]
        figures = {}
        for key in keys:
            f = r["figures"][key]
            figures[key] = {
                "rate": f["rate"],
                "numerator_kg": f["numerator_kg"],
                "denominator_kg": f["denominator_kg"],
                "status": f["status"],
                "met": f["met"],
                "target": None if f["target"] is None else f["target"]["value"],
                "over_100": over_full(f),
                "rank": ranks[key].get(code),
                "yoy": _change(key, f, last_year.get((code, key)), ly.label),
                "mom": _change(key, f, last_period.get((code, key)), before.label)
                if before
                else None,
            }
        met, set_ = met_counts[code]
        out_rows.append(
            {
                "region": r["region"],
                "rank": overall.get(code),
                "targets_met": met,
                "targets_with_data": set_,
                "figures": figures,
            }
        )
    return {
        "period": now["period"],
        "previous_year": yoy["period"],
        "previous_period": None if mom is None else mom["period"],
        "region": now["region"],
        "indicators": now["indicators"],
        "rows": out_rows,
    }


def _value(key: str, figure: dict[str, Any]) -> float | None:
    """What is compared: the rate, or the kg for an indicator without one."""
    return figure["rate"] if INDICATORS[key].has_rate else figure["numerator_kg"]


def _change(
    key: str, now: dict[str, Any], then: dict[str, Any] | None, label: str
) -> dict[str, Any]:
    before = None if then is None else _value(key, then)
    diff, relative = change(_value(key, now), before)
    return {
        "period": label,
        "rate": None if then is None else then["rate"],
        "numerator_kg": None if then is None else then["numerator_kg"],
        "change": diff,
        "relative": relative,
    }


def _ranks(rows: list[dict[str, Any]], key: str) -> dict[str, int | None]:
    if not INDICATORS[key].has_rate:
        return {}  # tonnes rank townships by size, not by performance
    target = next((r["figures"][key]["target"] for r in rows if r["figures"][key]["target"]), None)
    ceiling = target is not None and target["comparator"] == "<="
    values = {
        r["region"]["code"]: None if over_full(r["figures"][key]) else r["figures"][key]["rate"]
        for r in rows
    }
    return competition_ranks(values, higher_is_better=not ceiling)


def _targets_met(row: dict[str, Any]) -> tuple[int, int]:
    """Targets met (a rate over 100 % is not) and targets that had data to judge."""
    judged = [f for f in row["figures"].values() if f["met"] is not None]
    return sum(1 for f in judged if f["met"] and not over_full(f)), len(judged)
