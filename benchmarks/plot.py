"""PNG plots of the recorded benchmark figures (benchmarks/results/*.json -> benchmarks/plots/*.png).

Every size of the engine benchmark is recorded by the run that last measured it (`make bench`
refreshes 10k, `make bench-1m` refreshes 1M), so the plots can be redrawn without measuring again.
The audience plot shows the runs with the CLI's checkpoint setting (`synchronous=NORMAL`):

    .venv/bin/python benchmarks/plot.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PLOTS = HERE / "plots"
OURS, REF = "#1f77b4", "#ff7f0e"


def _aim(ax: Any, y: float, label: str) -> None:
    ax.axhline(y, color="grey", linestyle=":", linewidth=1)
    ax.text(ax.get_xlim()[0], y, f" aim {label}", va="bottom", ha="left", fontsize=8, color="grey")


def plot_scale(rows: list[dict[str, Any]], path: Path) -> Path:
    """Run wall, peak RSS and checkpoint size against customers, one axis per unit."""
    rows = sorted(rows, key=lambda r: r["customers"])
    n = [r["customers"] for r in rows]
    fig, (wall, rss, ckpt) = plt.subplots(1, 3, figsize=(12, 3.8))
    wall.plot(n, [r["wall_s"] for r in rows], "o-", color=OURS, label="full run")
    wall.set_ylabel("wall (s)")
    rss.plot(n, [r["max_rss_mb"] for r in rows], "o-", color=OURS, label="peak RSS of the run's process")
    rss.plot(n, [r["rss_after_imports_mb"] for r in rows], "s--", color="grey", label="after imports")
    rss.set_ylabel("memory (MB)")
    ckpt.plot(n, [r["checkpoint_bytes_mean"] / 1000 for r in rows], "o-", color=OURS, label="mean")
    ckpt.plot(n, [r["checkpoint_bytes_max"] / 1000 for r in rows], "^-", color=REF, label="max")
    ckpt.set_ylabel("checkpoint per superstep (KB)")
    for ax, title in ((wall, "Run wall time"), (rss, "Peak RSS"), (ckpt, "Checkpoint size")):
        ax.set_xscale("log")
        ax.set_xlabel("customers")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    wall.set_ylim(top=max(65, wall.get_ylim()[1]))
    rss.set_ylim(top=max(1600, rss.get_ylim()[1]))
    ckpt.set_ylim(top=max(21, ckpt.get_ylim()[1]))
    _aim(wall, 60, "1M < 60 s")
    _aim(rss, 1536, "1M < 1.5 GB")
    _aim(ckpt, 20, "< 20 KB")
    for ax in (wall, rss, ckpt):
        ax.legend(fontsize=8, loc="center left")
    fig.suptitle(
        "Default objective, offline model, SqliteSaver as the CLI opens it (WAL, synchronous=NORMAL, "
        "durability='sync'); one fresh process per run",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_reference(report: dict[str, Any], path: Path) -> Path:
    """Model calls, prompt tokens and wall time per objective: ours against langgraph-supervisor."""
    rows = report["rows"]
    x = list(range(1, len(rows) + 1))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("calls", "model calls"), ("prompt_tokens", "prompt tokens"), ("wall_s", "wall (s)"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.bar(
            [i - 0.2 for i in x],
            [r[f"ours_{key}"] for r in rows],
            0.4,
            color=OURS,
            label="ours (plan + dispatch)",
        )
        ax.bar(
            [i + 0.2 for i in x],
            [r[f"ref_{key}"] for r in rows],
            0.4,
            color=REF,
            label="langgraph-supervisor",
        )
        ax.set_xticks(x)
        ax.set_xlabel("objective # (BENCHMARKS.md table order)")
        ax.set_ylabel(label)
        ax.set_title(label.capitalize())
        ax.grid(axis="y", alpha=0.3)
    for ax in axes:
        ax.set_ylim(top=ax.get_ylim()[1] * 1.2)
    axes[0].legend(fontsize=8, loc="upper center", ncols=2)
    fig.suptitle(
        f"{len(rows)} objectives, {report['customers']:,} customers, "
        f"simulated latency {report['base_ms']:g} ms per call + {report['per_1k_ms']:g} ms per 1k prompt tokens",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_parallelism(rows: list[dict[str, Any]], path: Path) -> Path:
    """Wall time per objective and `max_concurrency` against k·L and n·L."""
    objectives = list(dict.fromkeys(r["objective"] for r in rows))
    concurrency = sorted({r["max_concurrency"] for r in rows})
    fig, ax = plt.subplots(figsize=(10.5, 3.8))
    first = [next(r for r in rows if r["objective"] == o) for o in objectives]
    width = 0.8 / len(concurrency)
    for j, c in enumerate(concurrency):
        xs = [i + (j - (len(concurrency) - 1) / 2) * width for i in range(len(objectives))]
        ys = [
            next(r["wall_s"] for r in rows if r["objective"] == o and r["max_concurrency"] == c)
            for o in objectives
        ]
        default = any(r.get("default_max_concurrency") and r["max_concurrency"] == c for r in rows)
        label = f"wall, max_concurrency={c}" + (" (default)" if default else "")
        ax.bar(xs, ys, width, label=label, alpha=0.85)
    for i, r in enumerate(first):
        for key, colour, style, label in (("k_L_s", "black", "-", "k·L"), ("n_L_s", "red", "--", "n·L")):
            ax.hlines(
                r[key],
                i - 0.45,
                i + 0.45,
                colors=colour,
                linestyles=style,
                label=label if i == 0 else "_nolegend_",
            )
    ax.set_xticks(range(len(objectives)))
    ax.set_xticklabels(
        [f"n={r['calls']} calls ({r['tasks']} tasks), k={r['critical_path_calls']}" for r in first]
    )
    ax.set_ylabel("wall (s)")
    ax.set_title(f"Simulated latency L = {rows[0]['latency_ms']:g} ms per model call", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _load(name: str) -> Any:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def main() -> list[Path]:
    PLOTS.mkdir(exist_ok=True)
    done = []
    engine = [json.loads(p.read_text()) for p in RESULTS.glob("engine-*.json")]
    engine = [r for r in engine if r.get("checkpoint_sync") == "NORMAL"]  # the CLI's setting
    if engine:
        done.append(plot_scale(engine, PLOTS / "cost_vs_audience.png"))
    if (ref := _load("reference.json")) is not None:
        done.append(plot_reference(ref, PLOTS / "calls_tokens_vs_reference.png"))
    if (par := _load("parallelism.json")) is not None:
        done.append(plot_parallelism(par, PLOTS / "parallelism.png"))
    for p in done:
        print(p)
    return done


if __name__ == "__main__":
    main()
