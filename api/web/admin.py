"""The dashboard's administration (管理): an index of its parts and their pages, for admins
only (other roles get a 403 page that says so). Each part's pages live in a module of their
own; this router gathers them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.web import (
    admin_accounts,
    admin_orgs,
    admin_reference,
    admin_sites,
    admin_upload,
    password,
)
from api.web.admin_forms import ADMIN_HOME, form_context, require_admin
from api.web.core import DashboardRoute, Page

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

# (path, title key, description key): the index's cards, in the order a new district uses
# them. Import history and late submissions are another module's pages.
PARTS = (
    ("/dashboard/admin/organisations", "admin.organisations", "admin.organisations_lead"),
    ("/dashboard/admin/sites", "admin.sites", "admin.sites_lead"),
    ("/dashboard/admin/rounds", "admin.rounds", "admin.rounds_lead"),
    ("/dashboard/admin/accounts", "admin.accounts", "admin.accounts_lead"),
    ("/dashboard/admin/coefficients", "admin.coefficients", "admin.coefficients_lead"),
    ("/dashboard/admin/targets", "admin.targets", "admin.targets_lead"),
    ("/dashboard/admin/imports", "admin.imports", "admin.imports_lead"),
    ("/dashboard/admin/late", "admin.late", "admin.late_lead"),
)


@router.get(ADMIN_HOME)
def admin_index(ctx: Page) -> HTMLResponse:
    """What an admin keeps, one card each."""
    require_admin(ctx)
    return ctx.render("admin/index.html", **form_context(ctx), parts=PARTS)


# Fixed paths (…/new, …/upload) are declared before …/{code} inside each module.
router.include_router(admin_upload.router)
router.include_router(admin_sites.router)
router.include_router(admin_accounts.router)
router.include_router(admin_orgs.router)
router.include_router(admin_reference.router)
router.include_router(password.router)
