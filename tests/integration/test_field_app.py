"""The field app's server side: the offline bundle and the files the service worker caches."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.web.field import ASSETS, cache_version
from tests.factories import make_network


def test_the_bundle_holds_the_round_its_sources_point_and_the_plaque_keys(
    client: TestClient, session: Session
) -> None:
    net = make_network(session)
    r = client.get("/api/v1/field/bundle", headers=net.collector.headers)
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["account"]["role"] == "collector" and b["sites"] == []
    [rnd] = b["rounds"]
    assert rnd["collection_point"]["code"] == net.cp.code
    assert [s["code"] for s in rnd["sources"]] == [net.source.code]
    kid = net.plaque.split("k=")[1].split("&")[0]
    assert any(k["kid"] == kid and k["status"] == "active" for k in b["keys"])
    film = next(m for m in b["materials"] if m["code"] == "film.agri")
    assert film["name_zh"] and film["max_handover_kg"] > 0 and film["attributes"]["routes"]
    assert {"recycling", "compost"} <= {x["code"] for x in b["routes"]}


def test_an_operator_gets_the_rounds_ending_at_its_site_and_a_processor_its_routes(
    client: TestClient, session: Session
) -> None:
    net = make_network(session)
    op = client.get("/api/v1/field/bundle", headers=net.operator.headers).json()
    assert [s["code"] for s in op["sites"]] == [net.cp.code]
    assert [s["code"] for r in op["rounds"] for s in r["sources"]] == [net.source.code]
    pr = client.get("/api/v1/field/bundle", headers=net.processor_account.headers).json()
    assert pr["rounds"] == []
    assert sorted(pr["sites"][0]["routes"]) == ["compost", "dismantling", "recycling"]


def test_the_bundle_needs_a_login(client: TestClient) -> None:
    r = client.get("/api/v1/field/bundle")
    assert r.status_code == 401 and r.json()["error"]


def test_the_app_and_its_worker_are_served_from_this_server(client: TestClient) -> None:
    r = client.get("/field", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/field/"
    page = client.get("/field/")
    assert page.status_code == 200 and 'src="app.js"' in page.text
    csp = page.headers["content-security-policy"]
    assert "'unsafe-eval'" not in csp and "'wasm-unsafe-eval'" in csp
    sw = client.get("/field/sw.js")
    assert sw.text.startswith(f"const VERSION = {cache_version()!r};")
    for name, media in ASSETS.items():
        if name == "index.html":
            continue
        got = client.get(f"/field/{name}")
        assert got.status_code == 200 and got.headers["content-type"].startswith(
            media.split(";")[0]
        ), name
        assert b"jsdelivr" not in got.content or name.endswith("zxing_reader.js"), name
    assert client.get("/field/nothing.js").status_code == 404


def test_every_module_of_the_app_is_cached_by_its_worker(client: TestClient) -> None:
    from api.web.field import FIELD_DIR

    modules = {p.name for p in FIELD_DIR.glob("*.js")} - {"sw.js"}
    assert modules <= set(ASSETS), f"not cached for offline use: {modules - set(ASSETS)}"
    sw = client.get("/field/sw.js").text
    for name in modules:
        assert repr(name) in sw, name
        # Each concern in a module of its own, none grown past what one reads at once.
        assert len((FIELD_DIR / name).read_text().splitlines()) < 600, name
    page = client.get("/field/").text
    assert '<script src="app.js" type="module"></script>' in page
