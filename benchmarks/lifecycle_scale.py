"""The simulated lifecycle's cost per day as the campaign grows.

A broad objective (every customer, email and push) is run through the CLI's code path twice per size on
copies of one seeded CDP: once stopping at launch and once with `--simulate DAYS`. The difference,
divided by the days, is what one simulated day costs: a reminder wave through the gate (every third
day), the simulator, the day's measurement and the two agents' reviews (scripted model, no latency).

    .venv/bin/python benchmarks/lifecycle_scale.py [--sizes 10000 100000] [--days 7] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("CDP_NOW", "2026-11-24T12:00:00Z")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from engine_scale import master_for  # noqa: E402

OBJECTIVE = "grow revenue with a 10% discount for all customers by email and push"
RESULTS = HERE / "results"


def one_run(master: Path, work: Path, days: int) -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.context import Context
    from graph.graph import RECURSION_LIMIT, builder

    shutil.copyfile(master, work)
    graph = builder.compile(checkpointer=InMemorySaver())
    started = time.perf_counter()
    out = graph.invoke(
        {"objective": OBJECTIVE},
        {"configurable": {"thread_id": "lifecycle-bench"}, "recursion_limit": RECURSION_LIMIT},
        context=Context(db_path=str(work), approval="auto", model="scripted", simulate_days=days),
        durability="sync",
    )
    wall = time.perf_counter() - started
    conn = sqlite3.connect(work)
    try:
        sends = conn.execute("SELECT count(*) FROM sends").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events WHERE message_id LIKE 'sim:%'").fetchone()[0]
    finally:
        conn.close()
    return {"status": out.get("status"), "wall_s": round(wall, 2), "sends": sends, "simulated_events": events}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep and reuse seeded CDPs here")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        master, _ = master_for(n, workdir)
        launch = one_run(master, workdir / f"launch-{n}.db", 0)
        full = one_run(master, workdir / f"life-{n}.db", args.days)
        row = {
            "customers": n,
            "days": args.days,
            "launch_only_s": launch["wall_s"],
            "with_lifecycle_s": full["wall_s"],
            "per_day_s": round((full["wall_s"] - launch["wall_s"]) / args.days, 3),
            "sends": full["sends"],
            "simulated_events": full["simulated_events"],
            "status": full["status"],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
        for f in workdir.glob(f"*-{n}.db*"):
            if not f.name.startswith("master-"):
                f.unlink()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lifecycle.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
