"""Where a run's time goes: inside our node functions, inside the checkpointer, or elsewhere in LangGraph.

`timed_builder` rebuilds the orchestrator graph with every node function wrapped in a clock, and
`TimedSqliteSaver` times the checkpointer's writes (serialization included). A run's framework
overhead is its wall time minus the time at least one node function was running (parallel nodes
overlap, so their intervals are merged rather than summed).
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver


@dataclass
class NodeClock:
    """Start and end of every node-function call of one run, from any thread, by node name."""

    intervals: list[tuple[float, float]] = field(default_factory=list)
    by_node: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wrap(self, fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        """`fn` with its calls timed; `functools.wraps` keeps the signature LangGraph inspects.

        A specialist's calls are told apart by task (`analytics:baseline`, `analytics:results`).
        """

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            label = name or fn.__name__
            task = args[0].get("task") if args and isinstance(args[0], dict) else None
            if isinstance(task, dict) and task.get("id") not in (None, label):
                label = f"{label}:{task['id']}"
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                ended = time.perf_counter()
                with self.lock:
                    self.intervals.append((started, ended))
                    self.by_node[label] = self.by_node.get(label, 0.0) + ended - started

        return timed

    def busy_s(self) -> float:
        """Seconds during which at least one node function was running."""
        total, end = 0.0, float("-inf")
        for a, b in sorted(self.intervals):
            if a > end:
                total += b - a
                end = b
            elif b > end:
                total += b - end
                end = b
        return total

    def summed_s(self) -> float:
        return sum(b - a for a, b in self.intervals)


def timed_builder(clock: NodeClock):
    """A fresh orchestrator `StateGraph` (`graph.graph.build_graph`) with every node function timed.

    Each node is a `RunnableCallable` that has already read its function's signature (which
    arguments LangGraph injects), so swapping in the timed function changes nothing else.
    """
    from graph.graph import build_graph

    g = build_graph()
    for name, spec in g.nodes.items():
        fn = getattr(spec.runnable, "func", None)
        if fn is None:
            raise TypeError(f"node {name!r} is not a plain function node: it cannot be timed")
        spec.runnable.func = clock.wrap(fn, name.removeprefix("__error_handler__"))  # type: ignore[union-attr]
    return g


class TimedSqliteSaver(SqliteSaver):
    """`SqliteSaver` that also counts the seconds spent saving checkpoints and pending writes."""

    put_s: float = 0.0
    put_writes_s: float = 0.0
    puts: int = 0

    def put(self, config, checkpoint, metadata, new_versions):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().put(config, checkpoint, metadata, new_versions)
        finally:
            self.put_s += time.perf_counter() - started
            self.puts += 1

    def put_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        started = time.perf_counter()
        try:
            super().put_writes(config, writes, task_id, task_path)
        finally:
            self.put_writes_s += time.perf_counter() - started


#: `PRAGMA synchronous` of the CLI's checkpoint connection (`cli.checkpoints.durable_graph`).
CLI_CHECKPOINT_SYNC = "NORMAL"


@contextmanager
def checkpoint_file(path: Path, synchronous: str = CLI_CHECKPOINT_SYNC) -> Iterator[TimedSqliteSaver]:
    """A saver on its own file, opened as the CLI opens it (`cli.checkpoints.durable_graph`: WAL, timeout 30,
    `synchronous=NORMAL`).

    `synchronous="FULL"` (SQLite's default) measures what an fsync per commit costs: the saver
    commits once per checkpoint and once per task's pending writes. In WAL mode NORMAL loses no
    committed checkpoint when the process dies; only a power cut may drop the last few.
    """
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"PRAGMA synchronous cannot be {synchronous!r}")
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    try:
        yield TimedSqliteSaver(conn)
    finally:
        conn.close()


def checkpoint_sizes(path: Path) -> dict[str, int]:
    """Supersteps saved and the bytes each checkpoint (blob + metadata) and its pending writes take."""
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute("SELECT length(checkpoint) + length(metadata) FROM checkpoints").fetchall()
        writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes").fetchone()[0]
    finally:
        conn.close()
    sizes = [r[0] for r in rows]
    n = max(1, len(sizes))
    return {
        "checkpoints": len(sizes),
        "checkpoint_bytes_mean": int(sum(sizes) / n),
        "checkpoint_bytes_max": max(sizes, default=0),
        "writes_bytes_per_step": int(writes / n),
    }
