"""CDP scale benchmark: seed, ingestion, identity resolution, lookups and audience counts at N customers.

    .venv/bin/python benchmarks/cdp_scale.py --customers 10000 100000 1000000 \
        --out benchmarks/results/cdp_scale.json

Each size gets a fresh CDP file (in --workdir, default a temp folder), with the clock pinned by
CDP_NOW (default 2026-11-24T12:00:00Z) so every run measures the same data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_NOW = "2026-11-24T12:00:00Z"
INGEST_EVENTS = 100_000
LOOKUPS = 1_000
AUDIENCE_RUNS = 7
AUDIENCE_FILTERS: dict[str, Any] = {
    "at-risk": {"segment": "at-risk"},
    "lapsed DE/FR": {"all": [{"segment": "lapsed"}, {"field": "country", "op": "in", "value": ["DE", "FR"]}]},
    "premium+vip email opt-in": {
        "all": [
            {"field": "tier", "op": "in", "value": ["premium", "vip"]},
            {"field": "consent_email", "op": "eq", "value": True},
        ]
    },
    "high-value active": {"all": [{"segment": "high-value"}, {"segment": "active"}]},
    "engaged, no open ticket": {
        "all": [
            {"field": "engagement_score", "op": "gte", "value": 0.5},
            {"field": "open_ticket", "op": "eq", "value": False},
        ]
    },
}


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def bench_ingest(db, rng: random.Random, n: int, batch_size: int, tag: str) -> float:
    """events/s for n new events on random existing customers (30% purchases), batched."""
    from cdp.ingest import ingest_events

    ids = [r[0] for r in db.execute("SELECT profile_id FROM profiles")]
    categories = ("shoes", "apparel", "books", "home")
    rows = []
    for i in range(n):
        kind = "purchase" if rng.random() < 0.3 else rng.choice(("page_view", "email_open", "email_click"))
        props: dict[str, Any] = (
            {"amount": round(rng.uniform(5, 300), 2), "category": rng.choice(categories)}
            if kind == "purchase"
            else {"path": "/"}
        )
        rows.append(
            {
                "message_id": f"bench-{tag}-{i}",
                "profile_id": rng.choice(ids),
                "type": kind,
                "ts": f"2026-11-2{rng.randint(0, 3)}T{rng.randint(0, 11):02d}:{rng.randint(0, 59):02d}:00Z",
                "properties": props,
            }
        )
    started = time.perf_counter()
    result = ingest_events(db, rows, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    assert result.inserted == n, result
    return n / elapsed


def bench_identity_links(workdir: Path, links: int) -> dict[str, float]:
    """Resolve `links` identifier links over links/2 profiles, one in ten sharing an email with another."""
    from cdp import open_cdp
    from cdp.identity import resolve_identities

    path = workdir / f"links-{links}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_cdp(path)
    n = links // 2
    rng = random.Random(links)
    with db.conn:
        db.conn.executemany(
            "INSERT INTO profiles (profile_id, signup_at, created_at) VALUES (?, ?, ?)",
            ((f"L{i:08d}", f"2024-{1 + i % 12:02d}-01T00:00:00Z", DEFAULT_NOW) for i in range(n)),
        )
        rows = []
        for i in range(n):
            # one in ten profiles is a second record of the previous person: same email
            email_owner = i - 1 if i and rng.random() < 0.1 else i
            rows.append(("email", f"u{email_owner}@example.com", f"L{i:08d}", "bench", DEFAULT_NOW))
            rows.append(("cookie", f"ck{i}", f"L{i:08d}", "bench", DEFAULT_NOW))
        db.conn.executemany("INSERT OR IGNORE INTO identity_links VALUES (?, ?, ?, ?, ?)", rows)
    result = resolve_identities(db)
    db.conn.close()
    return {"links": len(rows), "merged": result.merged, "seconds": result.seconds}


def bench_incremental(db, rng: random.Random, pairs: int = 500) -> float:
    """Seconds to add links that merge `pairs` new web visitors (5 events each) into seeded customers.

    The visitors have no crm_id, so each link merges: events move, masters are recomputed.
    """
    from cdp.ingest import add_identities, ingest_events

    ids = [r[0] for r in db.execute("SELECT profile_id FROM profiles")]
    customers = rng.sample(ids, pairs)
    visits = [
        {"message_id": f"bench-visit-{k}-{j}", "profile_id": f"bench-web-{k}", "type": "page_view"}
        for k in range(pairs)
        for j in range(5)
    ]
    ingest_events(db, visits)
    rows = []
    for k, pid in enumerate(customers):
        rows.append({"profile_id": pid, "kind": "cookie", "value": f"bench-shared-{k}"})
        rows.append({"profile_id": f"bench-web-{k}", "kind": "cookie", "value": f"bench-shared-{k}"})
    started = time.perf_counter()
    result = add_identities(db, rows)
    elapsed = time.perf_counter() - started
    assert result.resolution is not None and result.resolution.merged == pairs, result
    return elapsed


def bench_lookup(db, rng: random.Random) -> float:
    ids = [r[0] for r in db.execute("SELECT profile_id FROM profiles")]
    samples = []
    for pid in rng.sample(ids, min(LOOKUPS, len(ids))):
        started = time.perf_counter()
        row = db.execute("SELECT * FROM customer_360 WHERE profile_id = ?", [pid]).fetchone()
        samples.append(time.perf_counter() - started)
        assert row is not None
    return p95(samples) * 1000


def bench_audiences(db) -> dict[str, dict[str, float]]:
    from cdp.filters import compile_filter

    out = {}
    for name, spec in AUDIENCE_FILTERS.items():
        samples = []
        count = 0
        for _ in range(AUDIENCE_RUNS + 1):
            started = time.perf_counter()
            compiled = compile_filter(
                spec, db
            )  # compiling is part of the cost (high-value reads a threshold)
            count = db.execute(
                f"SELECT count(*) FROM customer_360 WHERE {compiled.where}", compiled.params
            ).fetchone()[0]
            samples.append(time.perf_counter() - started)
        out[name] = {"p95_ms": p95(samples[1:]) * 1000, "count": count}
    return out


def run_size(customers: int, workdir: Path) -> dict[str, Any]:
    from cdp import open_cdp
    from cdp.seed import seed_cdp

    path = workdir / f"cdp-{customers}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_cdp(path)
    print(f"[{customers:,}] seeding ...", flush=True)
    summary = seed_cdp(db, customers=customers, seed=42)
    result: dict[str, Any] = {
        "customers": customers,
        "seed_seconds": round(summary.seconds, 1),
        "events": summary.events,
        "profiles": summary.profiles,
        "merges": summary.merges,
        "seed_resolution_seconds": round(summary.resolution_seconds, 2),
        "at_risk": summary.at_risk,
    }
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result["db_mb"] = round(path.stat().st_size / 1e6, 1)
    rng = random.Random(customers)
    print(f"[{customers:,}] lookups and audiences ...", flush=True)
    result["lookup_p95_ms"] = round(bench_lookup(db, rng), 3)
    result["audiences"] = {
        k: {"p95_ms": round(v["p95_ms"], 1), "count": v["count"]} for k, v in bench_audiences(db).items()
    }
    result["audience_p95_ms_max"] = max(v["p95_ms"] for v in result["audiences"].values())
    print(f"[{customers:,}] ingestion ...", flush=True)
    result["ingest_eps_batch_1000"] = round(bench_ingest(db, rng, INGEST_EVENTS, 1_000, "a"))
    result["ingest_eps_batch_10000"] = round(bench_ingest(db, rng, INGEST_EVENTS, 10_000, "b"))
    print(f"[{customers:,}] identity resolution ...", flush=True)
    result["incremental_merge_500_pairs_seconds"] = round(bench_incremental(db, rng), 3)
    db.conn.close()
    links = bench_identity_links(workdir, customers)
    result["identity_links"] = links["links"]
    result["identity_merged"] = links["merged"]
    result["identity_resolve_seconds"] = round(links["seconds"], 2)
    print(json.dumps(result), flush=True)
    return result


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| customers | seed (s) | events | DB size (MB) | ingest ev/s (batch 1k / 10k) | identity links | "
        "resolve (s) | 360 lookup p95 (ms) | audience count p95 (ms, worst filter) |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in results:
        lines.append(
            f"| {r['customers']:,} | {r['seed_seconds']} | {r['events']:,} | {r['db_mb']} | "
            f"{r['ingest_eps_batch_1000']:,} / {r['ingest_eps_batch_10000']:,} | {r['identity_links']:,} | "
            f"{r['identity_resolve_seconds']} | {r['lookup_p95_ms']} | {r['audience_p95_ms_max']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=None, help="write all results as JSON here")
    parser.add_argument("--workdir", type=Path, default=None, help="where the CDP files go (default: temp)")
    args = parser.parse_args(argv)
    os.environ.setdefault("CDP_NOW", DEFAULT_NOW)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cdp-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = [run_size(n, workdir) for n in args.customers]
    report = {"machine": machine(), "cdp_now": os.environ["CDP_NOW"], "results": results}
    print(table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
