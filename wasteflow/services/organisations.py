"""Organisations: the companies, cooperatives and township governments that run sites and
employ the accounts. Everyone reads them (sites name them); admins create and edit them."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import Conflict, NotFound
from wasteflow.models import Account, Organisation, Region, Site
from wasteflow.permissions import Action, require
from wasteflow.schemas_admin import OrganisationCreate, OrganisationPublic, OrganisationUpdate
from wasteflow.services import idempotency
from wasteflow.services.audit import changes, record_event
from wasteflow.services.catalogue import get_region, region_and_descendants
from wasteflow.services.idempotency import Request, once
from wasteflow.services.rounds import refuse_nulls
from wasteflow.types import OrganisationKind


def _counts(session: Session, model: type[Site | Account], ids: list[int]) -> dict[int, int]:
    return dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(col(model.organisation_id), sa.func.count())
            .where(col(model.organisation_id).in_(ids))
            .group_by(col(model.organisation_id))
        ).all()
    )


def organisation_views(session: Session, orgs: Sequence[Organisation]) -> list[OrganisationPublic]:
    """Public views, with how many sites and accounts each has, in three queries."""
    ids = [o.id for o in orgs if o.id is not None]
    if not ids:
        return []
    regions = dict(
        session.execute(
            sa.select(col(Region.id), col(Region.code)).where(
                col(Region.id).in_({o.region_id for o in orgs if o.region_id})
            )
        ).all()
    )
    sites, accounts = _counts(session, Site, ids), _counts(session, Account, ids)
    return [
        OrganisationPublic(
            code=o.code,
            name=o.name,
            kind=o.kind,
            region_code=regions.get(o.region_id),
            credit_code=o.credit_code,
            synthetic=o.synthetic,
            sites=sites.get(o.id, 0),  # type: ignore[arg-type]
            accounts=accounts.get(o.id, 0),  # type: ignore[arg-type]
        )
        for o in orgs
    ]


def get_organisation(session: Session, code: str, *, lock: bool = False) -> Organisation:
    stmt = sa.select(Organisation).where(col(Organisation.code) == code)
    if lock:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no organisation {code!r}")
    return found


def list_organisations(
    *,
    session: Session,
    actor: Account,
    kind: OrganisationKind | None = None,
    region: str | None = None,
) -> list[OrganisationPublic]:
    """Organisations by code; filtered by kind and by region (and the regions under it)."""
    require(actor.role, Action.read_sites)
    stmt = sa.select(Organisation).order_by(col(Organisation.code))
    if kind is not None:
        stmt = stmt.where(col(Organisation.kind) == kind.value)
    if region is not None:
        stmt = stmt.where(col(Organisation.region_id).in_(region_and_descendants(session, region)))
    return organisation_views(session, session.execute(stmt).scalars().all())


def read_organisation(*, session: Session, actor: Account, code: str) -> OrganisationPublic:
    require(actor.role, Action.read_sites)
    return organisation_views(session, [get_organisation(session, code)])[0]


def _credit_code_free(session: Session, credit_code: str | None, own_id: int | None) -> None:
    if credit_code is None:
        return
    other = session.execute(
        sa.select(col(Organisation.code)).where(
            col(Organisation.credit_code) == credit_code, col(Organisation.id) != (own_id or 0)
        )
    ).scalar()
    if other is not None:
        raise Conflict(
            f"credit_code: {credit_code} is already the code of organisation {other}",
            field="credit_code",
        )


def create_organisation(
    *,
    session: Session,
    actor: Account,
    data: OrganisationCreate,
    idempotency_key: str | None = None,
) -> tuple[OrganisationPublic, bool]:
    """Register an organisation (admins). Its code and its credit code are its own."""
    require(actor.role, Action.manage_organisations)
    assert actor.id is not None
    req = Request(
        actor.id,
        idempotency_key,
        "organisation.create",
        data.code,
        idempotency.digest(data.model_dump(mode="json")),
    )

    def apply() -> OrganisationPublic:
        if session.execute(
            sa.select(col(Organisation.id)).where(col(Organisation.code) == data.code)
        ).first():
            raise Conflict(f"code: an organisation {data.code!r} already exists", field="code")
        _credit_code_free(session, data.credit_code, None)
        region_id = (
            get_region(session=session, code=data.region_code).id if data.region_code else None
        )
        org = Organisation(
            code=data.code,
            name=data.name,
            kind=data.kind.value,
            region_id=region_id,
            credit_code=data.credit_code,
        )
        session.add(org)
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:
            raise Conflict(
                f"code: an organisation {data.code!r} already exists", field="code"
            ) from exc
        public = organisation_views(session, [org])[0]
        record_event(
            session,
            account_id=actor.id,
            action="organisation.create",
            entity="organisation",
            entity_id=org.code,
            after=public.model_dump(mode="json", exclude={"sites", "accounts"}),
        )
        return public

    return once(session, req, apply, OrganisationPublic)


def update_organisation(
    *,
    session: Session,
    actor: Account,
    code: str,
    data: OrganisationUpdate,
    idempotency_key: str | None = None,
) -> tuple[OrganisationPublic, bool]:
    """Change an organisation's name, kind, region or credit code (admins)."""
    require(actor.role, Action.manage_organisations)
    refuse_nulls(data, ("name", "kind"))
    assert actor.id is not None
    body = data.model_dump(mode="json", exclude_unset=True)
    req = Request(actor.id, idempotency_key, "organisation.update", code, idempotency.digest(body))

    def apply() -> OrganisationPublic:
        org = get_organisation(session, code, lock=True)
        before = organisation_views(session, [org])[0].model_dump(mode="json")
        given = data.model_fields_set
        if data.name is not None:
            org.name = data.name
        if data.kind is not None:
            org.kind = data.kind.value
        if "region_code" in given:
            org.region_id = (
                get_region(session=session, code=data.region_code).id if data.region_code else None
            )
        if "credit_code" in given:
            _credit_code_free(session, data.credit_code, org.id)
            org.credit_code = data.credit_code
        session.flush()
        public = organisation_views(session, [org])[0]
        old, new = changes(before, public.model_dump(mode="json"))
        if new:
            record_event(
                session,
                account_id=actor.id,
                action="organisation.update",
                entity="organisation",
                entity_id=org.code,
                before=old,
                after=new,
            )
        return public

    return once(session, req, apply, OrganisationPublic)
