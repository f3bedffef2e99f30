"""The field client's message table, its choice of language, and its state file's upgrade."""

from __future__ import annotations

import json
import re
import sqlite3
import string
from pathlib import Path

import pytest

from mobile_stub.i18n import (
    Msg,
    Names,
    UserError,
    language_from_argv,
    language_from_env,
    msg,
    set_language,
    split_lang,
    t,
)
from mobile_stub.messages import MESSAGES
from mobile_stub.scanning import resolve
from mobile_stub.store import Store

PACKAGE = Path(__file__).resolve().parents[2] / "mobile_stub"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_take_the_same_parameters(key: str) -> None:
    zh, en = MESSAGES[key]
    assert zh.strip() and en.strip(), key
    assert _fields(zh) == _fields(en), key


def test_every_key_the_code_uses_is_in_the_table() -> None:
    # Literal keys: t("…"), msg("…"), UserError("…"), help="h.…"; built keys by their prefix.
    literal = re.compile(r"""(?:\bt|\bmsg|UserError|help=|Msg)\(?\s*["']([a-z_]+\.[\w.-]+)["']""")
    built = re.compile(r"""f["']([a-z_]+\.)\{""")
    used, prefixes = set(), set()
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        used |= set(literal.findall(source))
        prefixes |= set(built.findall(source))
    assert used, "the pattern found no keys"
    missing = sorted(k for k in used if k not in MESSAGES)
    assert not missing, missing
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in MESSAGES), prefix
    for state in ("held", "queued", "sending", "sent", "refused", "dropped"):
        assert f"state.{state}" in MESSAGES
        assert f"receipt.already_{state}" in MESSAGES or state == "dropped"


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL governs when set
        ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": ""}, "zh"),  # set but empty: as unset
    ],
)
def test_the_language_follows_the_locale(env: dict[str, str], lang: str) -> None:
    assert language_from_env(env) == lang


def test_lang_on_the_command_line_wins() -> None:
    assert language_from_argv(["--state", "x", "--lang", "en", "sync"]) == "en"
    assert language_from_argv(["--lang=zh", "sync"]) == "zh"
    assert language_from_argv(["--lang", "fr", "sync"]) is None
    assert language_from_argv(["scan", "--", "--lang", "zh"]) is None
    # Anywhere on the line: taken out before the parser sees it.
    assert split_lang(["sync", "--lang", "zh", "--json"]) == ("zh", ["sync", "--json"])
    assert split_lang(["--lang", "fr", "sync"]) == (None, ["--lang", "fr", "sync"])


def test_a_message_renders_in_either_language_and_keeps_its_parameters() -> None:
    problem = msg("problem.decimals", field=msg("field.declared_mass_kg"), kg="3.1415")
    assert str(problem) == "declared_mass_kg: at most 3 decimals (1 g), got 3.1415"
    assert problem.render("zh") == "申报重量：最多 3 位小数（1 克），输入的是 3.1415"
    again = Msg.from_json(json.loads(json.dumps(problem.as_json())))
    assert again.render("zh") == problem.render("zh") and str(again) == str(problem)
    error = UserError("image.unreadable", file="a.png", why=msg("why.no_file"))
    assert str(error) == "cannot read the image a.png: no such file"
    try:
        set_language("zh")
        assert error.text() == "无法读取图片 a.png：文件不存在。"
        assert t("sync.progress", done=3, total=7) == "  进度 3 / 7"
    finally:
        set_language("en")


CATALOGUE = {
    "film.agri": ("废旧农膜", "waste farm film (incl. mulch film)"),
    "manure.pig": ("猪粪（固体）", "pig manure, solids"),
    "manure.pig_slurry": ("猪粪污（粪水）", "pig slurry (faeces, urine and wastewater)"),
    "rec.paper": ("废纸", "waste paper"),
}


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("film.agri", "film.agri"),
        ("废旧农膜", "film.agri"),
        (" 农膜 ", "film.agri"),  # a part only one name has
        ("Waste Paper", "rec.paper"),
        ("猪粪（固体）", "manure.pig"),
    ],
)
def test_a_material_is_named_by_its_code_or_its_name(typed: str, code: str) -> None:
    assert resolve(typed, CATALOGUE, "material", "--material") == code


def test_an_unclear_or_unknown_name_lists_the_choices() -> None:
    with pytest.raises(UserError) as ambiguous:
        resolve("猪粪", CATALOGUE, "material", "--material")
    assert ambiguous.value.msg.key == "material.ambiguous"
    choices = ambiguous.value.msg.params["choices"]
    assert isinstance(choices, Names)
    assert choices.render("zh") == "猪粪（固体）（manure.pig）、猪粪污（粪水）（manure.pig_slurry）"
    with pytest.raises(UserError) as unknown:
        resolve("铁皮", CATALOGUE, "material", "--material")
    assert "film.agri (waste farm film" in str(unknown.value)
    assert resolve("anything", {}, "material", "--material") == "anything"  # nothing cached


V1_OUTBOX = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE material (server TEXT NOT NULL, code TEXT NOT NULL, counts_units INTEGER NOT NULL,
    max_handover_kg REAL NOT NULL, max_load_kg REAL NOT NULL, name_zh TEXT NOT NULL,
    PRIMARY KEY (server, code));
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('handover', 'receipt')),
    server TEXT NOT NULL, username TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL, subject TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held','queued','sending','sent','refused','dropped')),
    scan_check TEXT NOT NULL, note TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, result TEXT, code TEXT, status TEXT, manifest TEXT,
    reason TEXT, reason_field TEXT, http_status INTEGER, last_error TEXT,
    history TEXT NOT NULL DEFAULT '[]');
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO material VALUES ('http://s', 'film.agri', 0, 200, 2000, '废旧农膜');
INSERT INTO outbox (kind, server, username, idempotency_key, body, subject, state, scan_check,
    created_at, updated_at) VALUES ('handover', 'http://s', 'c', 'key-0001', '{"material":
    "film.agri"}', 'A → B', 'sending', 'verified', '2025-01-01', '2025-01-01');
"""


def test_a_state_file_of_the_first_version_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(V1_OUTBOX)
    db.close()
    with Store(path) as store:
        assert store.get_meta("schema") == "2"
        (item,) = store.items()
        assert (item.id, item.idempotency_key, item.state) == (1, "key-0001", "sending")
        assert store.materials("http://s")["film.agri"].name_en == ""
        fixed = store.enqueue(
            kind="correction",
            server="http://s",
            username="c",
            body={"received_mass_kg": 1, "reason": "mis-keyed"},
            subject="HO-20250101-ABCDE",
            scan_check="by code",
        )
        assert fixed.id == 2 and fixed.kind == "correction"
    with Store(path) as store:  # opening again changes nothing
        assert [i.id for i in store.items()] == [1, 2]


def test_a_database_of_another_program_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (name TEXT)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(UserError) as refused:
        Store(path)
    assert refused.value.msg.key == "state.foreign"
    assert path.read_bytes() == before
