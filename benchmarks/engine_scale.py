"""Engine and scale: superstep overhead and checkpoint bytes with SqliteSaver, full-run cost per size,
and the parallelism check (a critical path of k tasks takes about k·L, not n·L).

    .venv/bin/python benchmarks/engine_scale.py [--sizes 10000 100000] [--full] [--out f.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

os.environ.setdefault("CDP_NOW", "2026-11-24T12:00:00Z")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supervisor_vs_reference import OBJECTIVES, Meter, run_ours, seeded_master

DEFAULT_OBJECTIVE = OBJECTIVES[0]


def _critical_path(plan: list[dict[str, Any]]) -> int:
    """Tasks on the longest dependency chain of the plan."""
    depth: dict[str, int] = {}
    by_id = {t["id"]: t for t in plan}

    def d(tid: str) -> int:
        if tid not in depth:
            depth[tid] = 1 + max((d(x) for x in by_id[tid].get("depends_on") or [] if x in by_id), default=0)
        return depth[tid]

    return max((d(t) for t in by_id), default=0)


def measure_size(master: Path, customers: int) -> dict[str, Any]:
    """One zero-latency run of the default objective with SqliteSaver on a copy of `master`."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    work = master.with_name(f"run-{customers}.db")
    ckpt = master.with_name(f"ckpt-{customers}.db")
    with sqlite3.connect(master) as src, sqlite3.connect(work) as dst:
        src.backup(dst)
    conn = sqlite3.connect(str(ckpt), check_same_thread=False)
    saver = SqliteSaver(conn)
    tracemalloc.start()
    started = time.perf_counter()
    out = run_ours(work, DEFAULT_OBJECTIVE, f"scale-{customers}", Meter(), 0, 0, checkpointer=saver)
    wall = time.perf_counter() - started
    _, peak_py = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = conn.execute("SELECT length(checkpoint), length(metadata) FROM checkpoints").fetchall()
    writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes").fetchone()[0]
    conn.close()
    steps = len(rows)
    sizes = [a + b for a, b in rows]
    return {
        "customers": customers,
        "status": out["status"],
        "wall_s": round(wall, 3),
        "checkpoints": steps,
        "ms_per_superstep": round(1000 * wall / max(1, steps), 2),
        "checkpoint_bytes_mean": int(sum(sizes) / max(1, steps)),
        "checkpoint_bytes_max": max(sizes, default=0),
        "writes_bytes_per_step": int(writes / max(1, steps)),
        "peak_python_mb": round(peak_py / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def parallelism(master: Path, latency_ms: float) -> dict[str, Any]:
    """With a fixed latency L per call, wall time against k·L (critical path) and n·L (all calls)."""
    work = master.with_name("par.db")
    with sqlite3.connect(master) as src, sqlite3.connect(work) as dst:
        src.backup(dst)
    from langgraph.checkpoint.memory import InMemorySaver
    from supervisor_vs_reference import model_factory, patch_graph_models

    from graph.context import Context
    from graph.graph import RECURSION_LIMIT, builder

    meter = Meter()
    patch_graph_models(model_factory(meter, latency_ms, 0))
    g = builder.compile(checkpointer=InMemorySaver())
    started = time.perf_counter()
    out = g.invoke(
        {"objective": DEFAULT_OBJECTIVE},
        {"configurable": {"thread_id": "par"}, "recursion_limit": RECURSION_LIMIT, "max_concurrency": 8},
        context=Context(db_path=str(work), approval="auto"),
        durability="sync",
    )
    wall = time.perf_counter() - started
    plan = out.get("plan") or []
    k = _critical_path(plan) + 2  # plus planning and synthesis, which are sequential
    L = latency_ms / 1000
    return {
        "latency_ms": latency_ms,
        "tasks": len(plan),
        "calls": meter.calls,
        "critical_path_calls": k,
        "wall_s": round(wall, 2),
        "k_L_s": round(k * L, 2),
        "n_L_s": round(meter.calls * L, 2),
        "wall_over_kL": round(wall / (k * L), 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--full", action="store_true", help="add 1,000,000 customers (seeding takes ~6 min)")
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = [*args.sizes, *([1_000_000] if args.full else [])]
    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    report: dict[str, Any] = {"sizes": []}
    for n in sizes:
        t = time.perf_counter()
        master = seeded_master(n, workdir)
        seed_s = time.perf_counter() - t
        row = {**measure_size(master, n), "seed_s": round(seed_s, 1)}
        print(json.dumps(row), flush=True)
        report["sizes"].append(row)
        if n == sizes[0]:
            report["parallelism"] = parallelism(master, args.latency_ms)
            print(json.dumps(report["parallelism"]), flush=True)
        for p in workdir.glob("*"):
            p.unlink(missing_ok=True)
    workdir.rmdir()
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
