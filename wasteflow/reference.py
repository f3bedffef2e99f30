"""Where the reference data lives, and reading it.

In a source checkout the files are in ``data/`` at the top of the repository; an installed
wheel carries the same files as ``wasteflow/_data``.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


@lru_cache
def data_dir() -> Path:
    for candidate in (_HERE / "_data", _HERE.parent / "data"):
        if (candidate / "materials.json").is_file():
            return candidate
    raise FileNotFoundError(
        "wasteflow's reference data is missing: expected data/ beside the package "
        "or wasteflow/_data in the installed wheel"
    )


def read_json(name: str) -> Any:
    with open(data_dir() / name, encoding="utf-8") as f:
        return json.load(f)


def read_csv(name: str) -> list[dict[str, str]]:
    with open(data_dir() / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


DISTRICT = {
    "code": "500156",
    "name_zh": "武隆区",
    "name_en": "Wulong District",
    "kind_zh": "区",
    "lat": 29.325,
    "lon": 107.760,
}
