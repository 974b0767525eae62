"""Pure per-superstep cost of LangGraph with `SqliteSaver`: a graph of our shape whose nodes do nothing.

A `dispatch` node fans out with `Send` to `fanout` of 14 worker nodes (our graph has 15 nodes), the
workers answer back, and the loop runs for `supersteps` supersteps. The state carries a constant
payload of about the size of our real checkpoint, so serialization costs what it costs in a real run.
Checkpoints go to a SQLite file with `durability="sync"`, opened as `cdp-agents run` opens it (WAL,
`synchronous=NORMAL`); the same cases with `synchronous=FULL` (an fsync per commit) and with
`InMemorySaver` show what the disk and the saver cost.

    .venv/bin/python benchmarks/noop_graph.py [--supersteps 200] [--repeats 5] [--out f.json]
"""

from __future__ import annotations

import argparse
import json
import operator
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, Send
from typing_extensions import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from instrument import checkpoint_file, checkpoint_sizes

WORKERS = 14
#: Our real checkpoints average about 6.3 KB; this payload serializes to about that.
REAL_SIZE_PAYLOAD = 5_600


class NoopState(TypedDict, total=False):
    step: int
    done: Annotated[int, operator.add]
    payload: dict[str, Any]


def _payload(size: int) -> dict[str, Any]:
    """Task-like entries (ids, statuses, short summaries) adding up to about `size` bytes."""
    entry = {
        "status": "done",
        "summary": "x" * 60,
        "outputs": {"segment_id": "seg_0123456789", "count": 1234},
    }
    per = len(json.dumps(entry)) + 12
    return {f"task_{i:03d}": dict(entry) for i in range(max(0, size // per))}


def build_noop_graph(fanout: int, supersteps: int):
    """Dispatch ⇄ workers until `supersteps` supersteps have run (a loop is two supersteps)."""

    def dispatch(state: NoopState) -> Command:
        step = state.get("step", 0)
        if step + 2 > supersteps:
            return Command(update={"step": step + 1})
        return Command(
            update={"step": step + 2},
            goto=[Send(f"worker_{i}", {"step": step}) for i in range(fanout)],
        )

    def worker(state: NoopState) -> dict[str, Any]:
        return {"done": 1}

    g: StateGraph[NoopState, None, NoopState, NoopState] = StateGraph(NoopState)
    g.add_node("dispatch", dispatch, destinations=tuple(f"worker_{i}" for i in range(WORKERS)))
    for i in range(WORKERS):
        g.add_node(f"worker_{i}", worker)
        g.add_edge(f"worker_{i}", "dispatch")
    g.add_edge(START, "dispatch")
    return g


def measure(fanout: int, supersteps: int, payload_bytes: int, saver: str, workdir: Path) -> dict[str, Any]:
    """One run: ms per superstep and the checkpoint bytes it saved.

    `saver`: "sqlite-normal" (a file with `synchronous=NORMAL`, as the CLI: no fsync per commit in
    WAL mode), "sqlite-full" (SQLite's default `synchronous=FULL`) or "memory" (`InMemorySaver`).
    """
    g = build_noop_graph(fanout, supersteps)
    config: RunnableConfig = {"configurable": {"thread_id": "noop"}, "recursion_limit": supersteps + 10}
    inputs = {"step": 0, "payload": _payload(payload_bytes)}
    if saver == "memory":
        memory = InMemorySaver()
        started = time.perf_counter()
        g.compile(checkpointer=memory).invoke(inputs, config, durability="sync")
        wall = time.perf_counter() - started
        steps = len(list(memory.list(config))) - 1
        return {"wall_s": wall, "supersteps": steps, "ms_per_superstep": 1000 * wall / steps}
    path = workdir / f"noop-{fanout}-{payload_bytes}-{time.monotonic_ns()}.db"
    with checkpoint_file(path, saver.removeprefix("sqlite-").upper()) as cp:
        started = time.perf_counter()
        g.compile(checkpointer=cp).invoke(inputs, config, durability="sync")
        wall = time.perf_counter() - started
        put_s, put_writes_s = cp.put_s, cp.put_writes_s
    sizes = checkpoint_sizes(path)
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    steps = sizes["checkpoints"] - 1  # the first checkpoint is the input, before any superstep
    return {
        "wall_s": wall,
        "supersteps": steps,
        "ms_per_superstep": 1000 * wall / steps,
        "put_ms_per_superstep": 1000 * put_s / steps,
        "put_writes_ms_per_superstep": 1000 * put_writes_s / steps,
        **sizes,
    }


def run(supersteps: int = 200, repeats: int = 5) -> list[dict[str, Any]]:
    """Medians over `repeats` runs for each case (the machine's 2 cores are shared)."""
    cases = [
        (1, 0, "sqlite-normal"),
        (1, REAL_SIZE_PAYLOAD, "sqlite-normal"),
        (4, REAL_SIZE_PAYLOAD, "sqlite-normal"),
        (1, 0, "sqlite-full"),
        (1, REAL_SIZE_PAYLOAD, "sqlite-full"),
        (4, REAL_SIZE_PAYLOAD, "sqlite-full"),
        (1, REAL_SIZE_PAYLOAD, "memory"),
        (4, REAL_SIZE_PAYLOAD, "memory"),
    ]
    workdir = Path(tempfile.mkdtemp(prefix="bench-noop-"))
    try:
        return _run_cases(cases, supersteps, repeats, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_cases(
    cases: list[tuple[int, int, str]], supersteps: int, repeats: int, workdir: Path
) -> list[dict[str, Any]]:
    measure(1, 20, 0, "sqlite-normal", workdir)  # warm-up: imports, first compile
    rows = []
    for fanout, payload, saver in cases:
        runs = [measure(fanout, supersteps, payload, saver, workdir) for _ in range(repeats)]
        row: dict[str, Any] = {"fanout": fanout, "payload_bytes": payload, "saver": saver, "repeats": repeats}
        for key in runs[0]:
            values = [r[key] for r in runs]
            row[key] = round(statistics.median(values), 3)
        row["ms_per_superstep_min_max"] = [
            round(min(r["ms_per_superstep"] for r in runs), 3),
            round(max(r["ms_per_superstep"] for r in runs), 3),
        ]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supersteps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = run(args.supersteps, args.repeats)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
