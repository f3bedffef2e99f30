"""The dashboard's router: pages, exports and static files under one tag.

Mounted by ``api.main.create_app`` with the API's routers. Page routes stay out of the
OpenAPI schema (they answer HTML to a browser, not JSON to a client).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.web import admin, admin_imports, anomaly_pages, downloads, field, pages, records_export

router = APIRouter(tags=["dashboard"])
router.include_router(pages.router)
router.include_router(downloads.router)
router.include_router(field.router)
router.include_router(anomaly_pages.router)
router.include_router(admin.router)
router.include_router(admin_imports.router)
router.include_router(records_export.router)
