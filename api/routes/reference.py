from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentAccount, SessionDep
from wasteflow.schemas import MaterialPublic, RegionPublic, RoutePublic
from wasteflow.services import catalogue
from wasteflow.types import Indicator, RegionLevel

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/regions", response_model=list[RegionPublic])
def list_regions(
    session: SessionDep,
    _: CurrentAccount,
    level: RegionLevel | None = None,
    parent: str | None = None,
) -> list[RegionPublic]:
    """Regions (district, townships, villages), filtered by level and by parent code."""
    return catalogue.list_regions(session=session, level=level, parent_code=parent)


@router.get("/regions/{code}", response_model=RegionPublic)
def get_region(session: SessionDep, _: CurrentAccount, code: str) -> RegionPublic:
    """One region by its statistical code."""
    return catalogue.region_public(session=session, code=code)


@router.get("/materials", response_model=list[MaterialPublic])
def list_materials(
    session: SessionDep, _: CurrentAccount, indicator: Indicator | None = None
) -> list[MaterialPublic]:
    """The materials catalogue, optionally for one indicator."""
    return catalogue.list_materials(session=session, indicator=indicator)


@router.get("/routes", response_model=list[RoutePublic])
def list_routes(session: SessionDep, _: CurrentAccount) -> list[RoutePublic]:
    """Treatment routes and whether each counts as utilisation, disposal or storage."""
    return catalogue.list_routes(session=session)
