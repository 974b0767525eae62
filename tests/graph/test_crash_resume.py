"""Crash/resume harness: SIGKILL `cdp-agents run` at many points, `cdp-agents resume` it, compare the CDP.

Each scenario runs the real CLI in a subprocess on its own copy of the seeded CDP, kills it when the
run's agent_messages log reaches message N (or after a delay), then recovers the way an operator
would: `resume THREAD`, or `run` again with the same thread when the kill landed before anything was
checkpointed. Afterwards the sends and decisions must equal those of an uninterrupted reference run
on an identical copy (campaign ids derive from the thread id, so rows compare directly).

Only what is killed runs in a subprocess. The recovery and the commands whose exit codes and
messages are checked run in this process with typer's CliRunner: the same command code, without
paying a second interpreter start (LangGraph and the graph) for each. Every wait is for a condition,
with deadlines far beyond what a loaded machine needs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.graph.helpers import DEFAULT_OBJECTIVE
from tests.invariants import assert_promise_holds
from tests.seeded import seeded_copy

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX only")

THREAD = "crash"
ROOT = Path(__file__).resolve().parents[2]
#: Seconds a CLI process may take, and a kill point may take to be reached: generous, so that a
#: machine shared with other work slows the test down but never fails it.
PROCESS_TIMEOUT_S = 600


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "CDP_AGENTS_SCRIPTED_LATENCY_MS": "40", "CDP_AGENTS_MODEL": "scripted", **extra}
    env.pop("OPENAI_API_KEY", None)
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def _call(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess of its own (for a process that is about to be interrupted or killed)."""
    return subprocess.run(
        _cli(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S
    )


def _invoke(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI in this process, as `_call` reports it (exit code, stdout, stderr)."""
    from cli.main import app

    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _count(db: Path, sql: str, params: list[Any]) -> int:
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            return int(conn.execute(sql, params).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # tables not there yet / busy: nothing logged so far
        return 0


def snapshot(db: Path) -> dict[str, Any]:
    """What a run left in the CDP, read with plain SQL."""
    conn = sqlite3.connect(db)
    try:
        sends = conn.execute("SELECT profile_id, channel, step, campaign_id FROM sends").fetchall()
        keys = conn.execute("SELECT idempotency_key FROM sends").fetchall()
        decisions = conn.execute(
            "SELECT campaign_id, profile_id, coalesce(channel, ''), step, outcome, reason_code FROM decisions"
        ).fetchall()
        campaigns = conn.execute("SELECT campaign_id, status FROM campaigns").fetchall()
        runs = conn.execute("SELECT thread_id, status FROM runs").fetchall()
    finally:
        conn.close()
    return {
        "sends": sorted(sends),
        "send_pairs": {(p, c) for p, c, _, _ in sends},
        "duplicate_keys": len(keys) - len(set(keys)),
        "duplicate_pairs": len(sends) - len({(p, c, s, k) for p, c, s, k in sends}),
        "decisions": sorted(decisions),
        "campaigns": sorted(campaigns),
        "runs": sorted(runs),
    }


def _run_args(db: Path, approve: str = "auto") -> list[str]:
    return ["run", DEFAULT_OBJECTIVE, "--db", str(db), "--thread", THREAD, "--approve", approve, "--json"]


def _kill_when(proc: subprocess.Popen[str], db: Path, *, message: int | None, delay: float | None) -> bool:
    """SIGKILL `proc` once the thread logged `message` messages (or after `delay` s); False if it ended."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    start = time.monotonic()
    while proc.poll() is None and time.monotonic() < deadline:
        if delay is not None and time.monotonic() - start >= delay:
            break
        if (
            message is not None
            and _count(db, "SELECT count(*) FROM agent_messages WHERE thread_id = ?", [THREAD]) >= message
        ):
            break
        time.sleep(0.005)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def recover(db: Path, env: dict[str, str], decision: str | None = None) -> list[str]:
    """Bring a killed run to its end as an operator would; returns the commands used."""
    used: list[str] = []
    for _ in range(4):
        args = ["resume", THREAD, "--db", str(db), "--approve", "auto", "--json"]
        if decision:
            args += ["--decision", decision]
        res = _invoke(args, env)
        used.append(f"resume:{res.returncode}")
        if res.returncode == 0:
            return used
        text = res.stderr + res.stdout
        if "already finished" in text:
            return used
        if "never started" in text or "no run with thread id" in text:
            again = _invoke(_run_args(db), env)
            used.append(f"run:{again.returncode}")
            assert again.returncode == 0, again.stderr
            return used
        assert res.returncode == 3, text  # still waiting for a person: answer and go on
    raise AssertionError(f"run {THREAD} did not finish: {used}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Any]:
    """An uninterrupted run of the default objective (auto-approved) on a fresh copy."""
    db = seeded_copy(tmp_path_factory.mktemp("reference"))
    res = _invoke(_run_args(db), _env())
    assert res.returncode == 0, res.stderr
    assert_promise_holds(db)
    snap = snapshot(db)
    snap["messages"] = _count(db, "SELECT count(*) FROM agent_messages WHERE thread_id = ?", [THREAD])
    assert snap["sends"] and snap["messages"] >= 10
    return snap


def _kill_scenario(tmp: Path, kind: str, point: float, env: dict[str, str]) -> dict[str, Any]:
    """Start the scenario's process and kill it at its point (run in a worker thread)."""
    db = seeded_copy(tmp)
    approve = "ask" if kind.startswith("interrupt") else "auto"
    if kind == "interrupt-kill-resume":
        # reach the approval question (exit 3), then kill the resume that answers it mid-way
        first = _call(_run_args(db, "ask"), env)
        assert first.returncode == 3, first.stderr
        proc = subprocess.Popen(
            _cli("resume", THREAD, "--db", str(db), "--decision", "approve", "--approve", "auto", "--json"),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        killed = _kill_when(proc, db, message=None, delay=point)
        decision: str | None = "approve"
    else:
        proc = subprocess.Popen(
            _cli(*_run_args(db, approve)),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if kind == "message":
            killed = _kill_when(proc, db, message=int(point), delay=None)
        elif kind == "delay":
            killed = _kill_when(proc, db, message=None, delay=point)
        else:  # "interrupt": kill while it waits at (or runs towards) the approval question
            killed = _kill_when(proc, db, message=int(point), delay=None)
        decision = "approve" if approve == "ask" else None
    return {"kind": kind, "point": point, "killed": killed, "db": db, "env": env, "decision": decision}


def _recover_scenario(killed: dict[str, Any]) -> dict[str, Any]:
    """Recover a killed scenario (in this process, one at a time) and read what it left."""
    db = killed["db"]
    used = recover(db, killed["env"], decision=killed["decision"])
    assert_promise_holds(db)
    return {
        "kind": killed["kind"],
        "point": killed["point"],
        "killed": killed["killed"],
        "used": used,
        **snapshot(db),
    }


@pytest.mark.timeout(900)  # two dozen runs and kills: minutes when other work shares the cores
def test_sigkill_at_many_points_then_resume_equals_an_uninterrupted_run(reference, tmp_path):
    env = _env()
    interrupt_env = _env(CDP_AGENTS_APPROVAL_THRESHOLD="0")
    n = reference["messages"]
    points: list[tuple[str, float, dict[str, str]]] = [("delay", d, env) for d in (0.0, 0.2)]
    points += [("message", float(m), env) for m in range(1, min(n, 17))]
    points += [("interrupt", float(m), interrupt_env) for m in (n // 2, n - 3)]
    points += [("interrupt-kill-resume", d, interrupt_env) for d in (0.3, 0.6)]
    dirs = [tmp_path / f"s{i}" for i in range(len(points))]
    for d in dirs:
        d.mkdir()
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        kills = list(pool.map(lambda a: _kill_scenario(a[0], *a[1]), zip(dirs, points, strict=True)))
    results = [_recover_scenario(k) for k in kills]

    assert sum(r["killed"] for r in results) >= 20, [(r["kind"], r["point"], r["killed"]) for r in results]
    for r in results:
        where = f"{r['kind']}@{r['point']} via {r['used']}"
        assert r["duplicate_keys"] == 0 and r["duplicate_pairs"] == 0, where
        assert r["send_pairs"] == reference["send_pairs"], where
        assert r["sends"] == reference["sends"], where
        assert r["decisions"] == reference["decisions"], where
        assert r["campaigns"] == reference["campaigns"], where
        assert r["runs"] == [(THREAD, "completed")], where


def test_kill_before_the_first_checkpoint_is_rerun_with_the_same_thread(tmp_path, reference):
    """Nothing checkpointed: `resume` says so clearly, and `run` with the same thread starts it afresh."""
    db = seeded_copy(tmp_path)
    res = _invoke(["resume", THREAD, "--db", str(db), "--json"], _env())
    assert res.returncode == 1
    assert "never started" in res.stderr and f"--thread {THREAD}" in res.stderr
    again = _invoke(_run_args(db), _env())
    assert again.returncode == 0, again.stderr
    assert snapshot(db)["sends"] == reference["sends"]
    assert_promise_holds(db)


def test_finished_thread_is_not_resumed_or_rerun(tmp_path):
    db = seeded_copy(tmp_path)
    env = _env(CDP_AGENTS_SCRIPTED_LATENCY_MS="0")
    assert _invoke(_run_args(db), env).returncode == 0
    before = snapshot(db)
    res = _invoke(["resume", THREAD, "--db", str(db), "--approve", "auto", "--json"], env)
    assert res.returncode == 1 and "already finished (completed)" in res.stderr
    again = _invoke(_run_args(db), env)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert snapshot(db) == before
    listing = _invoke(["runs", "--db", str(db)], env)
    assert listing.returncode == 0 and THREAD in listing.stdout and "completed" in listing.stdout


def test_interrupted_run_is_listed_and_waits_for_a_decision(tmp_path):
    db = seeded_copy(tmp_path)
    env = _env(CDP_AGENTS_SCRIPTED_LATENCY_MS="0", CDP_AGENTS_APPROVAL_THRESHOLD="0")
    first = _invoke(_run_args(db, "ask"), env)
    assert first.returncode == 3, first.stderr
    assert json.loads(first.stdout)["status"] == "interrupted"
    assert _count(db, "SELECT count(*) FROM sends", []) == 0
    assert "interrupted" in _invoke(["runs", "--db", str(db)], env).stdout
    waiting = _invoke(["resume", THREAD, "--db", str(db), "--json"], env)
    assert waiting.returncode == 3 and "--decision" in waiting.stderr
    denied = _invoke(["resume", THREAD, "--db", str(db), "--decision", "deny", "--json"], env)
    assert denied.returncode in (0, 1), denied.stderr
    assert _count(db, "SELECT count(*) FROM sends", []) == 0
