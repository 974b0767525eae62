"""Import throughput: rows per second for profiles and events files, peak memory, and a re-import.

    .venv/bin/python benchmarks/import_speed.py [--rows 1000000] [--out benchmarks/results/import.json]

Writes a profiles CSV (eight columns, realistic values: repeated countries and tiers, unique names
and timestamps) and an events CSV of purchases for those profiles, imports each with
`cdp-agents import` in a fresh process (so peak RSS is the import's own), then imports the profiles
again, which must write nothing. Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from cli.main import app; app()"]
COUNTRIES = ["US", "GB", "UK", "DE", "Deutschland", "FR", "ES", "IT", "NL", "BR", "JP", "CA"]
FIRST = ["Ann", "Bob", "José", "Zoë", "Lukas", "Chloe", "Haruto", "Mia", "Sam", "Ines"]


def write_profiles(path: Path, rows: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("profile_id,first_name,last_name,country,city,language,tier,signup_at\n")
        for i in range(rows):
            day = rng.randrange(1, 28)
            out.write(
                f"c{i:08d},{rng.choice(FIRST)},Lee{i % 997},{rng.choice(COUNTRIES)},Berlin,"
                f"{rng.choice(['en', 'de', 'fr'])},{rng.choice(['standard', 'premium', 'vip'])},"
                f"2025-{rng.randrange(1, 13):02d}-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z\n"
            )


def write_events(path: Path, rows: int, profiles: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("message_id,profile_id,type,ts,properties.amount,properties.category\n")
        for i in range(rows):
            out.write(
                f"e{i:09d},c{rng.randrange(profiles):08d},purchase,2026-{rng.randrange(1, 11):02d}-"
                f"{rng.randrange(1, 28):02d}T10:00:00Z,{rng.randrange(100, 20000) / 100},"
                f"{rng.choice(['toys', 'books', 'garden'])}\n"
            )


def timed_import(path: Path, db: Path) -> dict:
    env = {**os.environ, "CDP_NOW": "2026-11-30T00:00:00Z", "CDP_AGENTS_NO_DOTENV": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [*CLI, "import", str(path), "--db", str(db)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {proc.stderr.strip()}")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb_so_far": round(peak_kb / 1024),
        "said": proc.stdout.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=None, help="event rows (default: same as --rows)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    events = args.events or args.rows
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        profiles, event_file, db = work / "profiles.csv", work / "events.csv", work / "cdp.db"
        write_profiles(profiles, args.rows, rng)
        write_events(event_file, events, args.rows, rng)
        first = timed_import(profiles, db)
        ev = timed_import(event_file, db)
        again = timed_import(profiles, db)
        result = {
            "rows": args.rows,
            "events": events,
            "profiles_file_mb": round(profiles.stat().st_size / 1e6, 1),
            "events_file_mb": round(event_file.stat().st_size / 1e6, 1),
            "profiles": {**first, "rows_per_s": round(args.rows / first["seconds"])},
            "events_import": {**ev, "rows_per_s": round(events / ev["seconds"])},
            "profiles_again": {**again, "rows_per_s": round(args.rows / again["seconds"])},
            "cpus": os.cpu_count(),
        }
    print("| file | rows | seconds | rows/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    for name, key, n in (("profiles", "profiles", args.rows), ("events (purchases)", "events_import", events),
                         ("profiles again (writes 0)", "profiles_again", args.rows)):  # fmt: skip
        r = result[key]
        print(f"| {name} | {n:,} | {r['seconds']} | {r['rows_per_s']:,} | {r['peak_rss_mb_so_far']} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
