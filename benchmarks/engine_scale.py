"""Engine and scale: a full offline run of the default objective per audience size, each in a fresh process.

Per size, the parent seeds one CDP (or reuses it from `--workdir`), then for every repeat copies it
and starts a child process that runs the graph once with `SqliteSaver` on its own file and
`durability="sync"`, as `cdp-agents run` does (WAL, `synchronous=NORMAL`, `max_concurrency` from
`Context`). The child reports the run's wall time, its own peak RSS (so seeding never counts),
checkpoint bytes per superstep, and the framework overhead: wall time minus the time at least one
node function was running, per superstep.

    .venv/bin/python benchmarks/engine_scale.py [--sizes 10000 100000] [--repeats 3] [--workdir DIR]
        [--checkpoint-sync NORMAL|FULL] [--out f.json]

With `--workdir`, seeded CDPs are kept there and reused by later runs (1M: ~6 min and 4.6 GB). Each
size is recorded in benchmarks/results/engine-<customers>.json (the CLI's NORMAL, which the plot
reads) or engine-<customers>-full.json (`--checkpoint-sync FULL`: an fsync per checkpoint commit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("CDP_NOW", "2026-11-24T12:00:00Z")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from instrument import CLI_CHECKPOINT_SYNC  # noqa: E402
from supervisor_vs_reference import OBJECTIVES, seeded_master  # noqa: E402

DEFAULT_OBJECTIVE = OBJECTIVES[0]
RESULTS = HERE / "results"


def _rss_mb(field: str = "VmHWM") -> float:
    """This process's peak (`VmHWM`) or current (`VmRSS`) resident set size, MB.

    Not `getrusage().ru_maxrss`: Linux carries the parent's peak into a child across fork and exec,
    so a child of a process that seeded a large CDP would report the seeding's memory as its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_instrumented(
    work_db: Path, ckpt_db: Path, objective: str, thread_id: str, synchronous: str = CLI_CHECKPOINT_SYNC
) -> dict[str, Any]:
    """One zero-latency run with timed nodes and a timed `SqliteSaver` (in this process)."""
    from instrument import NodeClock, checkpoint_file, checkpoint_sizes, timed_builder
    from langchain_core.runnables import RunnableConfig
    from supervisor_vs_reference import Meter, model_factory

    from graph.context import Context
    from graph.graph import RECURSION_LIMIT

    meter = Meter()
    clock = NodeClock()
    context = Context(db_path=str(work_db), approval="auto", model_factory=model_factory(meter, 0, 0))
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": RECURSION_LIMIT,
        "max_concurrency": context.max_concurrency,
    }
    with checkpoint_file(ckpt_db, synchronous) as saver:
        g = timed_builder(clock).compile(checkpointer=saver)
        started = time.perf_counter()
        out = g.invoke({"objective": objective}, config, context=context, durability="sync")
        wall = time.perf_counter() - started
        put_s, put_writes_s = saver.put_s, saver.put_writes_s
    sizes = checkpoint_sizes(ckpt_db)
    steps = sizes["checkpoints"] - 1  # the first checkpoint holds the input, before any superstep
    busy = clock.busy_s()
    launch = out.get("launch") or {}
    return {
        "status": out.get("status"),
        "tasks": len(out.get("plan") or []),
        "calls": meter.calls,
        "max_concurrency": context.max_concurrency,
        "scheduled": launch.get("scheduled"),
        "wall_s": round(wall, 3),
        "supersteps": steps,
        "node_busy_s": round(busy, 3),
        "node_summed_s": round(clock.summed_s(), 3),
        "node_s": {k: round(v, 3) for k, v in sorted(clock.by_node.items(), key=lambda kv: -kv[1])},
        "wall_ms_per_superstep": round(1000 * wall / steps, 2),
        "overhead_ms_per_superstep": round(1000 * (wall - busy) / steps, 2),
        "put_ms_per_superstep": round(1000 * put_s / steps, 2),
        "put_writes_ms_per_superstep": round(1000 * put_writes_s / steps, 2),
        **sizes,
    }


def child(work_db: Path, ckpt_db: Path, synchronous: str) -> None:
    """Entry point of the measuring process: import, run once, print one JSON line."""
    import langgraph.checkpoint.sqlite  # noqa: F401

    import graph.graph  # noqa: F401  (imports count in the baseline, not in the run)

    rss_imports = _rss_mb()
    row = run_instrumented(work_db, ckpt_db, DEFAULT_OBJECTIVE, "scale", synchronous)
    print(json.dumps({**row, "rss_after_imports_mb": rss_imports, "max_rss_mb": _rss_mb()}), flush=True)


def copy_cdp(master: Path, target: Path) -> None:
    """A byte copy of a checkpointed master (its WAL is empty after `seeded_master`).

    The copy is written back to disk before the run starts: at 1M it is 4.6 GB of dirty pages, whose
    writeback would otherwise slow the run's own commits and fsyncs, which a real run never pays.
    """
    with sqlite3.connect(master) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for p in target.parent.glob(target.name + "*"):
        p.unlink()
    shutil.copyfile(master, target)
    os.sync()


def measure_size(
    master: Path, customers: int, repeats: int, synchronous: str = CLI_CHECKPOINT_SYNC
) -> dict[str, Any]:
    """Medians over `repeats` fresh-process runs on fresh copies of `master`."""
    runs = []
    for r in range(repeats):
        work, ckpt = master.with_name(f"run-{customers}.db"), master.with_name(f"ckpt-{customers}.db")
        copy_cdp(master, work)
        for p in ckpt.parent.glob(ckpt.name + "*"):
            p.unlink()
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(work),
                str(ckpt),
                "--checkpoint-sync",
                synchronous,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"run at {customers} customers failed:\n{done.stderr[-3000:]}")
        run = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"customers": customers, "repeat": r, **run}), flush=True)
        runs.append(run)
        for p in [*work.parent.glob(work.name + "*"), *ckpt.parent.glob(ckpt.name + "*")]:
            p.unlink()
    row: dict[str, Any] = {
        "customers": customers,
        "repeats": repeats,
        "checkpoint_sync": synchronous,
    }
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            median = statistics.median(x[key] for x in runs)
            row[key] = int(median) if isinstance(value, int) else round(median, 3)
        elif isinstance(value, dict):  # seconds per node: the median of each
            row[key] = {k: round(statistics.median(x[key].get(k, 0.0) for x in runs), 3) for k in value}
        else:
            row[key] = value
    row["wall_s_min_max"] = [min(x["wall_s"] for x in runs), max(x["wall_s"] for x in runs)]
    row["max_rss_mb_min_max"] = [min(x["max_rss_mb"] for x in runs), max(x["max_rss_mb"] for x in runs)]
    row["all_completed"] = all(x["status"] == "completed" for x in runs)
    return row


def master_for(customers: int, workdir: Path) -> tuple[Path, float | None]:
    """The seeded CDP for `customers`, reused when `workdir` already holds it; seconds spent seeding."""
    path = workdir / f"master-{customers}.db"
    if path.exists():
        return path, None
    started = time.perf_counter()
    seeded_master(customers, workdir)
    return path, round(time.perf_counter() - started, 1)


def record(row: dict[str, Any]) -> Path:
    """Keep the figures of one size and checkpoint setting under benchmarks/results/.

    The CLI's setting goes to engine-<customers>.json (the plots read those); any other to
    engine-<customers>-<setting>.json, for the overhead table.
    """
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if row["checkpoint_sync"] == CLI_CHECKPOINT_SYNC else "-" + row["checkpoint_sync"].lower()
    path = RESULTS / f"engine-{row['customers']}{suffix}.json"
    path.write_text(json.dumps(row, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="keep and reuse seeded CDPs here")
    parser.add_argument("--no-record", action="store_true", help="do not update benchmarks/results/")
    parser.add_argument(
        "--checkpoint-sync",
        type=str.upper,
        choices=("NORMAL", "FULL"),
        default=CLI_CHECKPOINT_SYNC,
        help=f"PRAGMA synchronous of the checkpoint file (default {CLI_CHECKPOINT_SYNC}, as the CLI)",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, type=Path, metavar=("CDP", "CHECKPOINTS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], args.checkpoint_sync)
        return {}
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-engine-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"sizes": []}
    try:
        for n in args.sizes:
            master, seed_s = master_for(n, workdir)
            row = {
                **measure_size(master, n, args.repeats, args.checkpoint_sync),
                "seed_s": seed_s,
                "measured_at": datetime.now(UTC).strftime("%Y-%m-%d"),
            }
            print(json.dumps(row), flush=True)
            report["sizes"].append(row)
            if not args.no_record:
                record(row)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
