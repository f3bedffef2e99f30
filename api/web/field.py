"""The field app's files: a page, a service worker and the assets they cache, under ``/field/``.

The app itself is static (``api/static/field/``): it talks to the JSON API with a bearer
token and keeps its data and outbox in IndexedDB, so the shell must come from the service
worker's cache when there is no network. The worker's script names a version made of the
assets' contents, so a changed asset installs a new worker and a fresh cache; the worker's
scope is ``/field/``, hence the page lives at ``/field/`` and ``/field`` redirects there.
"""

from __future__ import annotations

import hashlib
from functools import cache

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from api.web.core import STATIC_DIR
from wasteflow.errors import NotFound

router = APIRouter(include_in_schema=False)

FIELD_DIR = STATIC_DIR / "field"
ZXING = "vendor/zxing-wasm"
QR_ENCODER = "vendor/qrcode-generator/qrcode.js"
# The app's ES modules (app.js imports the others), one concern each.
MODULES = (
    "app.js",
    "camera.js",
    "codes.js",
    "collect.js",
    "db.js",
    "device.js",
    "dom.js",
    "i18n.js",
    "intake.js",
    "nav.js",
    "net.js",
    "outbox.js",
    "qrcode.js",
    "state.js",
    "words-en.js",
    "words-zh.js",
)
# Every file the page needs, as the worker caches it (the page "./" is index.html).
ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    **{name: "text/javascript; charset=utf-8" for name in MODULES},
    "app.css": "text/css; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
    f"{ZXING}/zxing_reader.js": "text/javascript; charset=utf-8",
    f"{ZXING}/zxing_reader.wasm": "application/wasm",
    QR_ENCODER: "text/javascript; charset=utf-8",
}
# The decoder is WebAssembly (hence 'wasm-unsafe-eval', which allows compiling wasm and not
# JavaScript's eval); the camera's stream plays from a MediaStream, photos from blob: URLs.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Revalidated online; offline the worker answers from its cache.
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    return (FIELD_DIR / name).read_bytes()


@cache
def cache_version() -> str:
    """A hash of every asset: the worker's cache name, so any change ships a fresh cache."""
    h = hashlib.sha256()
    for name in sorted(ASSETS):
        h.update(name.encode() + b"\0" + _read(name))
    return h.hexdigest()[:16]


@router.get("/field")
def field_root() -> RedirectResponse:
    return RedirectResponse("/field/", status_code=308)


@router.get("/field/")
def field_page() -> Response:
    return Response(_read("index.html"), media_type=ASSETS["index.html"], headers=HEADERS)


@router.get("/field/sw.js")
def service_worker() -> Response:
    """The worker, told its version and what to cache (it is not itself cached by itself)."""
    assets = ["./", *(n for n in ASSETS if n != "index.html")]
    head = f"const VERSION = {cache_version()!r};\nconst ASSETS = {assets!r};\n"
    return Response(
        head.encode() + _read("sw.js"),
        media_type="text/javascript; charset=utf-8",
        headers=HEADERS,
    )


@router.get("/field/{name:path}")
def field_asset(name: str) -> Response:
    media = ASSETS.get(name)
    if media is None or name == "index.html":
        raise NotFound(f"no field app file {name!r}")
    return Response(_read(name), media_type=media, headers=HEADERS)
