"""Importing history: an admin's ledger of past handovers or declarations, checked whole by
the same rules as a scan, a receipt or a declaration, then written in one transaction.

Handover rows pass :func:`rules.check_load` (sites, the material the receiving site accepts,
plausibility caps, units, never in the future; the 30-day lateness rule alone does not apply
to history) and, with a receipt, :func:`receipts.receipt_values` (received ≥ refused, a
reason for a refusal, a route the material may take and the plant runs). Reference data is
read once per upload and every row is checked in memory. Rows are written through the bulk
path (:func:`imports.import_handovers`: totals, one sealed audit event per row); declaration
rows through the declarations service's own build and insert.

Each written row is an ``import_row`` under its row key (the 行键 column, else a digest of the
row's content), so the same row uploaded again adds nothing; each upload an ``import_batch``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticError
from sqlmodel import Session, col

from wasteflow.bulk import bulk_insert
from wasteflow.codes import random_handover_code
from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import (
    Conflict,
    Invalid,
    WasteflowError,
    describe_validation_errors,
)
from wasteflow.models import Account, Handover, ImportBatch, ImportRow, Site
from wasteflow.permissions import Action, require
from wasteflow.schemas import Code, KgIn, KgInZero, Latitude, Longitude, ReceiptCreate, Strict
from wasteflow.schemas_declarations import DeclarationCreate
from wasteflow.services import cache, declarations
from wasteflow.services.audit import record_event
from wasteflow.services.handovers.receipts import all_operated_routes, receipt_values
from wasteflow.services.handovers.rules import _Lookups, _Validated, check_load
from wasteflow.services.idempotency import digest as body_digest
from wasteflow.services.imports import import_handovers
from wasteflow.services.ledger_files import (
    KIND_ZH,
    MASS_BASIS_ZH,
    MASS_METHOD_ZH,
    STRAW_USE_BY_ZH,
    Sheet,
    column_label,
    read_ledger,
)
from wasteflow.types import Channel, HandoverStatus, MassMethod, utcnow

MAX_PROBLEMS = 1000  # problems listed in a report; the count says how many there were
RowKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class LedgerHandover(Strict):
    """One handover row of a ledger, typed as a scan's body is (same kg, code and position
    types); the sending site is named by its code instead of a scanned plaque."""

    row_key: RowKey | None = None
    device_time: AwareDatetime
    from_site: Code
    to_site: Code
    material: Annotated[str, StringConstraints(max_length=48)]
    declared_mass_kg: KgIn
    units: Annotated[int, Field(ge=1, le=100_000)] | None = None
    mass_method: MassMethod
    lat: Latitude | None = None
    lon: Longitude | None = None
    received_mass_kg: KgIn | None = None
    refused_mass_kg: KgInZero | None = None
    refusal_reason: Annotated[str, StringConstraints(min_length=3, max_length=256)] | None = None
    route: Annotated[str, StringConstraints(max_length=32)] | None = None
    received_units: Annotated[int, Field(ge=0, le=100_000)] | None = None

    @property
    def returns(self) -> None:
        return None  # a ledger does not send refused mass back


_RECEIPT_COLUMNS = ("refused_mass_kg", "refusal_reason", "route", "received_units")


class Problem(BaseModel):
    row: int = Field(description="the row's number in the file (the header is row 1)")
    column: str = Field(description="the column's header, e.g. 物料")
    field: str = Field(description="the column's English name, e.g. material")
    why: str


class ImportBatchPublic(BaseModel):
    id: int
    kind: str
    file_name: str
    sha256: str
    uploaded_by: str
    at: datetime
    rows: int
    added: int
    already: int
    refused: int


class ImportReport(BaseModel):
    kind: str
    file_name: str
    sha256: str
    dry_run: bool
    written: bool = Field(description="whether this upload wrote anything (or a batch)")
    rows: int = Field(description="data rows in the file")
    clean: int = Field(description="rows that pass every rule and were not imported before")
    already: int = Field(description="rows an earlier upload already imported")
    added: int
    refused: int = Field(description="rows with at least one problem")
    problems: list[Problem]
    more_problems: int = Field(0, description="problems beyond those listed")
    batch: ImportBatchPublic | None = None


@dataclass
class _Checked:
    """What checking a ledger found: clean rows ready to write, problems, rows seen before."""

    clean: list[tuple[str, Any]] = field(default_factory=list)  # (row key, prepared row)
    problems: list[Problem] = field(default_factory=list)
    refused_rows: set[int] = field(default_factory=set)
    already: int = 0


def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def parse_time(text: str) -> datetime | str:
    """A ledger's time: ISO 8601 with an offset, local ``2025-03-14 09:30`` (also written
    ``2025/3/14 9:30``, as Chinese spreadsheets do), or a local date, counted at 12:00.
    Anything else is returned as it is, for the model to refuse naming the column."""
    spelt = text.replace("/", "-")
    value = None
    try:
        value = datetime.fromisoformat(spelt)
    except ValueError:
        for fmt in _LOCAL_FORMATS:
            try:
                value = datetime.strptime(spelt, fmt)
                break
            except ValueError:
                continue
    if value is None:
        return text
    if ":" not in spelt:
        value = datetime.combine(value.date(), time(12, 0))
    return value if value.tzinfo else value.replace(tzinfo=_tz())


def _problem(out: _Checked, kind: str, number: int, name: str, why: str) -> None:
    out.refused_rows.add(number)
    out.problems.append(Problem(row=number, column=column_label(kind, name), field=name, why=why))


def _from_error(out: _Checked, kind: str, number: int, exc: WasteflowError, default: str) -> None:
    name = exc.field or default
    name = "from_site" if name == "source_plaque" else name
    why = exc.detail.split(": ", 1)[1] if exc.detail.startswith(f"{exc.field}: ") else exc.detail
    _problem(out, kind, number, name, why)


def _from_pydantic(out: _Checked, kind: str, number: int, exc: PydanticError) -> None:
    _, items = describe_validation_errors(exc.errors())
    for item in items:
        _problem(out, kind, number, item["field"] or "row", item["reason"])


def row_digest(values: dict[str, Any]) -> str:
    """A row's key when the ledger gives none: the SHA-256 of its checked content."""
    return body_digest(values)


# --- handovers -----------------------------------------------------------------------------


def example_handover(session: Session) -> dict[str, str]:
    """An example row made of this database's sites: a source, a site accepting one of its
    materials, that material's Chinese name and a mass below its cap."""
    materials = {m.id: m for m in cache.materials(session).values()}

    def first(where: Any, n: int) -> list[str]:
        stmt = sa.select(col(Site.code)).where(col(Site.active), where)
        return list(session.execute(stmt.order_by(col(Site.code)).limit(n)).scalars())

    sources = first(col(Site.kind) == "source", 1)
    receivers = cache.sites(session, first(col(Site.kind) != "source", 200)).values()
    for to in sorted(receivers, key=lambda r: r.code):
        for mid in sorted(to.accepts):
            m = materials.get(mid)
            if m is not None and not m.counts_units and sources:
                return {
                    "from_site": sources[0],
                    "to_site": to.code,
                    "material": m.name_zh,
                    "declared_mass_kg": f"{min(100.0, m.max_handover_kg / 2):g}",
                }
    return {}


def _names_to_codes(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    mats = cache.materials(session)
    routes = cache.routes(session)
    by_material = {m.code: m.code for m in mats.values()} | {
        m.name_zh: m.code for m in mats.values()
    }
    by_route = {r.code: r.code for r in routes.values()} | {
        r.name_zh: r.code for r in routes.values()
    }
    return by_material, by_route


def _prepare_handover(
    values: dict[str, str], mats: dict[str, str], routes: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = dict(values)
    if "material" in out:
        out["material"] = mats.get(out["material"], out["material"])
    if "route" in out:
        out["route"] = routes.get(out["route"], out["route"])
    if "mass_method" in out:
        out["mass_method"] = MASS_METHOD_ZH.get(out["mass_method"], out["mass_method"])
    if "device_time" in out:
        out["device_time"] = parse_time(out["device_time"])
    return out


def _check_handovers(session: Session, account: Account, sheet: Sheet) -> _Checked:
    kind = "handovers"
    out = _Checked()
    mats, routes = _names_to_codes(session)
    look = _Lookups(session, account)
    codes = {v.get(k) for _, v in sheet.rows for k in ("from_site", "to_site")}
    look.sites([c for c in codes if c])
    operated = all_operated_routes(session)
    keys: dict[str, int] = {}
    for number, values in sheet.rows:
        try:
            row = LedgerHandover.model_validate(_prepare_handover(values, mats, routes))
        except PydanticError as exc:
            _from_pydantic(out, kind, number, exc)
            continue
        from_site = look.site(row.from_site)
        if from_site is None:
            _problem(out, kind, number, "from_site", f"no site with code {row.from_site}")
            continue
        try:
            v = check_load(look, from_site, row, late_ok=True, from_field="from_site")
            receipt = _receipt(session, row, v, operated)
        except WasteflowError as exc:
            if exc.field == "device_time":  # a ledger's time is a date, not a phone's clock
                when = row.device_time.astimezone(_tz()).strftime("%Y-%m-%d %H:%M")
                _problem(out, kind, number, "device_time", f"{when} is in the future")
            else:
                _from_error(out, kind, number, exc, "row")
            continue
        content = row.model_dump(mode="json", exclude={"row_key"})
        key = row.row_key or row_digest(content)
        if key in keys:
            _problem(
                out, kind, number, "row_key",
                f"the same row as row {keys[key]} (same 行键, or the same content without one)",
            )  # fmt: skip
            continue
        keys[key] = number
        out.clean.append((key, (v, receipt, row_digest(content))))
    _drop_imported(session, kind, out)
    return out


def _receipt(
    session: Session, row: LedgerHandover, v: _Validated, operated: dict[int, list[str]]
) -> dict[str, Any] | None:
    if row.received_mass_kg is None:
        given = [c for c in _RECEIPT_COLUMNS if getattr(row, c) is not None]
        if given:
            raise Invalid(
                f"received_mass_kg: {column_label('handovers', given[0])} is given but not the "
                "received mass; give 实收重量 too, or leave the receipt columns empty",
                field="received_mass_kg",
            )
        return None
    data = ReceiptCreate(
        received_mass_kg=row.received_mass_kg,
        refused_mass_kg=row.refused_mass_kg or Decimal(0),
        refusal_reason=row.refusal_reason,
        route=row.route,
        received_units=row.received_units,
    )
    return receipt_values(
        session,
        v.row["declared_mass_g"],
        v.row["declared_units"],
        v.to_site,
        v.material,
        data,
        lambda: operated.get(v.to_site.id, []),
    )


def _drop_imported(session: Session, kind: str, out: _Checked) -> None:
    """Take out the clean rows an earlier upload already imported."""
    keys = [k for k, _ in out.clean]
    seen: set[str] = set()
    for i in range(0, len(keys), 500):
        seen.update(
            session.execute(
                sa.select(col(ImportRow.row_key)).where(
                    col(ImportRow.kind) == kind, col(ImportRow.row_key).in_(keys[i : i + 500])
                )
            ).scalars()
        )
    out.already = len(seen)
    out.clean = [(k, p) for k, p in out.clean if k not in seen]


def _fresh_codes(session: Session, days: list[date]) -> list[str]:
    """A new handover code per row, none taken by another row or an existing handover."""
    codes = [random_handover_code(d) for d in days]
    for _ in range(8):
        taken: set[str] = set()
        for i in range(0, len(codes), 500):
            taken.update(
                session.execute(
                    sa.select(col(Handover.code)).where(col(Handover.code).in_(codes[i : i + 500]))
                ).scalars()
            )
        seen: set[str] = set()
        clash = False
        for i, c in enumerate(codes):
            if c in taken or c in seen:
                codes[i] = random_handover_code(days[i])
                clash = True
            seen.add(codes[i])
        if not clash:
            return codes
    raise Conflict("could not draw unique handover codes; upload the file again")


def _write_handovers(
    session: Session, account: Account, batch_id: int, clean: list[tuple[str, Any]]
) -> list[dict[str, str | int]]:
    now = utcnow()
    codes = _fresh_codes(session, [p[0].row["day"] for _, p in clean])
    rows = []
    links: list[dict[str, str | int]] = []
    for (key, (v, receipt, content_hash)), code in zip(clean, codes, strict=True):
        r = v.row | {
            "code": code,
            "idempotency_key": "import:" + hashlib.sha256(key.encode()).hexdigest()[:48],
            "request_hash": content_hash,
            "channel": Channel.import_,
            "recorded_at": now,
            "recorded_by_id": account.id,
            "status": HandoverStatus.in_transit,
            "received_mass_g": None,
            "refused_mass_g": None,
            "accepted_mass_g": None,
            "received_units": None,
            "refusal_reason": None,
            "route_id": None,
            "flag_discrepancy": False,
            "received_at": None,
            "received_by_id": None,
        }
        if receipt is not None:
            r |= receipt | {"received_at": v.row["device_time"], "received_by_id": account.id}
        rows.append(r)
        links.append({"kind": "handovers", "row_key": key, "batch_id": batch_id, "record": code})
    import_handovers(session, rows, account_id=account.id, label="import", batch_id=batch_id)
    return links


# --- declarations --------------------------------------------------------------------------

_DECLARATION = TypeAdapter(DeclarationCreate)


def _prepare_declaration(values: dict[str, str], mats: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in values.items() if k != "row_key"}
    if "kind" in out:
        out["kind"] = KIND_ZH.get(out["kind"], out["kind"])
    if "material" in out:
        out["material"] = mats.get(out["material"], out["material"])
    if "use" in out:
        out["use"] = STRAW_USE_BY_ZH.get(out["use"], out["use"])
    if "mass_basis" in out:
        out["mass_basis"] = MASS_BASIS_ZH.get(out["mass_basis"], out["mass_basis"])
    return out


def _check_declarations(session: Session, account: Account, sheet: Sheet) -> _Checked:
    kind = "declarations"
    out = _Checked()
    mats, _ = _names_to_codes(session)
    keys: dict[str, int] = {}
    identities: dict[str, int] = {}
    for number, values in sheet.rows:
        try:
            data = _DECLARATION.validate_python(_prepare_declaration(values, mats))
        except PydanticError as exc:
            _from_pydantic(out, kind, number, exc)
            continue
        try:
            built = declarations.build_declaration(session, account, data)
        except WasteflowError as exc:
            _from_error(out, kind, number, exc, "row")
            continue
        content = data.model_dump(mode="json")
        key = values.get("row_key") or row_digest(content)
        if key in keys:
            _problem(out, kind, number, "row_key", f"the same row as row {keys[key]}")
            continue
        keys[key] = number
        assert built.identity is not None
        if built.identity in identities:
            _problem(
                out, kind, number, "kind",
                f"declares the same thing as row {identities[built.identity]} (same kind, "
                "region, site, material and period)",
            )  # fmt: skip
            continue
        identities[built.identity] = number
        out.clean.append((key, (data, number, built)))
    _drop_imported(session, kind, out)
    # An active declaration of the same thing recorded some other way is a problem of its row.
    kept = []
    for key, (_data, number, built) in out.clean:
        existing = declarations.active_with(session, built.identity)
        if existing is not None:
            _problem(
                out, kind, number, "kind",
                f"declaration {existing} already declares this; correct it instead "
                f"(POST /api/v1/declarations/{existing}/correct)",
            )  # fmt: skip
            continue
        kept.append((key, built))
    out.clean = kept
    return out


def _write_declarations(
    session: Session, account: Account, batch_id: int, clean: list[tuple[str, Any]]
) -> list[dict[str, str | int]]:
    links: list[dict[str, str | int]] = []
    for key, built in clean:
        public = declarations.insert_declaration(
            session, account, built,
            via={"channel": Channel.import_.value, "import_batch": batch_id},
        )  # fmt: skip
        links.append(
            {"kind": "declarations", "row_key": key, "batch_id": batch_id, "record": str(public.id)}
        )
    return links


# --- the upload ------------------------------------------------------------------------------

_CHECKS: dict[str, Callable[[Session, Account, Sheet], _Checked]] = {
    "handovers": _check_handovers,
    "declarations": _check_declarations,
}
_WRITES = {"handovers": _write_handovers, "declarations": _write_declarations}


def import_ledger(
    *,
    session: Session,
    account: Account,
    kind: str,
    file_name: str,
    content: bytes,
    dry_run: bool = False,
    accept_clean_rows: bool = False,
) -> ImportReport:
    """Check an uploaded ledger whole and, unless ``dry_run``, write it in one transaction.

    A file with any problem writes nothing (422 with the report) unless ``accept_clean_rows``,
    which writes the clean rows and reports the others. Rows imported before are counted as
    ``already`` and not written again.
    """
    require(account.role, Action.import_history)
    assert account.id is not None  # an authenticated account is a stored row
    sheet = read_ledger(kind, file_name, content)
    checked = _CHECKS[kind](session, account, sheet)
    checked.problems.sort(key=lambda p: p.row)
    report = ImportReport(
        kind=kind,
        file_name=file_name,
        sha256=hashlib.sha256(content).hexdigest(),
        dry_run=dry_run,
        written=False,
        rows=len(sheet.rows),
        clean=len(checked.clean),
        already=checked.already,
        added=0,
        refused=len(checked.refused_rows),
        problems=checked.problems[:MAX_PROBLEMS],
        more_problems=max(0, len(checked.problems) - MAX_PROBLEMS),
    )
    if dry_run or (checked.problems and not accept_clean_rows):
        return report
    with unit_of_work(session):
        batch = ImportBatch(
            kind=kind,
            file_name=file_name[:256],
            sha256=report.sha256,
            account_id=account.id,
            rows=report.rows,
            added=len(checked.clean),
            already=report.already,
            refused=report.refused,
        )
        session.add(batch)
        session.flush()
        assert batch.id is not None
        links = _WRITES[kind](session, account, batch.id, checked.clean) if checked.clean else []
        if links:
            bulk_insert(session.connection(), ImportRow.__table__, links)  # type: ignore[attr-defined]
            _refresh_statistics(session, kind, len(links))
        record_event(
            session,
            account_id=account.id,
            action="import.batch",
            entity="import_batch",
            entity_id=batch.id,
            after=batch.model_dump(mode="json", exclude={"id"}),
        )
        report.added = len(links)
        report.written = True
        report.batch = batch_public(batch, account.username)
    return report


ANALYZE_AFTER = 1000


def _refresh_statistics(session: Session, kind: str, rows: int) -> None:
    """After a large import, PostgreSQL's planner still believes the tables as small as at its
    last ANALYZE and looks the next upload's row keys up by scanning the whole table (measured:
    20,000 keys uploaded again took 45 s instead of 1). Analysing them in the same transaction
    keeps the lookups on their indexes; SQLite plans by its indexes anyway."""
    if rows < ANALYZE_AFTER or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(sa.text("ANALYZE import_row"))
    if kind == "handovers":
        session.execute(sa.text("ANALYZE handover"))


def batch_public(batch: ImportBatch, username: str) -> ImportBatchPublic:
    assert batch.id is not None
    return ImportBatchPublic(
        id=batch.id,
        kind=batch.kind,
        file_name=batch.file_name,
        sha256=batch.sha256,
        uploaded_by=username,
        at=batch.at,
        rows=batch.rows,
        added=batch.added,
        already=batch.already,
        refused=batch.refused,
    )
