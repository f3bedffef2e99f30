"""The API's documentation pages, /docs (Swagger UI) and /redoc, with their scripts and
styles served by this server from ``api/static/vendor`` (fetched from npm by its
``update.sh``): FastAPI's defaults load them from a CDN, and a district office's network
often has no internet, where the pages stayed blank."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from wasteflow.errors import NotFound

router = APIRouter(include_in_schema=False)

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"
_MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# What may be fetched: the assets the two pages load, nothing else in the folder.
ASSETS = {
    "swagger-ui": ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"),
    "redoc": ("redoc.standalone.js",),
}


@cache
def version(package: str) -> str:
    """The vendored version (``VERSION``: "<npm name> <version>"): part of the assets' URLs,
    so browsers may cache them for a year and an update is fetched afresh."""
    return (VENDOR / package / "VERSION").read_text().split()[-1]


def asset_url(package: str, name: str) -> str:
    return f"/docs/static/{package}-{version(package)}/{name}"


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="wasteflow API",
        swagger_js_url=asset_url("swagger-ui", "swagger-ui-bundle.js"),
        swagger_css_url=asset_url("swagger-ui", "swagger-ui.css"),
        swagger_favicon_url=asset_url("swagger-ui", "favicon-32x32.png"),
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="wasteflow API",
        redoc_js_url=asset_url("redoc", "redoc.standalone.js"),
        redoc_favicon_url=asset_url("swagger-ui", "favicon-32x32.png"),
        with_google_fonts=False,
    )


@router.get("/docs/static/{bundle}/{name}")
def docs_asset(bundle: str, name: str) -> Response:
    """A vendored script, style or icon, cached for a year (its URL names its version)."""
    package, _, wanted = bundle.rpartition("-")
    if package not in ASSETS or name not in ASSETS[package] or wanted != version(package):
        raise NotFound(f"no documentation asset {bundle}/{name}")
    return Response(
        (VENDOR / package / name).read_bytes(),
        media_type=_MEDIA[Path(name).suffix],
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
