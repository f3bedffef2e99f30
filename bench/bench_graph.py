"""Benchmark of the flow graph on a random district-like network.

    python bench/bench_graph.py [--sites 100000 --flows 300000 --repeat 3] [--json PATH]

Sources send to collection points (mostly in their own township), collection points exchange
some material back and forth (cycles) and send on to transfer stations and processors,
transfer stations to processors and disposal sites, which treat what they receive. Each figure
is the wall time of one public call from the record lists (network compilation included,
unless the row says "prebuilt"), with median/min/max over ``--repeat`` runs, and its ratio to
a baseline measured in the same run: ``numpy.bincount`` of the flow masses by destination.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

MATERIALS = (
    "manure.pig",
    "manure.cattle",
    "straw.rice",
    "straw.maize",
    "film.agri",
    "industrial.slag",
)
ROUTES = {
    # (kind, material family) -> [(route, route_class, share)]
    "manure": [("compost", "utilisation", 0.6), ("biogas", "utilisation", 0.4)],
    "straw": [("field_return", "utilisation", 0.5), ("feed", "utilisation", 0.3)],
    "film": [("recycling", "utilisation", 0.8)],
    "industrial": [("building_material", "utilisation", 0.5), ("yard", "storage", 0.3)],
}
DISPOSAL_ROUTES = [("landfill", "disposal", 0.7), ("incineration", "disposal", 0.3)]
N_TOWNSHIPS = 26
PERIOD_START = date(2025, 1, 1)
PERIOD_DAYS = 92  # a quarter


def _pick_in_region(
    rng: np.random.Generator,
    want_region: np.ndarray,
    pool: np.ndarray,
    region: np.ndarray,
    p_local: float,
) -> np.ndarray:
    """A random member of ``pool`` for each entry, from the wanted township with ``p_local``."""
    by_region = pool[np.argsort(region[pool], kind="stable")]
    counts = np.bincount(region[by_region], minlength=N_TOWNSHIPS)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    local = (rng.random(want_region.size) < p_local) & (counts[want_region] > 0)
    pick = pool[rng.integers(0, pool.size, want_region.size)]
    r = want_region[local]
    pick[local] = by_region[first[r] + (rng.random(r.size) * counts[r]).astype(np.int64)]
    return pick


def generate(n_sites: int, n_flows: int, seed: int = 7) -> dict[str, Any]:
    """Random district: sites, per-day flows, treatments, opening stock, potentials, scans."""
    from graph import Flow, Scan, SiteNode, Treatment

    rng = np.random.default_rng(seed)
    kinds = np.array(["source", "collection_point", "transfer_station", "processor", "disposal"])
    share = np.array([0.78, 0.15, 0.04, 0.025, 0.005])
    kind = np.repeat(np.arange(5), np.floor(share * n_sites).astype(int))
    kind = np.concatenate((kind, np.zeros(n_sites - kind.size, dtype=int)))
    rng.shuffle(kind)
    ids = rng.choice(np.arange(1, 3 * n_sites), n_sites, replace=False)
    region = rng.integers(0, N_TOWNSHIPS, n_sites)
    codes = [f"500156{100 + i:03d}" for i in range(N_TOWNSHIPS)]
    lat = 29.2 + 0.4 * rng.random(n_sites)
    lon = 107.5 + 0.6 * rng.random(n_sites)
    cap = np.where(kind == 0, np.nan, rng.lognormal(10, 1, n_sites))
    sites = [
        SiteNode(
            int(i), str(kinds[k]), codes[r], None if np.isnan(c) else float(c), float(a), float(o)
        )
        for i, k, r, c, a, o in zip(
            ids.tolist(), kind.tolist(), region.tolist(), cap, lat, lon, strict=True
        )
    ]
    of_kind = [np.flatnonzero(kind == k) for k in range(5)]
    src_mat = rng.integers(0, len(MATERIALS), n_sites)

    budget = {
        "src_cp": int(0.62 * n_flows),
        "cycle": int(0.02 * n_flows),
        "cp_on": int(0.20 * n_flows),
        "ts_on": 0,
    }
    budget["ts_on"] = n_flows - sum(budget.values())
    parts: list[tuple[np.ndarray, ...]] = []

    def add(src, dst, mat, mass):
        parts.append((src, dst, mat, mass))

    def pool_inflow(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.concatenate([p[1] for p in parts])
        m = np.concatenate([p[2] for p in parts])
        w = np.concatenate([p[3] for p in parts])
        key = s * len(MATERIALS) + m
        tot = np.bincount(key, weights=w, minlength=n_sites * len(MATERIALS))
        out_key = np.concatenate([p[0] for p in parts]) * len(MATERIALS) + m
        tot -= np.bincount(out_key, weights=w, minlength=tot.size)
        keys = np.flatnonzero(tot > 0)
        keys = keys[np.isin(keys // len(MATERIALS), nodes)]
        return keys // len(MATERIALS), keys % len(MATERIALS), tot[keys]

    # Sources to collection points, 85 % within their township.
    s = of_kind[0][rng.integers(0, of_kind[0].size, budget["src_cp"])]
    d = _pick_in_region(rng, region[s], of_kind[1], region, 0.85)
    add(s, d, src_mat[s], rng.lognormal(5, 1, s.size))

    # Back and forth between collection points (cycles), half each way.
    node, mat, held = pool_inflow(of_kind[1])
    pick = rng.integers(0, node.size, budget["cycle"] // 2)
    other = of_kind[1][rng.integers(0, of_kind[1].size, pick.size)]
    add(node[pick], other, mat[pick], 0.2 * held[pick])
    add(other, node[pick], mat[pick], 0.1 * held[pick])

    def send_on(nodes, dest_kinds, n_out, keep):
        node, mat, held = pool_inflow(nodes)
        extra = rng.integers(0, node.size, max(n_out - node.size, 0))
        row = np.concatenate((np.arange(node.size), extra))[:n_out]
        dest = np.concatenate([of_kind[k] for k in dest_kinds])
        to = _pick_in_region(rng, region[node[row]], dest, region, 0.6)
        weight = rng.random(row.size)
        norm = np.bincount(row, weights=weight, minlength=node.size)
        # Most pools forward everything they hold; some keep part of it in stock.
        kept = np.where(rng.random(node.size) < 0.1, keep, 0.0)
        add(node[row], to, mat[row], (1 - kept[row]) * held[row] * weight / norm[row])

    send_on(of_kind[1], (2, 3), budget["cp_on"], keep=0.3)
    send_on(of_kind[2], (3, 4), budget["ts_on"], keep=0.2)

    src, dst, mat, mass = (np.concatenate([p[i] for p in parts]) for i in range(4))
    day = rng.integers(0, PERIOD_DAYS, src.size)
    declared = mass * (1 + rng.normal(0, 0.01, src.size))
    declared[rng.random(src.size) < 0.005] *= 1.3
    days = [PERIOD_START + timedelta(days=int(x)) for x in range(PERIOD_DAYS)]
    flows = [
        Flow(int(a), int(b), MATERIALS[m], float(w), float(dc), float(w), days[dy])
        for a, b, m, w, dc, dy in zip(
            ids[src].tolist(),
            ids[dst].tolist(),
            mat.tolist(),
            mass.tolist(),
            declared.tolist(),
            day.tolist(),
            strict=True,
        )
    ]

    # A treating site records what it accepted from each sender (its lots), as receipts do.
    treatments = []
    into = np.isin(dst, np.concatenate((of_kind[3], of_kind[4])))
    lot_key = (src[into] * n_sites + dst[into]) * len(MATERIALS) + mat[into]
    keys, lot_kg = np.unique(lot_key, return_inverse=True)
    lot_kg = np.bincount(lot_kg, weights=mass[into])
    senders = keys // len(MATERIALS) // n_sites
    sites_t = keys // len(MATERIALS) % n_sites
    for a, i, m, kg in zip(
        senders.tolist(),
        sites_t.tolist(),
        (keys % len(MATERIALS)).tolist(),
        lot_kg.tolist(),
        strict=True,
    ):
        family = MATERIALS[m].split(".")[0]
        routes = DISPOSAL_ROUTES if kind[i] == 4 else ROUTES[family]
        for route, cls, part in routes:
            treatments.append(
                Treatment(int(ids[i]), MATERIALS[m], route, cls, part * kg, days[-1], int(ids[a]))
            )
    onsite = of_kind[0][rng.random(of_kind[0].size) < 0.05]
    for i in onsite.tolist():
        treatments.append(
            Treatment(int(ids[i]), MATERIALS[src_mat[i]], "compost", "utilisation", 50.0)
        )

    out_src = np.bincount(src, weights=mass, minlength=n_sites)
    sampled = of_kind[0][rng.random(of_kind[0].size) < 0.2]
    potential = {
        (int(ids[i]), MATERIALS[src_mat[i]]): float(out_src[i] * rng.uniform(0.8, 1.6))
        for i in sampled.tolist()
    }
    opening = {
        (int(ids[i]), MATERIALS[src_mat[i]]): float(rng.lognormal(6, 1))
        for i in of_kind[1][rng.random(of_kind[1].size) < 0.3].tolist()
    }
    n_scans = min(100_000, src.size)
    pick = rng.integers(0, src.size, n_scans)
    jitter = np.where(rng.random(n_scans) < 0.01, 0.02, 0.0005)
    scans = [
        Scan(f"h{k}", int(ids[d]), float(lat[d] + j * rng.standard_normal()), float(lon[d]))
        for k, (d, j) in enumerate(zip(dst[pick].tolist(), jitter.tolist(), strict=True))
    ]
    return {
        "sites": sites,
        "flows": flows,
        "treatments": treatments,
        "opening": opening,
        "potential": potential,
        "scans": scans,
        "arrays": (dst.astype(np.int64), mass),
        "n_sites": n_sites,
    }


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return runs


def run(n_sites: int, n_flows: int, repeat: int) -> dict[str, Any]:
    """Generate the network, time every computation and return the figures in seconds."""
    from graph import (
        FlowNetwork,
        attribute_fates,
        detect_anomalies,
        mass_balance,
        origin_shares,
        sankey,
        utilised_by_origin,
    )

    t0 = time.perf_counter()
    data = generate(n_sites, n_flows)
    generated_s = time.perf_counter() - t0
    sites, flows, treatments = data["sites"], data["flows"], data["treatments"]
    dst, mass = data["arrays"]
    net = FlowNetwork(sites, flows, treatments)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("baseline: np.bincount(dst, mass)", lambda: np.bincount(dst, mass, minlength=n_sites)),
        ("FlowNetwork (compile records)", lambda: FlowNetwork(sites, flows, treatments)),
        ("mass_balance", lambda: mass_balance(sites, flows, treatments, data["opening"])),
        (
            "origin_shares by township, all materials",
            lambda: origin_shares(sites, flows, None, treatments=treatments),
        ),
        (
            "origin_shares by township, manure.pig",
            lambda: origin_shares(sites, flows, "manure.pig", treatments=treatments),
        ),
        (
            "utilised_by_origin, all materials",
            lambda: utilised_by_origin(sites, flows, treatments, None),
        ),
        (
            "utilised_by_origin, 6 materials one by one, prebuilt",
            lambda: [utilised_by_origin(net, None, None, m) for m in MATERIALS],
        ),
        (
            "detect_anomalies",
            lambda: detect_anomalies(
                sites,
                flows,
                treatments,
                opening_stock=data["opening"],
                potential=data["potential"],
                scans=data["scans"],
            ),
        ),
        ("sankey by kind", lambda: sankey(sites, flows, treatments)),
    ]
    figures = {}
    for name, fn in cases:
        fn()  # warm caches and imports so that the first run is not an outlier
        runs = _time(fn, repeat)
        figures[name] = {
            "median_s": statistics.median(runs),
            "min_s": min(runs),
            "max_s": max(runs),
        }
    base = figures[cases[0][0]]["median_s"]
    for f in figures.values():
        f["ratio_to_baseline"] = f["median_s"] / base
    shares = origin_shares(net, None, None)
    anomalies = detect_anomalies(
        net, opening_stock=data["opening"], potential=data["potential"], scans=data["scans"]
    )
    by_kind: dict[str, int] = {}
    for a in anomalies:
        by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
    # Exactness: mass in minus mass out over the whole district, and per source the fates
    # against the generation (all materials as one), in grams. A load's sender books what it
    # declared and its receiver what it accepted; the difference (discrepancies, refusals) is
    # in no site's stock, so it is taken out before the residual is read.
    rows = mass_balance(net, opening_stock=data["opening"]).values()
    between_ends = [f.declared_kg - f.mass_kg for f in flows if f.declared_kg is not None]
    balance_residual = math.fsum(
        [r.generated for r in rows] + [r.opening for r in rows]
        + [-r.treated for r in rows] + [-r.closing for r in rows] + [-d for d in between_ends]
    )  # fmt: skip
    # Per source, fates add up to what it generated as its loads' receivers counted them, so
    # the solver's exactness is read on the flows with their accepted mass only.
    accepted_only = [dataclasses.replace(f, declared_kg=None, received_kg=None) for f in flows]
    exact = FlowNetwork(sites, accepted_only, treatments)
    fates = attribute_fates(exact, None, None, None, lambda s: str(s.id))
    generated: dict[int, float] = {}
    for r in mass_balance(exact, opening_stock=data["opening"]).values():
        generated[r.site] = generated.get(r.site, 0.0) + r.generated
    fate_residual = max(
        (abs(math.fsum(f.values()) - generated[int(k)]) for k, f in fates.items()), default=0.0
    )
    return {
        "sites": n_sites,
        "flows": len(flows),
        "treatments": len(treatments),
        "scans": len(data["scans"]),
        "repeat": repeat,
        "generate_s": generated_s,
        "groups": len(shares.groups),
        "balance_residual_g": 1000 * balance_residual,
        "max_source_fate_residual_g": 1000 * fate_residual,
        "anomalies": by_kind,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "figures": figures,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--flows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args.sites, args.flows, max(args.repeat, 1))
    print(
        f"{result['sites']:,} sites, {result['flows']:,} flows, {result['treatments']:,} "
        f"treatments, {result['scans']:,} scans; {result['groups']} origin groups; "
        f"{args.repeat} runs (generation {result['generate_s']:.1f} s)"
    )
    print(f"anomalies found: {result['anomalies']}")
    print(
        f"district balance residual {result['balance_residual_g']:.2e} g; largest per-source "
        f"|fates - generation| {result['max_source_fate_residual_g']:.2e} g"
    )
    width = max(len(k) for k in result["figures"])
    print(f"{'':{width}}  {'median':>9} {'min':>9} {'max':>9} {'× base':>8}")
    for name, f in result["figures"].items():
        print(
            f"{name:{width}}  {f['median_s'] * 1e3:7.1f}ms {f['min_s'] * 1e3:7.1f}ms "
            f"{f['max_s'] * 1e3:7.1f}ms {f['ratio_to_baseline']:8.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    # Run from a checkout without installing: make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
