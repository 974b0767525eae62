"""Parallelism: with a model latency L per call, a plan whose critical path makes k calls takes about
k·L, not n·L for its n calls, as long as `max_concurrency` covers the widest wave of ready tasks.

Each objective runs on a fresh copy of one small CDP, with `SqliteSaver` on a file and
`durability="sync"` as `cdp-agents run` does (WAL, `synchronous=NORMAL`), at `max_concurrency` 1, 4
and 8 (the `Context` default); the same run with no latency, at the default, measures the tool and
framework work that adds to the latency.

    .venv/bin/python benchmarks/parallelism.py [--latency-ms 300] [--repeats 3] [--out f.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from math import ceil
from pathlib import Path
from typing import Any

os.environ.setdefault("CDP_NOW", "2026-11-24T12:00:00Z")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from langchain_core.runnables import RunnableConfig  # noqa: E402
from supervisor_vs_reference import OBJECTIVES, Meter, model_factory, seeded_master  # noqa: E402

#: The default objective (7 tasks), the widest plan of the reference set (a budget task: 8), and an
#: objective written for this check: a budget and a growth goal add two more independent tasks (9).
PARALLEL_OBJECTIVES = [
    OBJECTIVES[0],
    OBJECTIVES[2],
    "grow revenue from loyal customers in France with a 5k EUR budget",
]
CONCURRENCY = (1, 4, 8)


def default_max_concurrency() -> int:
    """`Context.max_concurrency` as `cdp-agents run` and `demo` pass it."""
    from graph.context import Context

    return Context().max_concurrency


def waves(plan: list[dict[str, Any]]) -> list[list[str]]:
    """Tasks the dispatcher sends together: each wave is every task whose dependencies are all done."""
    done: set[str] = set()
    left = {t["id"]: set(t.get("depends_on") or []) for t in plan}
    out = []
    while left:
        ready = sorted(tid for tid, deps in left.items() if deps <= done)
        if not ready:
            break
        out.append(ready)
        done.update(ready)
        for tid in ready:
            del left[tid]
    return out


def latency_rounds(plan: list[dict[str, Any]], max_concurrency: int) -> int:
    """Model calls one after another: planning, ceil(wave / max_concurrency) per wave, synthesis."""
    return 2 + sum(ceil(len(w) / max_concurrency) for w in waves(plan))


def run_once(
    master: Path, workdir: Path, objective: str, latency_ms: float, max_concurrency: int
) -> dict[str, Any]:
    from instrument import checkpoint_file

    from graph.context import Context
    from graph.graph import RECURSION_LIMIT, builder

    work, ckpt = workdir / "par.db", workdir / f"par-ckpt-{time.monotonic_ns()}.db"
    shutil.copyfile(master, work)
    meter = Meter()
    context = Context(
        db_path=str(work),
        approval="auto",
        max_concurrency=max_concurrency,
        model_factory=model_factory(meter, latency_ms, 0),
    )
    config: RunnableConfig = {
        "configurable": {"thread_id": "par"},
        "recursion_limit": RECURSION_LIMIT,
        "max_concurrency": context.max_concurrency,
    }
    with checkpoint_file(ckpt) as saver:
        g = builder.compile(checkpointer=saver)
        started = time.perf_counter()
        out = g.invoke({"objective": objective}, config, context=context, durability="sync")
        wall = time.perf_counter() - started
    for p in [*workdir.glob("par.db*"), *workdir.glob(ckpt.name + "*")]:
        p.unlink()
    return {"wall_s": wall, "calls": meter.calls, "plan": out.get("plan") or [], "status": out.get("status")}


def measure(
    objective: str, master: Path, workdir: Path, latency_ms: float, repeats: int
) -> list[dict[str, Any]]:
    L = latency_ms / 1000
    default = default_max_concurrency()
    base = [run_once(master, workdir, objective, 0, default) for _ in range(repeats)]
    work_s = statistics.median(r["wall_s"] for r in base)
    plan = base[0]["plan"]
    k = latency_rounds(plan, len(plan) or 1)
    rows = []
    for c in CONCURRENCY:
        runs = [run_once(master, workdir, objective, latency_ms, c) for _ in range(repeats)]
        wall = statistics.median(r["wall_s"] for r in runs)
        calls = runs[0]["calls"]
        rows.append(
            {
                "objective": objective,
                "tasks": len(plan),
                "waves": [len(w) for w in waves(plan)],
                "calls": calls,
                "critical_path_calls": k,
                "max_concurrency": c,
                "default_max_concurrency": c == default,
                "latency_ms": latency_ms,
                "wall_s": round(wall, 2),
                "wall_no_latency_s": round(work_s, 2),
                "k_L_s": round(k * L, 2),
                "n_L_s": round(calls * L, 2),
                "expected_s": round(latency_rounds(plan, c) * L + work_s, 2),
                "all_completed": all(r["status"] == "completed" for r in [*base, *runs]),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-par-"))
    try:
        master = seeded_master(args.customers, workdir)
        rows = [
            r for o in PARALLEL_OBJECTIVES for r in measure(o, master, workdir, args.latency_ms, args.repeats)
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
