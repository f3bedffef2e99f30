"""Every page passes axe-core with no serious or critical violation, as an official and as a
collector, in Chinese and in English, on the demo district in Chromium.

axe-core is vendored under ``tests/browser/vendor/axe-core/`` (MPL-2.0, used by the tests
only, never served; ``update-axe-core.sh`` refreshes it from the npm registry). It is evaluated
in the page once the page has drawn its charts, and every violation of impact ``serious`` or
``critical`` is printed with the elements it found and fails the test.

To check a new page, add its path to a list below: ``PAGES`` for the dashboard (who reads it,
and where), ``FIELD_SCREENS`` for the phone app. ``{…}`` in a path is filled from the API
(a handover, an anomaly) by :func:`resolve`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE, Browser
from wasteflow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

# (who, page name, path): who is "public" (no login), or a demo account.
PAGES: list[tuple[str, str, str]] = [
    ("public", "login", "/dashboard/login"),
    ("official", "home", "/dashboard"),
    ("official", "townships", "/dashboard/townships"),
    ("official", "township", "/dashboard/townships/500156101"),
    ("official", "records", "/dashboard/records?indicator=film_recovery&region=500156101"),
    ("official", "flows", "/dashboard/flows"),
    ("official", "flows-household", "/dashboard/flows?material=household"),
    ("official", "anomalies", "/dashboard/anomalies"),
    ("official", "anomalies-open", "/dashboard/anomalies?state=open"),
    ("official", "anomaly", "/dashboard/anomalies/{anomaly}"),
    ("official", "handovers", "/dashboard/handovers"),
    ("official", "handover", "/dashboard/handovers/{refused_handover}"),
    ("official", "sites", "/dashboard/sites"),
    ("official", "logout", "/dashboard/logout"),
    ("admin", "admin", "/dashboard/admin"),
    ("admin", "admin-sites", "/dashboard/admin/sites"),
    ("admin", "admin-site", "/dashboard/admin/sites/{site}"),
    ("admin", "admin-site-history", "/dashboard/admin/sites/{site}/history"),
    ("admin", "admin-site-new", "/dashboard/admin/sites/new"),
    ("admin", "admin-upload", "/dashboard/admin/sites/upload"),
    ("admin", "admin-accounts", "/dashboard/admin/accounts"),
    ("admin", "admin-account", "/dashboard/admin/accounts/collector.baima"),
    ("admin", "admin-organisations", "/dashboard/admin/organisations"),
    ("admin", "admin-rounds", "/dashboard/admin/rounds"),
    ("admin", "admin-coefficients", "/dashboard/admin/coefficients"),
    ("admin", "admin-targets", "/dashboard/admin/targets"),
    ("admin", "password", "/dashboard/password"),
    ("collector.baima", "home", "/dashboard"),
    ("collector.baima", "anomalies", "/dashboard/anomalies"),
    ("collector.baima", "handovers", "/dashboard/handovers"),
    ("collector.baima", "handover", "/dashboard/handovers/{collector_handover}"),
    ("collector.baima", "sites", "/dashboard/sites"),
    ("collector.baima", "officials-only", "/dashboard/townships"),
]
# The phone app's screens, after logging in to it as this account.
FIELD_SCREENS: list[tuple[str, str]] = [
    ("collector.baima", "#home"),
    ("collector.baima", "#outbox"),
    ("operator.baima", "#intake"),
]


def resolve(browser: Browser, path: str) -> str:
    """Fill a path's ``{…}`` with a record of the demo, found through the API."""
    if "{" not in path:
        return path
    values: dict[str, str] = {}
    with browser.server.api("official") as api:
        found = api.get("/anomalies", params={"period": "2025"}).json()["items"]
        # Not the film load that test_anomaly_work walks through: the two files may run in
        # either order, on one server. A comment gives the page its history table to check.
        refused = next(
            a for a in found if a["kind"] == "refused_load" and a["material"] != "film.agri"
        )
        values["anomaly"] = refused["id"]
        r = api.post(
            f"/anomalies/{refused['id']}/comments",
            json={"text": "已联系处理厂核实退回重量。"},
            headers={"Idempotency-Key": "axe-anomaly-history"},
        )
        assert r.status_code in (200, 201), r.text
        values["refused_handover"] = refused["handovers"][0]
    with browser.server.api("admin") as api:
        values["site"] = api.get("/sites", params={"limit": 1}).json()["items"][0]["code"]
    with browser.server.api("collector.baima") as api:
        values["collector_handover"] = api.get("/handovers", params={"limit": 1}).json()["items"][
            0
        ]["code"]
    return path.format(**values)


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))})); }"
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def settle(page: Any) -> None:
    """Wait for what the page draws after loading (charts, trends fetched after the page)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('.trend .loading')"
        " && [...document.querySelectorAll('#sankey, #sites-map')]"
        ".every(el => el.querySelector('.main-svg'))",
        timeout=30_000,
    )


def report(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{where}: {len(violations)} serious or critical accessibility violations"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node['summary']}")
    return "\n".join(lines)


def as_user(browser: Browser, page: Any, who: str) -> None:
    if who == "public":
        browser.logout_all()
    else:
        browser.login(page, who)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("who", "name", "path"), PAGES, ids=[f"{w}-{n}" for w, n, _ in PAGES])
def test_dashboard_page_has_no_serious_violation(
    browser: Browser, page: Any, who: str, name: str, path: str, lang: str
) -> None:
    as_user(browser, page, who)
    url = resolve(browser, path)
    url += ("&" if "?" in url else "?") + f"lang={lang}"
    page.goto(browser.url(url))
    if name == "officials-only":  # a 403 on purpose, which the browser logs as an error
        browser.errors.clear()
    settle(page)
    found = serious_violations(page)
    if found:
        print(report(f"{who} {url}", found))
    assert not found, report(f"{who} {url}", found)


def test_dashboard_pages_at_phone_width(browser: Browser) -> None:
    """The pages whose layout changes most on a phone, at 390 px."""
    page = browser.new_page(PHONE)
    try:
        browser.login(page, "official")
        failures = []
        for path in ("/dashboard", "/dashboard/flows", "/dashboard/anomalies/{anomaly}"):
            page.goto(browser.url(resolve(browser, path)))
            settle(page)
            found = serious_violations(page)
            if found:
                failures.append(report(f"phone {path}", found))
        assert not failures, "\n".join(failures)
    finally:
        page.close()


@pytest.mark.parametrize(("who", "screen"), FIELD_SCREENS)
def test_field_app_screen_has_no_serious_violation(browser: Browser, who: str, screen: str) -> None:
    page = browser.new_page(PHONE)
    try:
        page.goto(browser.url("/field/#login"))
        page.wait_for_selector("#login-form")
        found = serious_violations(page)
        assert not found, report("field #login", found)
        page.fill("#username", who)
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#tabs:not([hidden])")
        page.goto(browser.url(f"/field/{screen}"))
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        found = serious_violations(page)
        assert not found, report(f"field {screen} as {who}", found)
    finally:
        page.evaluate(
            "() => indexedDB.databases().then(d => d.map(x => indexedDB.deleteDatabase(x.name)))"
        )
        page.close()
