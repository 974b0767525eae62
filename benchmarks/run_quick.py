"""`make bench`: the quick set (reference comparison on 10 objectives at 2k customers, engine at 10k)
with JSON results in /tmp and PNG plots under benchmarks/plots/.

    .venv/bin/python benchmarks/run_quick.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import engine_scale  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import supervisor_vs_reference  # noqa: E402


def plot_reference(report: dict) -> None:
    rows = report["rows"]
    x = range(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, label in ((axes[0], "calls", "model calls"), (axes[1], "prompt_tokens", "prompt tokens")):
        ax.bar([i - 0.2 for i in x], [r[f"ours_{key}"] for r in rows], 0.4, label="ours (plan + dispatch)")
        ax.bar([i + 0.2 for i in x], [r[f"ref_{key}"] for r in rows], 0.4, label="langgraph-supervisor")
        ax.set_xlabel("objective #")
        ax.set_ylabel(label)
        ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "plots" / "calls_tokens_vs_reference.png", dpi=100)


def plot_scale(report: dict) -> None:
    sizes = report["sizes"]
    fig, ax = plt.subplots(figsize=(6, 4))
    n = [s["customers"] for s in sizes]
    ax.plot(n, [s["wall_s"] for s in sizes], "o-", label="run wall (s)")
    ax.plot(n, [s["checkpoint_bytes_max"] / 1000 for s in sizes], "s-", label="max checkpoint (KB)")
    ax.plot(n, [s["max_rss_mb"] / 100 for s in sizes], "^-", label="max RSS (100 MB)")
    ax.set_xscale("log")
    ax.set_xlabel("customers")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "plots" / "cost_vs_audience.png", dpi=100)


def main() -> None:
    (HERE / "plots").mkdir(exist_ok=True)
    ref = supervisor_vs_reference.main(["--out", "/tmp/bench_reference.json"])
    plot_reference(ref)
    eng = engine_scale.main(["--sizes", "2000", "10000", "--out", "/tmp/bench_engine.json"])
    plot_scale(eng)
    print(json.dumps({"reference": ref["totals"], "engine": eng}, indent=1))


if __name__ == "__main__":
    main()
