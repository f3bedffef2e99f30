"""Where the reference data lives, and reading it.

In a source checkout the files are in ``data/`` at the top of the repository; an installed
wheel carries the same files as ``wasteflow/_data``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
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


def catalogue_materials(
    catalogue: dict[str, Any] | None = None, route_codes: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The materials of ``materials.json``, each with ``attributes.routes``: the treatment
    routes it may be treated under, its own ``routes`` if it has them, else its indicator's
    (``routes_by_indicator``). A list that is missing or empty, or that names a route
    ``routes.json`` lacks, is an error in the reference data: refused here, before it can
    reach a database. ``catalogue`` and ``route_codes`` default to the files."""
    if catalogue is None:
        catalogue = read_json("materials.json")
    known = set(
        route_codes
        if route_codes is not None
        else (r["code"] for r in read_json("routes.json")["routes"])
    )
    defaults: dict[str, list[str]] = catalogue.get("routes_by_indicator", {})
    out = []
    for m in catalogue["materials"]:
        attributes = dict(m.get("attributes", {}))
        if "routes" in attributes:
            raise ValueError(
                f"materials.json: {m['code']} lists routes inside attributes; give them as "
                "the material's own routes (the loader fills attributes.routes)"
            )
        routes = m.get("routes", defaults.get(m["indicator"]))
        if not routes:
            raise ValueError(
                f"materials.json: {m['code']} has no treatment routes: give it routes or "
                f"give indicator {m['indicator']!r} routes_by_indicator"
            )
        unknown = [r for r in routes if r not in known]
        if unknown:
            raise ValueError(
                f"materials.json: {m['code']} names route(s) {', '.join(unknown)} "
                "that routes.json does not have"
            )
        if len(set(routes)) != len(routes):
            raise ValueError(f"materials.json: {m['code']} names a route twice")
        attributes["routes"] = list(routes)
        out.append({k: v for k, v in m.items() if k != "routes"} | {"attributes": attributes})
    return out


DISTRICT = {
    "code": "500156",
    "name_zh": "武隆区",
    "name_en": "Wulong District",
    "kind_zh": "区",
    "lat": 29.325,
    "lon": 107.760,
}
