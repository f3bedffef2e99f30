"""The site upload's template: an XLSX with the 站点 sheet's Chinese headers (and, when
asked, the sites of a region in them, to edit and upload back) and a 说明 sheet saying what
each column holds, with the kinds, materials and treatment routes by name and code."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.models import (
    Account,
    CollectionRound,
    Material,
    Organisation,
    Region,
    TreatmentRoute,
)
from wasteflow.permissions import Action, require
from wasteflow.services.site_admin import find_sites
from wasteflow.services.site_upload import COLUMNS, KIND_NAMES, SHEET, Names, norm


def _label(table: dict[str, set[str]], code: str | None, name: str | None) -> str | None:
    """A record's name when it reads back as that record alone, else its code."""
    if code is None:
        return None
    return name if name and table.get(norm(name)) == {code} else code


def site_rows(session: Session, actor: Account, region_code: str | None) -> Iterator[list[Any]]:
    """The sites (of a region) in the template's columns, named as a person writes them
    where the name is unambiguous, so the file can be edited and uploaded back."""
    names = Names(session)
    region_names = _display_names(session, Region, "name_zh")
    org_names = _display_names(session, Organisation, "name")
    round_names = _display_names(session, CollectionRound, "name")
    material_names = _display_names(session, Material, "name_zh")
    route_names = _display_names(session, TreatmentRoute, "name_zh")
    offset = 0
    while True:
        page = find_sites(
            session=session, actor=actor, region_code=region_code, limit=500, offset=offset
        )
        for s in page.items:
            yield [
                s.code, s.name, s.name_en, KIND_NAMES[s.kind][0],
                _label(names.regions, s.region_code, region_names.get(s.region_code)),
                _label(names.organisations, s.organisation_code,
                       org_names.get(s.organisation_code or "")),
                s.lat, s.lon, s.address, s.capacity_kg,
                "、".join(_label(names.materials, m, material_names.get(m)) or m
                         for m in s.materials),
                "、".join(_label(names.routes, r, route_names.get(r)) or r for r in s.routes),
                _label(names.rounds, s.round_code, round_names.get(s.round_code or "")),
            ]  # fmt: skip
        offset += 500
        if offset >= page.total:
            return


def _display_names(
    session: Session,
    model: type[Region | Organisation | CollectionRound | Material | TreatmentRoute],
    field: str,
) -> dict[str, str]:
    return dict(session.execute(sa.select(col(model.code), getattr(model, field))).all())


def template_xlsx(
    session: Session, actor: Account, *, region_code: str | None = None, with_sites: bool = False
) -> bytes:
    """The upload template: the 站点 sheet (headers, and the sites of a region when asked)
    and a 说明 sheet saying what each column holds, with the kinds, materials and routes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    require(actor.role, Action.manage_sites)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append([c.zh for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    if with_sites:
        for row in site_rows(session, actor, region_code):
            # A name typed as "=…" stays text: openpyxl would store it as a formula.
            sheet.append([f"'{v}" if isinstance(v, str) and v.startswith("=") else v for v in row])
    widths = (16, 24, 20, 10, 22, 24, 10, 10, 24, 12, 30, 20, 24)
    for letter, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("说明")
    notes.append(["列名", "column", "填写说明", "how to fill it"])
    for c in COLUMNS:
        notes.append([c.zh, c.en, c.hint_zh, c.hint_en])
    notes.append([])
    notes.append(["站点类型", "kind"])
    for zh, en in KIND_NAMES.values():
        notes.append([zh, en])
    notes.append([])
    notes.append(["接收物料（名称）", "material", "编码", "code"])
    for code, zh, en in session.execute(
        sa.select(col(Material.code), col(Material.name_zh), col(Material.name_en)).order_by(
            col(Material.sort_order)
        )
    ):
        notes.append([zh, en, code])
    notes.append([])
    notes.append(["处理方式（名称）", "treatment route", "编码", "code"])
    for code, zh, en in session.execute(
        sa.select(
            col(TreatmentRoute.code), col(TreatmentRoute.name_zh), col(TreatmentRoute.name_en)
        ).order_by(col(TreatmentRoute.code))
    ):
        notes.append([zh, en, code])
    for letter, width in zip("ABCD", (20, 24, 60, 60), strict=True):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
