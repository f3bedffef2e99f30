"""Admin pages for coefficient sets and targets: every set by year with each value's unit,
source and verified flag; next year's set made from the latest; a value edited (with its
source and verified flag) or added; targets per indicator and year, listed, edited, added."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.web.admin_forms import (
    FormState,
    Names,
    Posted,
    check_posted,
    done,
    form_context,
    or_none,
    refused,
    require_admin,
    text,
)
from api.web.core import DashboardRoute, Page, PageContext
from wasteflow.errors import Invalid, NotFound, WasteflowError
from wasteflow.rates import INDICATORS
from wasteflow.schemas_admin import (
    CoefficientCreate,
    CoefficientSetFromLatest,
    CoefficientSetPublic,
    CoefficientUpdate,
    TargetCreate,
    TargetPublic,
    TargetUpdate,
)
from wasteflow.services import reference_admin

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

COEFS = "/dashboard/admin/coefficients"
TARGETS = "/dashboard/admin/targets"
VALUE_FIELDS = ("value", "verified", "source", "note")
ADD_FIELDS = ("subject", "parameter", "value", "unit", "verified", "source", "note")
TARGET_FIELDS = (
    "indicator",
    "region_code",
    "year_from",
    "year_to",
    "comparator",
    "value",
    "source",
)


def _number(value: str) -> str:
    """A number as typed by a person: full-width digits and a decimal comma are fine."""
    return value.translate(str.maketrans("０１２３４５６７８９．，", "0123456789..")).strip()


def _percent(value: str) -> float | str:
    """A percentage typed on the form (92 or 92 %) as the fraction the API takes."""
    cleaned = _number(value).rstrip("%％").strip()
    try:
        return round(float(cleaned) / 100, 6)
    except ValueError:
        return value  # the model says it is not a number


# --- coefficients ---------------------------------------------------------------------------


def _coefficient_rows(names: Names, cset: CoefficientSetPublic) -> list[dict[str, Any]]:
    t = names.t
    return [
        {
            "subject": c.subject,
            "parameter": c.parameter,
            "name": t.coefficient(f"{c.subject}.{c.parameter}"),
            "value": c.value,
            "unit": t(f"cunit.{c.unit}") if t.has(f"cunit.{c.unit}") else c.unit,
            "verified": c.verified,
            "source": c.source,
            "own_source": c.own_source,
            "note": c.note,
        }
        for c in cset.coefficients
    ]


def _sets_page(
    ctx: PageContext, year: int | None, form: FormState, status_code: int = 200
) -> HTMLResponse:
    every = reference_admin.list_sets(session=ctx.session, actor=ctx.user)
    years = sorted({s.year for s in every}, reverse=True)
    shown = [s for s in every if year is None or s.year == year]
    names = Names(ctx)
    if "year" not in form.values:
        form.values["year"] = (max(years) + 1) if years else int(ctx.default_period)
    return ctx.render(
        "admin/coefficients.html",
        status_code=status_code,
        **form_context(ctx),
        sets=[(s, names.region(s.region_code), _coefficient_rows(names, s)) for s in shown],
        years=years,
        year=year,
        form=form,
    )


@router.get(COEFS)
def coefficient_sets(ctx: Page, year: int | None = None) -> HTMLResponse:
    """Every set (or one year's), each value with its unit, source and verified flag."""
    require_admin(ctx)
    return _sets_page(ctx, year, FormState())


@router.post(f"{COEFS}/new-year")
def new_year_set(ctx: Page, posted: Posted) -> Response:
    """Next year's set, copied from the set that year uses now."""
    key = check_posted(ctx, posted)
    year_text = _number(text(posted, "year"))
    form = FormState(values={"year": year_text})
    try:
        year = int(year_text)
        if not 2000 <= year <= 2100:
            raise ValueError
        created, _ = reference_admin.create_from_latest(
            session=ctx.session,
            actor=ctx.user,
            year=year,
            data=CoefficientSetFromLatest(),
            idempotency_key=key,
        )
    except ValueError:
        form.add("year", ctx.t("coefs.bad_year"), ("year",))
        return _sets_page(ctx, None, form, 422)
    except WasteflowError as exc:
        refused(form, exc, Names(ctx), ("year",))
        return _sets_page(ctx, None, form, exc.status_code)
    return done(COEFS, "set_created", year=created.year)


def _set(ctx: PageContext, code: str) -> CoefficientSetPublic:
    return reference_admin.read_set(session=ctx.session, actor=ctx.user, code=code)


def _said(ctx: PageContext, key: str) -> str:
    return ctx.t(key) if ctx.t.has(key) else ""


def _value_page(
    ctx: PageContext,
    cset: CoefficientSetPublic,
    form: FormState,
    subject: str | None,
    parameter: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    names = Names(ctx)
    known = {(c.subject, c.parameter): c for c in cset.coefficients}
    subjects = sorted({c.subject for c in cset.coefficients})
    parameters = sorted({c.parameter for c in cset.coefficients})
    units = sorted({c.unit for c in cset.coefficients})
    current = known.get((subject or "", parameter or ""))
    return ctx.render(
        "admin/coefficient_form.html",
        status_code=status_code,
        **form_context(ctx),
        form=form,
        cset=cset,
        region=names.region(cset.region_code),
        current=current,
        name=ctx.t.coefficient(f"{subject}.{parameter}") if current else None,
        subjects=[(s, _said(ctx, f"subject.{s}")) for s in subjects],
        parameters=[(p, _said(ctx, f"coef.{p}")) for p in parameters],
        units=[(u, _said(ctx, f"cunit.{u}")) for u in units],
    )


@router.get(f"{COEFS}/{{code}}/add")
def add_value_form(ctx: Page, code: str) -> HTMLResponse:
    require_admin(ctx)
    return _value_page(ctx, _set(ctx, code), FormState(values={"verified": False}), None, None)


@router.post(f"{COEFS}/{{code}}/add")
def add_value_submit(ctx: Page, code: str, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    cset = _set(ctx, code)
    values: dict[str, Any] = {k: text(posted, k) for k in ADD_FIELDS}
    values["verified"] = posted.get("verified") == "1"
    values["value"] = _number(values["value"])
    form = FormState(values=values, key=key or FormState().key)
    body = {k: v for k, v in values.items() if v != ""}
    try:
        data = CoefficientCreate.model_validate(body)
        reference_admin.add_value(
            session=ctx.session, actor=ctx.user, code=code, data=data, idempotency_key=key
        )
    except (ValidationError, WasteflowError) as exc:
        hints = {"subject": ctx.t("hint.identifier"), "parameter": ctx.t("hint.identifier")}
        refused(form, exc, Names(ctx), ADD_FIELDS, hints=hints)
        return _value_page(ctx, cset, form, None, None, 422)
    return done(COEFS, "value_added", year=cset.year)


@router.get(f"{COEFS}/{{code}}/{{subject}}/{{parameter}}")
def edit_value_form(ctx: Page, code: str, subject: str, parameter: str) -> HTMLResponse:
    require_admin(ctx)
    cset = _set(ctx, code)
    found = next(
        (c for c in cset.coefficients if (c.subject, c.parameter) == (subject, parameter)), None
    )
    if found is None:
        raise NotFound(f"{code} has no coefficient {subject}.{parameter}")
    values = found.model_dump() | {"source": found.source if found.own_source else ""}
    values["note"] = found.note or ""
    return _value_page(ctx, cset, FormState(values=values), subject, parameter)


@router.post(f"{COEFS}/{{code}}/{{subject}}/{{parameter}}")
def edit_value_submit(
    ctx: Page, code: str, subject: str, parameter: str, posted: Posted
) -> Response:
    """A new value is sent with its source and verified flag (the service asks for both);
    otherwise only what changed."""
    key = check_posted(ctx, posted)
    cset = _set(ctx, code)
    found = next(
        (c for c in cset.coefficients if (c.subject, c.parameter) == (subject, parameter)), None
    )
    if found is None:
        raise NotFound(f"{code} has no coefficient {subject}.{parameter}")
    values: dict[str, Any] = {k: text(posted, k) for k in ("value", "source", "note")}
    values["value"] = _number(values["value"])
    values["verified"] = posted.get("verified") == "1"
    form = FormState(values=values, key=key or FormState().key)
    own_source = found.source if found.own_source else ""
    body: dict[str, Any] = {}
    try:
        new_value = float(values["value"]) if values["value"] else None
    except ValueError:
        new_value = None
        body["value"] = values["value"]  # the model says it is not a number
    if new_value is not None and new_value != found.value:
        body |= {"value": new_value, "verified": values["verified"]}
        if values["source"]:
            body["source"] = values["source"]
    if not values["value"]:
        form.add("value", ctx.t("err.required"), VALUE_FIELDS)
        return _value_page(ctx, cset, form, subject, parameter, 422)
    if values["verified"] != found.verified:
        body["verified"] = values["verified"]
    if values["source"] and values["source"] != own_source:
        body["source"] = values["source"]
    if values["note"] != (found.note or ""):
        body["note"] = or_none(values["note"])
    try:
        reference_admin.update_value(
            session=ctx.session,
            actor=ctx.user,
            code=code,
            subject=subject,
            parameter=parameter,
            data=CoefficientUpdate.model_validate(body),
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, Names(ctx), VALUE_FIELDS)
        return _value_page(ctx, cset, form, subject, parameter, 422)
    return done(COEFS, "saved" if body else "unchanged", year=cset.year)


# --- targets -------------------------------------------------------------------------------


def _target_rows(names: Names, listed: list[TargetPublic]) -> list[dict[str, Any]]:
    return [
        {
            "target": tg,
            "indicator": names.indicator(tg.indicator),
            "region": names.region(tg.region_code),
            "text": ("≥" if tg.comparator == ">=" else "≤") + f" {tg.value * 100:g} %",
        }
        for tg in sorted(listed, key=lambda x: (list(INDICATORS).index(x.indicator)
                                                 if x.indicator in INDICATORS else 99,
                                                 x.region_code, x.year_from))
    ]  # fmt: skip


def _rate_indicators(ctx: PageContext) -> list[tuple[str, str]]:
    return [(k, ctx.t.name(d)) for k, d in INDICATORS.items() if d.has_rate]


@router.get(TARGETS)
def target_list(ctx: Page, year: int | None = None) -> HTMLResponse:
    """Every target; for a year, the one that applies to each indicator (a plan's target
    carried past its last year says so)."""
    require_admin(ctx)
    if year is not None and not 2000 <= year <= 2100:
        raise Invalid("year: between 2000 and 2100", field="year")
    listed = reference_admin.list_targets(session=ctx.session, actor=ctx.user, year=year)
    names = Names(ctx)
    now = int(ctx.default_period)
    return ctx.render(
        "admin/targets.html",
        **form_context(ctx),
        rows=_target_rows(names, listed),
        year=year,
        years=list(range(now + 2, now - 5, -1)),
    )


def _target_page(
    ctx: PageContext,
    form: FormState,
    target: TargetPublic | None,
    status_code: int = 200,
) -> HTMLResponse:
    names = Names(ctx)
    return ctx.render(
        "admin/target_form.html",
        status_code=status_code,
        **form_context(ctx),
        form=form,
        target=target,
        indicator=names.indicator(target.indicator) if target else None,
        region=names.region(target.region_code) if target else None,
        indicators=_rate_indicators(ctx),
        townships=[r for r in names.regions.values() if r.level.value in ("district", "township")],
    )


def _target(ctx: PageContext, target_id: int) -> TargetPublic:
    listed = reference_admin.list_targets(session=ctx.session, actor=ctx.user)
    found = next((tg for tg in listed if tg.id == target_id), None)
    if found is None:
        raise NotFound(f"no target {target_id}")
    return found


@router.get(f"{TARGETS}/new")
def new_target_form(ctx: Page, indicator: str = "") -> HTMLResponse:
    require_admin(ctx)
    start = int(ctx.default_period) + 1
    values = {"indicator": indicator, "year_from": start, "year_to": start + 4}
    return _target_page(ctx, FormState(values=values | {"comparator": ">="}), None)


@router.post(f"{TARGETS}/new")
def new_target_submit(ctx: Page, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    values: dict[str, Any] = {k: text(posted, k) for k in TARGET_FIELDS}
    form = FormState(values=values, key=key or FormState().key)
    body: dict[str, Any] = {k: _number(v) for k, v in values.items() if v}
    body |= {k: values[k] for k in ("indicator", "region_code", "source", "comparator")
             if values[k]}  # fmt: skip
    if values["value"]:
        body["value"] = _percent(values["value"])
    try:
        data = TargetCreate.model_validate(body)
        reference_admin.create_target(
            session=ctx.session, actor=ctx.user, data=data, idempotency_key=key
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, Names(ctx), TARGET_FIELDS)
        return _target_page(ctx, form, None, 422)
    return done(TARGETS, "created")


@router.get(f"{TARGETS}/{{target_id}}")
def edit_target_form(ctx: Page, target_id: int) -> HTMLResponse:
    require_admin(ctx)
    found = _target(ctx, target_id)
    values = found.model_dump() | {"value": f"{found.value * 100:g}"}
    return _target_page(ctx, FormState(values=values), found)


@router.post(f"{TARGETS}/{{target_id}}")
def edit_target_submit(ctx: Page, target_id: int, posted: Posted) -> Response:
    key = check_posted(ctx, posted)
    found = _target(ctx, target_id)
    values: dict[str, Any] = {k: text(posted, k) for k in ("year_to", "comparator", "value")}
    values["source"] = text(posted, "source")
    form = FormState(values=found.model_dump() | values, key=key or FormState().key)
    for required in ("year_to", "value", "source"):
        if not values[required]:
            form.add(required, ctx.t("err.required"), TARGET_FIELDS)
    if form.failed:
        return _target_page(ctx, form, found, 422)
    wanted: dict[str, Any] = {
        "year_to": _number(values["year_to"]),
        "comparator": values["comparator"],
        "value": _percent(values["value"]),
        "source": values["source"],
    }
    now = found.model_dump()
    changed = {k: v for k, v in wanted.items() if str(v) != str(now[k])}
    try:
        reference_admin.update_target(
            session=ctx.session,
            actor=ctx.user,
            target_id=target_id,
            data=TargetUpdate.model_validate(changed),
            idempotency_key=key,
        )
    except (ValidationError, WasteflowError) as exc:
        refused(form, exc, Names(ctx), TARGET_FIELDS)
        return _target_page(ctx, form, found, 422)
    return done(TARGETS, "saved" if changed else "unchanged")
