"""/docs and /redoc work with no internet: every script, style and icon they load is served
by this server (api/static/vendor, fetched by its update.sh), none from a CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest

URL_ATTRS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_from_this_server(client: Any, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = URL_ATTRS.findall(page.text)
    assert urls, "the page loads nothing?"
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "fonts.googleapis" not in page.text and "cdn." not in page.text
    assert "/openapi.json" in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
        assert "immutable" in asset.headers["cache-control"]
    kinds = {client.get(u).headers["content-type"].split(";")[0] for u in urls}
    assert "text/javascript" in kinds


def test_only_the_vendored_assets_are_served(client: Any) -> None:
    from api.routes.docs import asset_url

    good = asset_url("swagger-ui", "swagger-ui.css")
    assert client.get(good).headers["content-type"] == "text/css; charset=utf-8"
    for bad in (
        good.replace("swagger-ui-5", "swagger-ui-4"),  # another version
        "/docs/static/swagger-ui-5.36.0/LICENSE",  # in the folder, but not an asset
        "/docs/static/redoc-2.5.2/..%2Fswagger-ui%2FLICENSE",
    ):
        assert client.get(bad).status_code == 404, bad
