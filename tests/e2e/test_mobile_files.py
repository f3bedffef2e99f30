"""Files the field client cannot use: an image it cannot read, a state file that is damaged.

Each is said in one line naming the file and the reason, with exit code 2, never a traceback;
a damaged state file is kept aside untouched, a fresh one started, and every readable outbox
item carried over with its key, so the next sync records nothing twice and loses nothing.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mobile_stub import Phone
from tests.e2e.conftest import CP, DEMO_PASSWORD, E2E, assert_exactly_once, mobile

pytestmark = pytest.mark.e2e

EN = os.environ | {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
ZH = os.environ | {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


def run(state: Path, *args: str, env: dict[str, str] = EN) -> subprocess.CompletedProcess[str]:
    return mobile(state, *args, check=False, env=env)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The only line of stderr, checked to be an error and not a traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_an_image_that_cannot_be_read_is_named_with_the_reason(live: E2E, tmp_path: Path) -> None:
    crew = live.district.new_crew(1)
    state = tmp_path / "phone.db"
    mobile(state, "login", live.server.url, crew.collector, env=EN)
    folder = tmp_path / "photos"
    folder.mkdir()
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not a picture\n")
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 64), 255).save(blank)
    scan = ("scan", "--to", CP, "--material", "film.agri", "--kg", "12")
    cases = [
        (tmp_path / "missing.jpg", "no such file"),
        (folder, "it is a directory, not a file"),
        (empty, "the file is empty"),
        (text, "not an image, or a damaged one"),
    ]
    for path, why in cases:
        done = run(state, *scan, "--image", str(path))
        assert done.returncode == 2, done.stderr
        assert one_error_line(done) == f"error: cannot read the image {path}: {why}"
    done = run(state, *scan, "--image", str(blank))
    assert done.returncode == 2
    assert f"no QR code found in the image {blank}" in one_error_line(done)
    done = run(state, *scan, "--image", str(tmp_path / "missing.jpg"), env=ZH)
    assert one_error_line(done) == f"错误：无法读取图片 {tmp_path / 'missing.jpg'}：文件不存在。"
    # The same for a manifest photographed at the collection point.
    done = run(state, "receive", "--image", str(folder), "--received-kg", "12")
    assert done.returncode == 2 and "it is a directory" in one_error_line(done)
    if os.geteuid() != 0:  # root reads files whatever their mode
        locked = tmp_path / "locked.png"
        locked.write_bytes(blank.read_bytes())
        locked.chmod(0)
        done = run(state, *scan, "--image", str(locked))
        assert one_error_line(done).endswith("permission denied")
    assert json.loads(run(state, "outbox", "--json").stdout) == [], "nothing was queued"


def test_a_state_file_that_cannot_be_used_is_named_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    done = run(folder, "whoami")
    assert done.returncode == 2
    assert one_error_line(done) == (
        f"error: cannot open the state file {folder}: it is a directory, not a file"
    )
    other = tmp_path / "photos.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE photo (name TEXT)")
    db.close()
    before = other.read_bytes()
    done = run(other, "outbox", "--all", env=ZH)
    assert done.returncode == 2
    assert "不是 wasteflow-mobile 的状态文件" in one_error_line(done)
    assert other.read_bytes() == before


def _kept(stderr: str) -> Path:
    found = re.search(r"kept, untouched, as (\S+), and a fresh", stderr)
    assert found, stderr
    return Path(found.group(1))


def test_garbage_in_place_of_the_state_file_is_kept_aside_and_a_fresh_one_started(
    live: E2E, tmp_path: Path
) -> None:
    state = tmp_path / "phone.db"
    garbage = bytes(range(256)) * 64  # not SQLite at all
    state.write_bytes(garbage)
    done = run(state, "whoami")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"warning: the state file {state} is damaged" in done.stderr
    kept = _kept(done.stderr)
    assert kept.parent == tmp_path and kept.name.startswith("phone.db.corrupt-")
    assert kept.read_bytes() == garbage, "the damaged file is kept exactly as it was"
    assert "its outbox could not be read" in done.stderr and str(kept) in done.stderr
    assert "error: not logged in" in done.stderr
    # The fresh file works, and the damaged one is never touched again.
    crew = live.district.new_crew(1)
    mobile(state, "login", live.server.url, crew.collector, env=EN)
    assert run(state, "outbox").stdout.strip() == "the outbox is empty"
    assert kept.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.glob("phone.db.corrupt-*")) == [kept.name]


def _damage_page_of(state: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with noise, as a failing flash cell would."""
    with sqlite3.connect(state) as db:
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    assert not Path(f"{state}-wal").exists(), "the client checkpoints when it exits"
    with state.open("r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xa5" * size)


def test_a_damaged_state_file_gives_back_every_readable_scan_and_the_sync_sends_each_once(
    live: E2E, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    plaque = district.plaque(source)
    state = tmp_path / "phone.db"
    mobile(state, "login", live.server.url, crew.collector, env=EN)

    def scan(kg: str) -> None:
        mobile(state, "scan", "--payload", plaque, "--to", CP, "--material", "film.agri",
               "--kg", kg, env=EN)  # fmt: skip

    for kg in ("10", "11", "12"):
        scan(kg)
    mobile(state, "sync", env=EN)
    for kg in ("13", "14"):
        scan(kg)  # offline: these two are not on the server yet
    before: list[dict[str, Any]] = json.loads(run(state, "outbox", "--json").stdout)
    # The materials cache is damaged; the outbox and the login are not.
    _damage_page_of(state, "material")
    damaged = state.read_bytes()

    done = run(state, "sync", "--json")
    assert done.returncode == 0, done.stderr
    kept = _kept(done.stderr)
    assert kept.read_bytes() == damaged
    assert "5 outbox item(s) were recovered from it (2 not yet on the server)" in done.stderr
    assert "log in again" not in done.stderr  # the login was readable, so it was carried over
    report = json.loads(done.stdout)
    assert (report["created"], report["duplicates"], report["pending"]) == (2, 0, 0)

    after = json.loads(run(state, "outbox", "--json").stdout)
    assert [(i["id"], i["idempotency_key"]) for i in after] == [
        (i["id"], i["idempotency_key"]) for i in before
    ]
    assert {i["state"] for i in after} == {"sent"}
    assert_exactly_once(district, source, after)
    # The catalogue that was lost is fetched again at the next refresh.
    mobile(state, "refresh", env=EN)
    with Phone(state) as phone:
        assert phone.recovered is None
        assert "film.agri" in phone.store.materials(live.server.url)
        phone.login(live.server.url, crew.collector, DEMO_PASSWORD)


def test_a_truncated_state_file_is_kept_aside_and_what_it_says_is_what_was_recovered(
    live: E2E, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    plaque = district.plaque(crew.sources[0])
    state = tmp_path / "phone.db"
    with Phone(state) as phone:
        phone.login(live.server.url, crew.collector, DEMO_PASSWORD)
        for i in range(300):
            phone.scan_handover(payload=plaque, to_site=CP, material="film.agri", kg=f"{1 + i}")
    size = state.stat().st_size
    with state.open("r+b") as f:
        f.truncate(size // 2)  # a copy cut short, a full disk...
    truncated = state.read_bytes()

    done = run(state, "--lang", "zh", "outbox", "--all", "--json")
    assert "Traceback" not in done.stderr
    assert f"状态文件 {state} 已损坏" in done.stderr
    kept = Path(re.search(r"原文件原样保留为 (\S+)，", done.stderr).group(1))  # type: ignore[union-attr]
    assert kept.read_bytes() == truncated
    assert done.returncode == 0, done.stderr  # listing every account needs no login
    recovered = json.loads(done.stdout)
    found = re.search(r"只读出一部分：找回 (\d+) 条，其余仍在 (\S+) 里", done.stderr)
    assert found, done.stderr  # the pages before the cut are read, the rest are said lost
    assert int(found.group(1)) == len(recovered) and 0 < len(recovered) < 300
    assert found.group(2) == str(kept)
    keys = [i["idempotency_key"] for i in recovered]
    assert len(keys) == len(set(keys))
    assert [i["body"]["declared_mass_kg"] for i in recovered] == list(range(1, len(recovered) + 1))
    # What came back is sent, once; what did not is not invented.
    mobile(state, "login", live.server.url, crew.collector, env=EN)
    report = json.loads(mobile(state, "sync", "--json", env=EN).stdout)
    assert (report["created"], report["pending"]) == (len(recovered), 0)
    sent = json.loads(run(state, "outbox", "--json").stdout)
    assert_exactly_once(district, crew.sources[0], sent)
