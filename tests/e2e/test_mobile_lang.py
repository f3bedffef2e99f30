"""The field client speaks Chinese where the locale is Chinese: help, errors, progress, words.

Also: materials named as a collector says them (废旧农膜, 农膜) rather than by code, with the
choices listed when a name is unclear, and progress as N / total while a sync runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import CP, E2E, mobile

pytestmark = pytest.mark.e2e

BASE = {k: v for k, v in os.environ.items() if not k.startswith(("LANG", "LC_"))}
EN = BASE | {"LANG": "C.UTF-8"}
ZH = BASE | {"LANG": "zh_CN.UTF-8"}


def cli(
    state: Path, *args: str, env: dict[str, str] = ZH, code: int = 0
) -> subprocess.CompletedProcess[str]:
    done = mobile(state, *args, check=False, env=env)
    assert done.returncode == code, f"{args}: {done.returncode}\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_help_is_in_the_language_of_the_locale_unless_lang_says_otherwise(tmp_path: Path) -> None:
    state = tmp_path / "phone.db"
    zh = cli(state, "--help").stdout
    assert zh.startswith("用法：wasteflow-mobile [OPTIONS] COMMAND [ARGS]...")
    assert "离线优先的现场客户端" in zh and "选项：" in zh and "命令：" in zh
    assert "显示本帮助并退出。" in zh and "Show this message" not in zh
    scan = cli(state, "scan", "--help").stdout
    assert "物料：代码（film.agri）或中文名（废旧农膜、农膜）。  [必填]" in scan
    assert "[默认：no-estimated]" in scan
    receive = cli(state, "receive", "--help").stdout
    assert "--correct REASON" in receive and "更正这车已确认的收货" in receive

    en = cli(state, "--lang", "en", "--help").stdout
    assert en.startswith("Usage: wasteflow-mobile") and "offline-first field client" in en
    assert cli(state, "--lang=en", "sync", "--help").stdout.count("[default: ") >= 5
    # POSIX: LC_ALL wins over LANG, LC_MESSAGES over LANG.
    assert cli(state, "--help", env=ZH | {"LC_ALL": "C"}).stdout.startswith("Usage:")
    messages_zh = EN | {"LC_MESSAGES": "zh_CN.UTF-8"}
    assert cli(state, "--help", env=messages_zh).stdout.startswith("用法：")
    assert cli(state, "--lang", "zh", "--help", env=EN).stdout.startswith("用法：")
    assert cli(state, "sync", "--help", "--lang", "zh", env=EN).stdout.startswith("用法：")
    assert not state.exists(), "help opens no state file"


def test_usage_mistakes_are_one_translated_line_and_a_hint(tmp_path: Path) -> None:
    state = tmp_path / "phone.db"
    missing = cli(state, "scan", "--material", "农膜", "--kg", "1", code=2)
    assert missing.stderr.splitlines() == [
        "错误：缺少 --to。",
        "用 `wasteflow-mobile scan --help` 查看用法。",
    ]
    assert "--units 要一个整数。" in cli(state, "scan", "--units", "two", code=2).stderr
    assert "没有命令“scna”；是不是 scan？" in cli(state, "scna", code=2).stderr
    assert "没有命令“x”；可用的命令：drop, login" in cli(state, "x", code=2).stderr
    assert "没有选项 --kgs" in cli(state, "scan", "--kgs", "1", code=2).stderr
    en = cli(state, "scan", "--material", "x", "--kg", "1", env=EN, code=2)
    assert en.stderr.splitlines() == ["error: missing --to", "See `wasteflow-mobile scan --help`."]
    bad = cli(state, "--lang", "fr", "whoami", env=EN, code=2)
    assert bad.stderr.strip() == "error: --lang fr: one of zh, en"


def test_a_collectors_day_in_chinese_with_materials_by_name_and_progress(
    live: E2E, tmp_path: Path
) -> None:
    district = live.district
    crew = district.new_crew(1)
    (source,) = crew.sources
    plaque = district.plaque(source)
    state = tmp_path / "phone.db"
    login = cli(state, "login", live.server.url, crew.collector)
    assert login.stdout.startswith(f"已登录 {live.server.url}，账号 {crew.collector}（回收员）")

    def scan(material: str, kg: str, code: int = 0, env: dict[str, str] = ZH) -> str:
        done = cli(state, "scan", "--payload", plaque, "--to", CP, "--material", material,
                   "--kg", kg, env=env, code=code)  # fmt: skip
        return done.stdout + done.stderr

    unclear = scan("粪", "10", code=2)
    assert "“粪”对应多种物料（--material），请说清楚：" in unclear
    assert "猪粪（固体）（manure.pig）" in unclear and "废旧农膜" not in unclear
    unknown = scan("铁皮", "10", code=2)
    assert "没有叫“铁皮”的物料（--material）。可选：" in unknown
    assert "废旧农膜（film.agri）" in unknown and "废钢铁（rec.ferrous）" in unknown
    unknown_en = scan("tin", "10", code=2, env=EN)
    assert "no material 'tin' (--material). Choose one of:" in unknown_en
    assert "film.agri (waste farm film (incl. mulch film))" in unknown_en

    assert f"{source} → {CP}，18.4 kg 废旧农膜 [已验证]" in scan("废旧农膜", "18.4")
    assert "18 kg 废旧农膜" in scan("农膜", "18")
    assert "42.5 kg 可回收物" in scan("可回收物", "42.5")
    assert "9 kg 废纸" in scan("waste paper", "9")
    assert "12 kg 废旧农膜" in scan("film.agri", "12")
    held = scan("农膜", "3.1415", code=3)
    assert "申报重量：最多 3 位小数（1 克），输入的是 3.1415" in held
    assert "改正之前不会发送" in held
    items = json.loads(cli(state, "outbox", "--json").stdout)
    assert [i["body"]["material"] for i in items] == [
        "film.agri",
        "film.agri",
        "hh.recyclable",
        "rec.paper",
        "film.agri",
        "film.agri",
    ]
    held_id = items[-1]["id"]
    # Held reasons are kept as messages: shown in whichever language is asked for later.
    en_listing = cli(state, "outbox", env=EN).stdout
    assert "held: declared_mass_kg: at most 3 decimals (1 g), got 3.1415" in en_listing
    fixed = cli(state, "outbox", "--retry", str(held_id), "--kg", "3.1", "--material", "废纸")
    assert fixed.stdout.startswith(f"已重新放回队列 #{held_id}")
    assert "3.1 kg 废纸" in fixed.stdout

    synced = cli(state, "sync", "--chunk", "2")
    progress = [line.strip() for line in synced.stderr.splitlines()]
    assert progress == ["进度 2 / 6", "进度 4 / 6", "进度 6 / 6"]
    assert synced.stdout.strip() == "交接已发送 6（新 6，服务器已有 0）；等待 0"
    listing = cli(state, "outbox").stdout.splitlines()
    assert len(listing) == 6
    assert all(re.search(r"\[已验证\]  已发送 HO-\d{8}-\w{5}（新记录）$", line) for line in listing)
    who = cli(state, "whoami").stdout
    assert "（回收员），服务器" in who and "发件箱：已发送 6 条" in who

    cli(state, "scan", "--payload", plaque, "--to", CP, "--material", "rec.paper", "--kg", "2")
    again = cli(state, "sync", env=EN)
    assert [line.strip() for line in again.stderr.splitlines()] == ["1 / 1"]
    assert again.stdout.strip() == "sent 1 (1 new, 0 already there); 0 waiting"
    quiet = cli(state, "sync", "--quiet", env=EN)
    assert (
        quiet.stderr == "" and quiet.stdout.strip() == "sent 0 (0 new, 0 already there); 0 waiting"
    )
