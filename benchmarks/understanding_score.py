"""How well planning understands objectives: the understanding table's rows, scored.

Each row of evals/understanding_table.txt is planned through the real graph on a seeded CDP
(paused before dispatch, so nothing is sent) and judged as the table test judges it: exact (the
audience equals the row's SQL and every stated offer, budget, channel and date matches, or the
expected question was asked), question (a question where the row wants a plan, or another question
than the one expected: not silent, not understood), or wrong (a plan that differs from the words).

    .venv/bin/python benchmarks/understanding_score.py [--model scripted] [--customers 5000] [-v]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

# The table's dates ("this Friday", "December 31") count from this clock, so it is not optional.
os.environ["CDP_NOW"] = "2026-11-24T12:00:00Z"  # evals.table.CLOCK
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.table import CUSTOMERS, ROWS, SEED, judge, plan_objective, planner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="scripted", help="planning model (default: the offline one)")
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--kind", action="append", help="only rows of this class (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every row that is not exact")
    args = parser.parse_args(argv)

    from cdp import open_cdp
    from cdp.seed import seed_cdp

    rows = [r for r in ROWS if not args.kind or r.kind in args.kind]
    with tempfile.TemporaryDirectory(prefix="understanding-") as tmp:
        path = Path(tmp) / "cdp.db"
        db = open_cdp(path)
        seed_cdp(db, customers=args.customers, seed=SEED)
        db.conn.close()
        graph = planner()
        conn = sqlite3.connect(path)
        tally: Counter[str] = Counter()
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        started = time.perf_counter()
        for n, row in enumerate(rows):
            state = plan_objective(graph, path, row.objective, f"score-{n}", model=args.model)
            verdict, why = judge(row, state, conn)
            tally[verdict] += 1
            by_kind[row.kind][verdict] += 1
            if args.verbose and verdict != "exact":
                print(f"{verdict:8s} {row.kind}/{row.slug}: {row.objective!r}\n         {why}")
        elapsed = time.perf_counter() - started
        conn.close()
    for kind, counts in by_kind.items():
        print(
            f"  {kind:11s} exact {counts['exact']:3d}  question {counts['question']:3d}  wrong {counts['wrong']:3d}"
        )
    print(f"exact {tally['exact']} / question {tally['question']} / wrong {tally['wrong']} of {len(rows)}")
    print(f"({elapsed:.1f} s of planning, {args.model} model, {args.customers:,} customers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
