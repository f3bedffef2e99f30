"""The receiving site's side: confirming a load's intake (by reference or scanned manifest) and
correcting a confirmed receipt by a new record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.errors import Conflict, Forbidden, Invalid
from wasteflow.models import Account, Handover, Material, Site, SiteRoute, TreatmentRoute
from wasteflow.permissions import Action, require
from wasteflow.schemas import HandoverPublic, ReceiptCorrection, ReceiptCreate
from wasteflow.services import keys
from wasteflow.services.audit import record_event, record_events, seal
from wasteflow.services.cache import MaterialRef, SiteRef
from wasteflow.services.catalogue import material_route
from wasteflow.services.handovers.reading import handover_views
from wasteflow.services.handovers.rules import own_sites, receipt_hash
from wasteflow.services.handovers.store import (
    _get,
    _insert,
    _move,
    _state_conflict,
    get_handover,
    on_handover,
)
from wasteflow.services.totals import Deltas
from wasteflow.types import TREATING_KINDS, WITHDRAWN, HandoverStatus, kg_to_g, utcnow

# What a receipt sets on a handover (and its audit event records).
_RECEIPT_FIELDS = (
    "status",
    "received_mass_g",
    "refused_mass_g",
    "accepted_mass_g",
    "received_units",
    "refusal_reason",
    "flag_discrepancy",
)


def confirm_receipt(
    *,
    session: Session,
    account: Account,
    ref: str | None = None,
    manifest: str | None = None,
    data: ReceiptCreate,
    idempotency_key: str | None = None,
) -> tuple[HandoverPublic, bool]:
    """Confirm the weighed intake of a load at its receiving site.

    Returns the handover and whether this call confirmed it (False: an identical retry with
    the same Idempotency-Key, answered with the first result).
    """
    require(account.role, Action.confirm_receipt)
    if manifest is not None:
        ref = keys.verify(session, manifest, expected_kind="handover", field="manifest").ident
    assert ref is not None
    digest = receipt_hash(data)
    return on_handover(
        session,
        account,
        ref,
        idempotency_key,
        "handover.receipt",
        digest,
        lambda code: _confirm(session, account, code, data, idempotency_key, digest),
    )


def _confirm(
    session: Session,
    account: Account,
    code: str,
    data: ReceiptCreate,
    key: str | None,
    digest: str,
    ticket: str | None = None,
) -> HandoverPublic:
    h = get_handover(session=session, ref=code)
    if h.to_site_id not in own_sites(session, account):
        raise Forbidden(f"you do not act for the receiving site of {h.code}")
    if h.status != HandoverStatus.in_transit:
        raise _state_conflict(h)
    assert account.id is not None  # an authenticated account is a stored row
    apply_receipt(session, h, account.id, data, key, digest, ticket=ticket)
    assert h.id is not None  # read from the database
    return handover_views(session, [_get(session, h.id)])[0]


def apply_receipt(
    session: Session,
    h: Handover,
    receiver_id: int,
    data: ReceiptCreate,
    key: str | None,
    digest: str,
    *,
    at: datetime | None = None,
    ticket: str | None = None,
) -> None:
    """Set a checked receipt on an in-transit handover, move the totals, audit it. ``at``: when
    the server got the receipt (now, unless it waited for the load as a pending receipt);
    ``ticket``: the identity of the ticket it was confirmed by, if it was."""
    to_site = session.get(Site, h.to_site_id)
    material = session.get(Material, h.material_id)
    assert to_site is not None and material is not None
    values = _receipt_values(session, h, to_site, material, data)
    values |= {
        "received_by_id": receiver_id,
        "received_at": at or utcnow(),
        "receipt_key": key,
        "receipt_hash": digest,
    }
    before = _move(session, h, **values)  # 409 if another receipt confirmed it meanwhile
    deltas = Deltas()
    deltas.add_handover(before, sign=-1)
    deltas.add_handover(before | values)
    deltas.apply(session)
    after = {k: values[k] for k in _RECEIPT_FIELDS} | {
        "route": data.route,
        "seal": seal(before | values),
    }
    if ticket is not None:
        after["ticket"] = ticket
    record_event(
        session,
        account_id=receiver_id,
        action="handover.receive",
        entity="handover",
        entity_id=h.code,
        before={"status": before["status"]},
        after=after,
    )


@dataclass(frozen=True)
class Declared:
    """What a receipt is checked against when its load is not here yet (its ticket's word)."""

    declared_mass_g: int
    declared_units: int | None


def operated_routes(session: Session, site_id: int) -> list[str]:
    """The codes of the treatment routes a site operates, sorted."""
    return list(
        session.execute(
            sa.select(col(TreatmentRoute.code))
            .join(SiteRoute, col(SiteRoute.route_id) == TreatmentRoute.id)
            .where(col(SiteRoute.site_id) == site_id)
            .order_by(col(TreatmentRoute.code))
        ).scalars()
    )


def all_operated_routes(session: Session) -> dict[int, list[str]]:
    """Every site's operated routes at once (for checking a ledger's many receipts)."""
    out: dict[int, list[str]] = {}
    for site_id, code in session.execute(
        sa.select(col(SiteRoute.site_id), col(TreatmentRoute.code))
        .join(TreatmentRoute, col(SiteRoute.route_id) == TreatmentRoute.id)
        .order_by(col(TreatmentRoute.code))
    ):
        out.setdefault(site_id, []).append(code)
    return out


def _receipt_values(
    session: Session,
    h: Handover | Declared,
    to_site: Site,
    material: Material,
    data: ReceiptCreate,
) -> dict[str, Any]:
    return receipt_values(
        session,
        h.declared_mass_g,
        h.declared_units,
        to_site,
        material,
        data,
        lambda: operated_routes(session, to_site.id or 0),
    )


def receipt_values(
    session: Session,
    declared_mass_g: int,
    declared_units: int | None,
    to_site: Site | SiteRef,
    material: Material | MaterialRef,
    data: ReceiptCreate,
    operated_by_site: Callable[[], list[str]],
) -> dict[str, Any]:
    """The rules of a receipt of a load declared with ``declared_mass_g`` (and units), each
    refusal naming its field, and what the receipt sets; ``operated_by_site`` gives the
    routes the receiving site operates. Shared by receipts and imported ledgers."""
    received = kg_to_g(data.received_mass_kg)
    refused = kg_to_g(data.refused_mass_kg)
    if refused > received:
        raise Invalid("refused_mass_kg: cannot exceed received_mass_kg", field="refused_mass_kg")
    if refused and not data.refusal_reason:
        raise Invalid("refusal_reason: say why mass was refused", field="refusal_reason")
    if not refused and data.refusal_reason:
        raise Invalid("refusal_reason: nothing was refused", field="refusal_reason")
    if data.received_mass_kg > Decimal(str(material.max_load_kg)):
        raise Invalid(
            f"received_mass_kg: above the plausibility cap of {material.max_load_kg:g} "
            f"kg for one load of {material.name_zh}",
            field="received_mass_kg",
        )
    accepted = received - refused
    route_id = None
    if to_site.kind in TREATING_KINDS and accepted > 0:
        if not data.route:
            raise Invalid(
                f"route: {to_site.code} treats what it accepts; name the treatment route",
                field="route",
            )
        # What the material may become comes before what this plant does: "film composted"
        # is refused whatever the site says it operates.
        route = material_route(session, material, data.route)
        operated = operated_by_site()
        if route.code not in operated:
            raise Invalid(
                f"route: {to_site.code} does not operate route {data.route!r}; "
                f"it operates {', '.join(operated) or 'none'}",
                field="route",
            )
        route_id = route.id
    elif data.route:
        why = (
            "nothing was accepted"
            if to_site.kind in TREATING_KINDS
            else f"{to_site.code} is a {to_site.kind.value}, which does not treat material"
        )
        raise Invalid(f"route: {why}", field="route")
    units = data.received_units
    if material.counts_units:
        units = declared_units if units is None else units
    elif units is not None:
        raise Invalid(
            f"received_units: {material.code} is not counted in units", field="received_units"
        )
    status = (
        HandoverStatus.received
        if refused == 0
        else HandoverStatus.refused
        if accepted == 0
        else HandoverStatus.partially_refused
    )
    tolerance = get_settings().receipt_tolerance
    return {
        "status": status,
        "received_mass_g": received,
        "refused_mass_g": refused,
        "accepted_mass_g": accepted,
        "received_units": units,
        "refusal_reason": data.refusal_reason,
        "route_id": route_id,
        "flag_discrepancy": abs(received - declared_mass_g) > tolerance * declared_mass_g,
    }


_LOAD_FIELDS = (
    "request_hash",
    "channel",
    "from_site_id",
    "to_site_id",
    "material_id",
    "declared_mass_g",
    "declared_units",
    "mass_method",
    "device_time",
    "day",
    "recorded_at",
    "recorded_by_id",
    "lat",
    "lon",
    "scan_distance_m",
    "plaque_kid",
    "flag_far_scan",
    "returns_id",
    "returns_sender_id",
)


def correct_receipt(
    *,
    session: Session,
    account: Account,
    ref: str,
    data: ReceiptCorrection,
    idempotency_key: str | None = None,
) -> tuple[HandoverPublic, bool]:
    """Correct a confirmed receipt: a new handover carries the same load with the corrected
    intake and names the one it corrects, which becomes ``superseded``.

    Only an account acting for the receiving site may do it, only on the newest record of a
    chain, and with a reason. The totals move by the difference in the same transaction.
    Returns the new handover and whether this call made it (False: an identical retry with
    the same Idempotency-Key).
    """
    require(account.role, Action.confirm_receipt)
    digest = receipt_hash(data)
    return on_handover(
        session,
        account,
        ref,
        idempotency_key,
        "handover.receipt_correct",
        digest,
        lambda code: _correct_receipt(session, account, code, data, idempotency_key, digest),
    )


def _correct_receipt(
    session: Session,
    account: Account,
    code: str,
    data: ReceiptCorrection,
    key: str | None,
    digest: str,
) -> HandoverPublic:
    h = get_handover(session=session, ref=code)
    if h.to_site_id not in own_sites(session, account):
        raise Forbidden(f"you do not act for the receiving site of {h.code}")
    if h.status == HandoverStatus.in_transit:
        raise Conflict(
            f"{h.code} has not been received yet: confirm its receipt "
            f"(POST /api/v1/handovers/{h.code}/receipt)"
        )
    if h.status in WITHDRAWN:
        raise _state_conflict(h)
    returned = (
        session.execute(
            sa.select(col(Handover.code)).where(
                col(Handover.returns_id) == h.id, col(Handover.status).not_in(WITHDRAWN)
            )
        )
        .scalars()
        .all()
    )
    if returned:
        raise Conflict(
            f"{h.code}'s refused mass was already sent back by {', '.join(returned)}; "
            "its receipt can no longer be corrected"
        )
    to_site = session.get(Site, h.to_site_id)
    material = session.get(Material, h.material_id)
    assert to_site is not None and material is not None and h.id is not None
    values = _receipt_values(session, h, to_site, material, data)
    old = {c: getattr(h, c) for c in (*_LOAD_FIELDS, *_RECEIPT_FIELDS, "route_id")}
    entered = ("received_mass_g", "refused_mass_g", "received_units", "refusal_reason")
    same = all(values[c] == old[c] for c in (*entered, "route_id"))
    if same:
        raise Invalid(
            f"{h.code}'s receipt already says this; a correction must change something",
            field="received_mass_kg",
        )
    # 409 if another correction superseded it meanwhile.
    superseded = _move(session, h, status=HandoverStatus.superseded)
    row = {c: old[c] for c in _LOAD_FIELDS} | values
    row |= {
        # One correction per record (the UPDATE above), so this key is unique for the
        # author of the load, whose record the new handover stays.
        "idempotency_key": f"receipt-correction:{h.code}",
        "corrects_id": h.id,
        "received_by_id": account.id,
        "received_at": utcnow(),
        "receipt_key": key,
        "receipt_hash": digest,
    }
    new_id, new_code = next(iter(_insert(session, [row]).values()))
    deltas = Deltas()
    deltas.add_handover(old, sign=-1)
    deltas.add_handover(row)
    deltas.apply(session)
    change = {"corrected_by": new_code, "reason": data.reason}
    record_events(
        session,
        [
            {
                "account_id": account.id,
                "action": "handover.supersede",
                "entity": "handover",
                "entity_id": h.code,
                "at": row["received_at"],
                "before": {"status": old["status"]},
                "after": {"status": HandoverStatus.superseded}
                | change
                | {"seal": seal(superseded | {"status": HandoverStatus.superseded})},
            },
            {
                "account_id": account.id,
                "action": "handover.receipt_correct",
                "entity": "handover",
                "entity_id": new_code,
                "at": row["received_at"],
                "before": {c: old[c] for c in _RECEIPT_FIELDS}
                | {"route_id": old["route_id"], "handover": h.code},
                "after": {c: values[c] for c in _RECEIPT_FIELDS}
                | {
                    "route": data.route,
                    "corrects": h.code,
                    "reason": data.reason,
                    "seal": seal(row),
                },
            },
        ],
    )
    return handover_views(session, [_get(session, new_id)])[0]
