"""`make bench`: the quick set, a few minutes in all. Figures go to benchmarks/results/*.json, plots to
benchmarks/plots/*.png.

1. ours against langgraph-supervisor on the 12 objectives (2,000 customers, 300 ms per call);
2. the no-op graph's cost per superstep with `SqliteSaver` (`synchronous=NORMAL` as the CLI, and FULL);
3. the engine at 10,000 customers (three fresh-process runs: wall, peak RSS, checkpoint bytes,
   framework overhead per superstep), with the CLI's `synchronous=NORMAL` and again with FULL;
4. parallelism at 300 ms per call.

    .venv/bin/python benchmarks/run_quick.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine_scale  # noqa: E402
import noop_graph  # noqa: E402
import parallelism  # noqa: E402
import plot  # noqa: E402
import supervisor_vs_reference  # noqa: E402

RESULTS = HERE / "results"


def _save(name: str, data: object) -> None:
    (RESULTS / name).write_text(json.dumps(data, indent=1) + "\n")


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    timings = {}
    started = time.perf_counter()
    ref = supervisor_vs_reference.main([])
    _save("reference.json", ref)
    timings["reference"] = time.perf_counter() - started

    started = time.perf_counter()
    _save("noop.json", noop_graph.main([]))
    timings["noop"] = time.perf_counter() - started

    started = time.perf_counter()
    engine = engine_scale.main(["--sizes", "10000"])  # records results/engine-10000.json
    engine_scale.main(["--sizes", "10000", "--checkpoint-sync", "FULL"])  # engine-10000-full.json
    timings["engine"] = time.perf_counter() - started

    started = time.perf_counter()
    _save("parallelism.json", parallelism.main([]))
    timings["parallelism"] = time.perf_counter() - started

    plot.main()
    summary = {
        "reference": ref["totals"],
        "engine_10k": {
            k: engine["sizes"][0][k]
            for k in ("wall_s", "max_rss_mb", "overhead_ms_per_superstep", "checkpoint_bytes_max")
        },
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
