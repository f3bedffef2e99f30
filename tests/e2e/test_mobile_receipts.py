"""Receiving a load twice by mistake, and correcting a receipt, from the command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CP, E2E, PR_FILM, mobile

pytestmark = pytest.mark.e2e

EN = os.environ | {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
ZH = os.environ | {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


def ok(state: Path, *args: str, env: dict[str, str] = EN) -> subprocess.CompletedProcess[str]:
    return mobile(state, *args, env=env)


def fails(
    state: Path, code: int, *args: str, env: dict[str, str] = EN
) -> subprocess.CompletedProcess[str]:
    done = mobile(state, *args, check=False, env=env)
    assert done.returncode == code, f"{args}: {done.returncode}\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


def outbox(state: Path) -> list[dict[str, Any]]:
    return json.loads(ok(state, "outbox", "--json").stdout)  # type: ignore[no-any-return]


def test_a_load_received_twice_offline_is_queued_once_unless_forced(
    live: E2E, tmp_path: Path
) -> None:
    district, url = live.district, live.server.url
    crew = district.new_crew(1)
    plaque = district.plaque(crew.sources[0])
    collector = tmp_path / "collector.db"
    ok(collector, "login", url, crew.collector)
    ok(collector, "scan", "--payload", plaque, "--to", CP, "--material", "废旧农膜", "--kg", "18.4")
    ok(collector, "sync")
    (load,) = outbox(collector)
    code, manifest = load["code"], load["manifest"]

    operator = tmp_path / "operator.db"
    ok(operator, "login", url, "operator.baima")
    first = ok(operator, "receive", "--payload", manifest, "--received-kg", "18.2")
    assert first.stdout.startswith("queued #1 ") and f"receipt of {code}: 18.2 kg" in first.stdout
    again = fails(operator, 5, "receive", "--payload", manifest, "--received-kg", "18.2")
    assert again.stderr.strip() == (
        f"error: the receipt of {code} already waits in the outbox (#1); not queued again "
        "(--force queues another)"
    )
    # The same load by a photo of its manifest is the same load.
    with live.server.http("operator.baima") as http:
        png = http.get(f"/handovers/{code}/manifest.png").content
    photo = tmp_path / "manifest.png"
    photo.write_bytes(png)
    zh = fails(operator, 5, "receive", "--image", str(photo), "--received-kg", "18.3", env=ZH)
    assert f"这车（{code}）的收货已在发件箱里等待发送（#1）" in zh.stderr
    assert len(outbox(operator)) == 1

    forced = ok(operator, "receive", "--payload", manifest, "--received-kg", "18.3", "--force")
    assert forced.stdout.startswith("queued #2 ")
    ok(operator, "drop", "2")  # on second thoughts
    assert "receipts 1, refused 0" in ok(operator, "sync").stdout
    done = fails(operator, 5, "receive", "--payload", manifest, "--received-kg", "18.2")
    assert f"{code} was already confirmed from this outbox (#1, {code})" in done.stderr
    assert "receive --correct REASON" in done.stderr
    h = district.admin.get(f"/handovers/{code}").json()
    assert (h["status"], h["received_mass_kg"]) == ("received", 18.2)


def test_a_confirmed_receipt_is_corrected_with_a_reason_and_again_on_its_newest_record(
    live: E2E, tmp_path: Path
) -> None:
    district, url = live.district, live.server.url
    crew = district.new_crew(1)
    plaque = district.plaque(crew.sources[0])
    collector = tmp_path / "collector.db"
    ok(collector, "login", url, crew.collector)
    for material, kg in (("农膜", "18.4"), ("可回收物", "42.5"), ("农膜", "5")):
        ok(collector, "scan", "--payload", plaque, "--to", CP, "--material", material, "--kg", kg)
    ok(collector, "sync")
    film, recyclables, unreceived = outbox(collector)
    assert (film["body"]["material"], recyclables["body"]["material"]) == (
        "film.agri",
        "hh.recyclable",
    )

    operator = tmp_path / "operator.db"
    ok(operator, "login", url, "operator.baima")
    ok(operator, "receive", "--payload", film["manifest"], "--received-kg", "18.2")
    ok(operator, "receive", "--payload", recyclables["manifest"], "--received-kg", "42.5",
       "--refused-kg", "2", "--reason", "混有其他废物")  # fmt: skip
    ok(operator, "sync")

    # The weighbridge was misread. A reason is required, and --code only serves corrections.
    short = fails(operator, 2, "receive", "--payload", film["manifest"], "--received-kg",
                  "17.6", "--correct", "no")  # fmt: skip
    assert "--correct needs the reason for the correction" in short.stderr
    fails(operator, 2, "receive", "--code", film["code"], "--received-kg", "17.6")
    fixed = ok(operator, "receive", "--payload", film["manifest"], "--received-kg", "17.6",
               "--correct", "磅秤读数输错", env=ZH)  # fmt: skip
    assert f"更正收货 {film['code']}：17.6 kg（原因：磅秤读数输错）" in fixed.stdout
    twice = fails(operator, 5, "receive", "--code", film["code"], "--received-kg", "17.5",
                  "--correct", "again")  # fmt: skip
    assert f"a correction of {film['code']} already waits to be sent" in twice.stderr
    # Refused mass corrected: its reason is kept from the receipt when not given again.
    ok(operator, "receive", "--code", recyclables["code"], "--received-kg", "42.5",
       "--refused-kg", "1", "--correct", "拒收重量记错")  # fmt: skip
    # A load not received yet cannot be corrected: the server says so, the item stays.
    ok(operator, "receive", "--code", unreceived["code"], "--received-kg", "5",
       "--correct", "测试更正")  # fmt: skip
    synced = ok(operator, "sync").stdout
    assert "receipts" not in synced and "corrections 2, refused 1" in synced

    items = {(i["kind"], i["subject"]): i for i in outbox(operator)}
    first_fix = items[("correction", film["code"])]
    assert first_fix["state"] == "sent" and first_fix["result"] == "corrected"
    admin = district.admin
    old = admin.get(f"/handovers/{film['code']}").json()
    new = admin.get(f"/handovers/{first_fix['code']}").json()
    assert old["status"] == "superseded"
    assert (new["corrects"], new["received_mass_kg"], new["status"]) == (
        film["code"],
        17.6,
        "received",
    )
    recy = admin.get(f"/handovers/{items[('correction', recyclables['code'])]['code']}").json()
    assert (recy["refused_mass_kg"], recy["accepted_mass_kg"], recy["refusal_reason"]) == (
        1.0,
        41.5,
        "混有其他废物",
    )
    refused = items[("correction", unreceived["code"])]
    assert refused["state"] == "refused" and "has not been received yet" in refused["reason"]
    listing = ok(operator, "outbox", env=ZH).stdout
    assert f"更正收货 {unreceived['code']}" in listing and "被拒绝：" in listing

    # Corrected again from the original code: this phone knows the newest record.
    ok(operator, "receive", "--code", film["code"], "--received-kg", "17.9",
       "--correct", "再核对一次磅单")  # fmt: skip
    (second_fix,) = [
        i for i in outbox(operator) if i["kind"] == "correction" and i["state"] == "queued"
    ]
    assert second_fix["subject"] == first_fix["code"]
    assert "corrections 1, refused 0" in ok(operator, "sync").stdout
    newest = admin.get(f"/handovers/{outbox(operator)[-1]['code']}").json()
    assert (newest["corrects"], newest["received_mass_kg"]) == (first_fix["code"], 17.9)
    history = admin.get(f"/handovers/{film['code']}/history").json()
    assert history["corrected_by"] == first_fix["code"]


def test_a_processor_names_the_route_in_chinese_and_a_correction_keeps_it(
    live: E2E, tmp_path: Path
) -> None:
    district, url = live.district, live.server.url
    operator = tmp_path / "operator.db"
    ok(operator, "login", url, "operator.baima")
    ok(operator, "scan", "--payload", district.plaque(CP), "--to", PR_FILM, "--material", "农膜",
       "--kg", "18.2")  # fmt: skip
    ok(operator, "sync")
    (shipment,) = outbox(operator)

    processor = tmp_path / "processor.db"
    ok(processor, "login", url, "processor.prfilm")
    unclear = fails(processor, 2, "receive", "--payload", shipment["manifest"], "--received-kg",
                    "18", "--route", "焚烧", env=ZH)  # fmt: skip
    assert "“焚烧”对应多种处理方式（--route）" in unclear.stderr
    assert "焚烧发电（incineration_energy）" in unclear.stderr
    ok(processor, "receive", "--payload", shipment["manifest"], "--received-kg", "18.0",
       "--refused-kg", "1.5", "--reason", "soil and stones", "--route", "再生利用")  # fmt: skip
    ok(processor, "sync")
    (receipt,) = outbox(processor)
    assert receipt["body"]["route"] == "recycling" and receipt["state"] == "sent"

    # Only the weight was wrong: route, refused mass and its reason carry over.
    ok(processor, "receive", "--payload", shipment["manifest"], "--received-kg", "18.4",
       "--correct", "weighbridge misread")  # fmt: skip
    ok(processor, "sync")
    correction = outbox(processor)[-1]
    assert correction["body"] == {
        "received_mass_kg": 18.4,
        "refused_mass_kg": 1.5,
        "refusal_reason": "soil and stones",
        "route": "recycling",
        "reason": "weighbridge misread",
    }
    h = district.admin.get(f"/handovers/{correction['code']}").json()
    assert (h["route"], h["received_mass_kg"], h["accepted_mass_kg"], h["corrects"]) == (
        "recycling",
        18.4,
        16.9,
        shipment["code"],
    )
