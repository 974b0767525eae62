"""Contact-policy gate throughput: stage and decide whole audiences of N customers in SQL set operations.

    .venv/bin/python benchmarks/gate_throughput.py --customers 100000 1000000 --workdir /tmp/gate_bench

Each size uses a CDP seeded by `cdp.seed.seed_cdp` (kept in --workdir as seed_<N>_<seed>.db and
reused by later runs; `--synthetic` builds a minimal audience with executemany instead). Three
campaigns then go through the gate back to back over the whole audience, so the later ones meet the
earlier ones' sends (frequency cap, a conflicting discount, a budget that runs out):

* ``a``: 10% off shoes, email then SMS, sent at 14:00 UTC (SMS in Asia/Australia is deferred);
* ``b``: 20% off shoes (contradicts ``a``), push then email;
* ``c``: no offer, SMS then email;
* ``d``: no offer, email, a budget for emails to 5% of the audience.

The policy is the default except a frequency cap of 2 per 7 days, so ``c`` and ``d`` meet customers
who already had two promotions this week, and ``d``'s budget cuts the rest, highest value first.

For each: staging (`stage_segment_requests`), a dry run (approval preview), the real decision, and a
repeated run of ``a`` (idempotent: nothing left to decide). The benchmark campaigns are discarded
afterwards (`cdp.gate.discard_campaign`), so a reused CDP file starts clean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_NOW = "2026-11-24T12:00:00Z"
SEND_AT = "2026-11-24T14:00:00Z"
CAMPAIGNS: tuple[tuple[str, dict[str, Any], list[str]], ...] = (
    ("bench_a", {"discount_pct": 10, "offer_category": "shoes"}, ["email", "sms"]),
    ("bench_b", {"discount_pct": 20, "offer_category": "shoes"}, ["push", "email"]),
    ("bench_c", {}, ["sms", "email"]),
    ("bench_d", {}, ["email"]),
)


def _synthetic(db, customers: int) -> None:
    """A minimal audience: profiles, consents per channel, a few tickets, complaints and pauses."""
    countries = ("US", "GB", "DE", "FR", "JP", "AU", "BR", "IN")
    now = DEFAULT_NOW
    batch = 50_000
    conn = db.conn
    for start in range(0, customers, batch):
        ids = range(start, min(customers, start + batch))
        with conn:
            conn.executemany(
                "INSERT INTO profiles (profile_id, country, language, tier, signup_at, lifetime_value) "
                "VALUES (?, ?, 'en', 'standard', '2025-01-01T00:00:00Z', ?)",
                [(f"p{i:07d}", countries[i % len(countries)], (i * 7919) % 1000) for i in ids],
            )
            conn.executemany(
                "INSERT INTO consents VALUES (?, ?, ?, ?, 'signup')",
                [
                    (f"p{i:07d}", ch, "granted" if (i + k) % 5 else "revoked", "2025-01-01T00:00:00Z")
                    for i in ids
                    for k, ch in enumerate(("email", "sms", "push"))
                ],
            )
            conn.executemany(
                "INSERT INTO events (message_id, profile_id, type, ts) VALUES (?, ?, 'complaint', ?)",
                [(f"c{i}", f"p{i:07d}", now) for i in ids if i % 50 == 0],
            )
            conn.executemany(
                "INSERT INTO traits VALUES (?, 'suppress_promotions', '1', 'customer_service', ?)",
                [(f"p{i:07d}", now) for i in ids if i % 97 == 0],
            )


def _prepare(path: Path, customers: int, seed: int, synthetic: bool) -> dict[str, Any]:
    from cdp import open_cdp
    from cdp.seed import seed_cdp

    info: dict[str, Any] = {"reused": path.exists()}
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        db = open_cdp(tmp)
        started = time.perf_counter()
        if synthetic:
            _synthetic(db, customers)
        else:
            seed_cdp(db, customers=customers, seed=seed)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        info["build_seconds"] = round(time.perf_counter() - started, 1)
        shutil.move(tmp, path)
    return info


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def bench(path: Path, customers: int) -> dict[str, Any]:
    from cdp import open_cdp
    from cdp.gate import discard_campaign, run_gate
    from cdp.policy import ContactPolicy
    from cdp.requests import stage_segment_requests

    db = open_cdp(path)
    conn = db.conn
    policy = ContactPolicy(frequency_cap=2)  # two promotions a week, so c and d meet the cap
    profiles = conn.execute("SELECT count(*) FROM profiles").fetchone()[0]
    for cid, _, _ in CAMPAIGNS:
        discard_campaign(db, cid)
    with conn:
        conn.execute("DELETE FROM campaigns WHERE campaign_id LIKE 'bench_%'")
        conn.execute("DELETE FROM segment_members WHERE segment_id = 'bench_all'")
        conn.execute("DELETE FROM segments WHERE segment_id = 'bench_all'")
        conn.execute(
            "INSERT INTO segments (segment_id, name, filter_json, created_by, created_at) "
            "VALUES ('bench_all', 'everyone', '{}', 'benchmark', ?)",
            [DEFAULT_NOW],
        )
        conn.execute("INSERT INTO segment_members SELECT 'bench_all', profile_id FROM profiles")
        for cid, offer, _ in CAMPAIGNS:
            cols = {
                "campaign_id": cid,
                "name": cid,
                "objective": "gate benchmark",
                "created_at": DEFAULT_NOW,
                "updated_at": DEFAULT_NOW,
                **offer,
            }
            if cid == "bench_d":  # pays for emails to 5% of the audience
                cols["budget"] = round(profiles * 0.05 * policy.channel_costs["email"], 2)
            conn.execute(
                f"INSERT INTO campaigns ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                list(cols.values()),
            )
    rows = []
    for cid, _, channels in CAMPAIGNS:
        staged, t_stage = _timed(
            stage_segment_requests, db, cid, "bench_all", channel_priority=channels, send_at=SEND_AT
        )
        preview, t_preview = _timed(run_gate, db, cid, policy=policy, dry_run=True)
        result, t_gate = _timed(run_gate, db, cid, policy=policy)
        assert preview.to_dict() | {"dry_run": False} == result.to_dict()
        rows.append(
            {
                "campaign": cid,
                "staged": staged,
                "stage_s": round(t_stage, 3),
                "preview_s": round(t_preview, 3),
                "gate_s": round(t_gate, 3),
                "decisions_per_s": round(result.requested / t_gate) if t_gate else None,
                **result.to_dict(),
            }
        )
    again, t_again = _timed(run_gate, db, "bench_a", policy=policy)
    db_mb = round(os.path.getsize(path) / 1e6)
    for cid, _, _ in CAMPAIGNS:
        discard_campaign(db, cid)
    conn.close()
    return {
        "customers": customers,
        "profiles": profiles,
        "db_mb": db_mb,
        "campaigns": rows,
        "rerun_s": round(t_again, 3),
        "rerun_requested": again.requested,
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"\n{result['customers']:,} customers ({result['profiles']:,} resolved profiles), "
        f"DB {result['db_mb']} MB"
    )
    print(
        "| campaign | decisions | scheduled | deferred | held out | suppressed | stage (s) | preview (s) "
        "| gate (s) | decisions/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in result["campaigns"]:
        stopped = ", ".join(f"{k} {v:,}" for k, v in sorted(r["suppressed"].items(), key=lambda kv: -kv[1]))
        print(
            f"| {r['campaign']} | {r['requested']:,} | {r['scheduled']:,} | {r['deferred']:,} | "
            f"{r['held_out']:,} | {stopped} | {r['stage_s']} | {r['preview_s']} | {r['gate_s']} | "
            f"{r['decisions_per_s']:,} |"
        )
    print(f"repeat of bench_a: {result['rerun_requested']} requests left, {result['rerun_s']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gate_bench"))
    parser.add_argument("--synthetic", action="store_true", help="minimal audience instead of seed_cdp")
    parser.add_argument("--out", type=Path, default=None, help="write all results as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("CDP_NOW", DEFAULT_NOW)
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.customers:
        kind = "synthetic" if args.synthetic else f"seed{args.seed}"
        path = args.workdir / f"gate_{kind}_{n}.db"
        info = _prepare(path, n, args.seed, args.synthetic)
        result = bench(path, n) | info
        _print(result)
        results.append(result)
    if args.out:
        args.out.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
