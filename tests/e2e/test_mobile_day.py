"""A day in the field, through the ``wasteflow-mobile`` command and through the simulator."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mobile_stub.simulate import SimulationConfig, run_simulation
from mobile_stub.store import Store
from tests.e2e.conftest import (
    ADMIN_PASSWORD,
    CP,
    E2E,
    PR_FILM,
    VILLAGE,
    assert_exactly_once,
    mobile,
    recovered_kg_from_register,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the client's English words; a Chinese locale would change them."""
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def _outbox(state: Path) -> list[dict[str, Any]]:
    return json.loads(mobile(state, "outbox", "--json").stdout)  # type: ignore[no-any-return]


def _png(live: E2E, username: str, path: str, to: Path) -> Path:
    with live.server.http(username) as http:
        r = http.get(path)
        assert r.status_code == 200, r.text
        to.write_bytes(r.content)
    return to


def test_a_day_of_collection_then_intake_at_the_point_and_the_processor(
    live: E2E, tmp_path: Path
) -> None:
    url, admin = live.server.url, live.district.admin
    hh1, hh2 = f"WL-HH-{VILLAGE}-1", f"WL-HH-{VILLAGE}-2"

    def recovered(indicator: str) -> float:
        """The village's numerator for this year, as an official reads it."""
        r = admin.get(
            "/rates",
            params={"indicator": indicator, "region": VILLAGE, "period": str(date.today().year)},
        )
        assert r.status_code == 200, r.text
        return float(r.json()["numerator_kg"] or 0)

    film_before, recyclables_before = recovered("film_recovery"), recovered("household_recycling")

    # The collector's rounds: photographs of the plaques, weighed loads, one sync at the end.
    collector = tmp_path / "collector.db"
    mobile(collector, "login", url, "collector.baima")
    who = json.loads(mobile(collector, "whoami", "--json").stdout)
    assert (who["username"], who["role"], who["server"]) == ("collector.baima", "collector", url)
    photos = {c: _png(live, "collector.baima", f"/sites/{c}/plaque.png", tmp_path / f"{c}.png")
              for c in (hh1, hh2)}  # fmt: skip
    for code, material, kg, extra in [
        (hh1, "film.agri", "18.4", []),
        (hh2, "hh.recyclable", "42.5", []),
        (hh1, "appliance.tv", "41", ["--units", "2"]),
    ]:
        out = mobile(
            collector, "scan", "--image", str(photos[code]), "--to", CP, "--material", material,
            "--kg", kg, "--lat", "29.4261", "--lon", "107.5399", *extra,
        )  # fmt: skip
        assert out.stdout.startswith("queued #")
    assert "sent 3 (3 new, 0 already there)" in mobile(collector, "sync").stdout
    film, recyclable, tvs = _outbox(collector)
    assert {i["state"] for i in (film, recyclable, tvs)} == {"sent"}

    # The collection point confirms the three loads by the manifests they came with.
    operator = tmp_path / "operator.db"
    mobile(operator, "login", url, "operator.baima")
    for item, kg in ((film, "18.2"), (recyclable, "42.5"), (tvs, "41")):
        mobile(operator, "receive", "--payload", item["manifest"], "--received-kg", kg)
    # ...then ships the film on to the recycler.
    cp_photo = _png(live, "operator.baima", f"/sites/{CP}/plaque.png", tmp_path / "cp.png")
    mobile(operator, "scan", "--image", str(cp_photo), "--to", PR_FILM, "--material",
           "film.agri", "--kg", "18.2")  # fmt: skip
    assert "receipts 3, refused 0" in mobile(operator, "sync").stdout
    (shipment,) = [i for i in _outbox(operator) if i["kind"] == "handover"]
    assert shipment["state"] == "sent"

    # The recycler photographs the manifest, weighs, refuses the dirt and names the route.
    processor = tmp_path / "processor.db"
    mobile(processor, "login", url, "processor.prfilm")
    photo = _png(
        live, "processor.prfilm", f"/handovers/{shipment['code']}/manifest.png", tmp_path / "m.png"
    )
    mobile(processor, "receive", "--image", str(photo), "--received-kg", "18.0", "--refused-kg",
           "1.5", "--reason", "soil and stones", "--route", "recycling")  # fmt: skip
    mobile(processor, "sync")

    def on_server(code: str) -> dict[str, Any]:
        return admin.get(f"/handovers/{code}").json()  # type: ignore[no-any-return]

    h = on_server(film["code"])
    assert (h["status"], h["from_site"], h["to_site"]) == ("received", hh1, CP)
    assert (h["declared_mass_kg"], h["received_mass_kg"], h["accepted_mass_kg"]) == (
        18.4,
        18.2,
        18.2,
    )
    assert h["received_by"] == "operator.baima" and h["channel"] == "batch"
    h = on_server(recyclable["code"])
    assert (h["status"], h["material"], h["accepted_mass_kg"]) == (
        "received",
        "hh.recyclable",
        42.5,
    )
    h = on_server(tvs["code"])
    assert (h["status"], h["units"], h["received_units"], h["accepted_mass_kg"]) == (
        "received",
        2,
        2,
        41.0,
    )
    h = on_server(shipment["code"])
    assert (h["status"], h["from_site"], h["to_site"], h["route"]) == (
        "partially_refused",
        CP,
        PR_FILM,
        "recycling",
    )
    assert (h["received_mass_kg"], h["refused_mass_kg"], h["accepted_mass_kg"]) == (
        18.0,
        1.5,
        16.5,
    )
    assert h["refusal_reason"] == "soil and stones"
    # Film recovered from these households is counted once, at the collection point.
    register = live.district.register(hh1) + live.district.register(hh2)
    assert recovered_kg_from_register(register, {hh1, hh2}) == Decimal("18.2")
    # ...and the rates move as expected: the film recovered in the village by what the
    # collection point accepted; the recyclables only once they reach recycling (not yet).
    assert recovered("film_recovery") - film_before == pytest.approx(18.2)
    assert recovered("household_recycling") == pytest.approx(recyclables_before)


def test_simulated_days_arrive_once_and_every_load_is_confirmed(live: E2E, tmp_path: Path) -> None:
    crews = [live.district.new_crew(3), live.district.new_crew(2)]
    summary = run_simulation(
        SimulationConfig(
            server=live.server.url,
            seed=7,
            days=2,
            scans_per_day=12,
            offline_probability=0.4,
            lost_response_probability=0.25,
            concurrency=2,
            chunk=5,
            only=[c.collector for c in crews],
            admin_password=ADMIN_PASSWORD,
            workdir=tmp_path,
        )
    )
    assert summary.collectors == 2 and summary.queued == 2 * 2 * 12 + summary.shipments
    assert (summary.unsent, summary.held, summary.refused, summary.receipts_refused) == (0, 0, 0, 0)
    assert summary.sent == summary.queued and summary.shipments > 0
    # Every load, a collector's pickup or a shipment, was confirmed exactly once.
    assert summary.receipts == summary.sent
    assert summary.lost_responses > 0, "the lossy network lost nothing: the test proves nothing"
    for crew in crews:
        with Store(tmp_path / f"{crew.collector}.db") as store:
            sent = store.items(kind="handover", states=["sent"])
        by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in sent:
            by_source[item.subject.split(" → ")[0]].append(item.as_dict())
        for source in crew.sources:
            assert_exactly_once(live.district, source, by_source[source])
            for h in live.district.register(source):
                assert h["status"] in ("received", "partially_refused"), h
