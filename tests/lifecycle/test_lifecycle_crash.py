"""SIGKILL a simulated lifecycle mid-way, resume it, and get exactly what an uninterrupted run writes:
the same sends, events, daily results and adjustments, none of them twice. Only the killed run is a
subprocess; the reference run and the resume run in-process (see tests/graph/test_crash_resume.py)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.graph.helpers import DEFAULT_OBJECTIVE
from tests.graph.test_crash_resume import (
    PROCESS_TIMEOUT_S,
    ROOT,
    THREAD,
    _cli,
    _count,
    _env,
    _invoke,
    snapshot,
)
from tests.invariants import assert_promise_holds
from tests.seeded import seeded_copy

DAYS = "4"
pytestmark = pytest.mark.xdist_group("lifecycle")


def _args(db: Path) -> list[str]:
    return [
        "run",
        DEFAULT_OBJECTIVE,
        "--db",
        str(db),
        "--thread",
        THREAD,
        "--approve",
        "auto",
        "--json",
        "--simulate",
        DAYS,
    ]


def lifecycle_snapshot(db: Path) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    try:
        q = {
            "events": "SELECT message_id, type, ts, profile_id FROM events WHERE message_id LIKE 'sim:%'",
            "results": "SELECT day, treated_n, holdout_n, lift, ci_low, ci_high, unsubscribe_rate FROM campaign_results",
            "adjustments": "SELECT day, action, target, decided_by FROM campaign_adjustments",
            "statuses": "SELECT send_id, status FROM sends",
        }
        out = {k: sorted(conn.execute(sql).fetchall()) for k, sql in q.items()}
    finally:
        conn.close()
    return {**snapshot(db), **out}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    db = seeded_copy(tmp_path_factory.mktemp("ref"))
    res = _invoke(_args(db), _env())
    assert res.returncode == 0, res.stderr
    assert_promise_holds(db)
    snap = lifecycle_snapshot(db)
    assert len(snap["results"]) == int(DAYS) and snap["events"]
    return snap


@pytest.mark.parametrize("day", [1, 2, 3])
def test_kill_during_the_lifecycle_then_resume(reference, tmp_path, day):
    db = seeded_copy(tmp_path)
    env = _env()
    proc = subprocess.Popen(
        _cli(*_args(db)), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline:
        if _count(db, "SELECT count(*) FROM campaign_results", []) >= day:
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before the kill point"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    res = _invoke(["resume", THREAD, "--db", str(db), "--approve", "auto", "--json"], env)
    assert res.returncode == 0, res.stderr + res.stdout
    got = lifecycle_snapshot(db)
    for key in ("events", "results", "adjustments", "statuses", "sends", "decisions", "campaigns", "runs"):
        assert got[key] == reference[key], key
    assert got["duplicate_keys"] == 0
    assert_promise_holds(db)
