"""CDP faults: a locked database is waited for; a read-only or full one fails clearly, no partial campaign."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import cdp.db as cdp_db
from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, run, scalar, sends_without_consent
from tests.seeded import seeded_copy


def test_locked_by_another_writer_waits_then_succeeds(seeded_cdp_path):
    """Another process holds a write transaction for ~1 s: the run waits (busy timeout), then completes."""
    locked = threading.Event()
    run_started = threading.Event()
    held = {}

    def hold() -> None:
        conn = sqlite3.connect(seeded_cdp_path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE profiles SET city = city WHERE profile_id = (SELECT min(profile_id) FROM profiles)"
        )
        locked.set()
        # The lock is held for a second counted from the start of the run, however late that is.
        run_started.wait(60)
        time.sleep(1.0)
        held["released"] = time.monotonic()
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(60)
    started = time.monotonic()
    run_started.set()
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "locked")
    holder.join()
    assert state["status"] == "completed", state.get("error")
    assert held["released"] - started > 0.8  # the lock really was in the way while the run started
    sends = scalar(
        seeded_cdp_path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [state["campaign_id"]]
    )
    assert sends == state["launch"]["scheduled"] > 0
    assert sends_without_consent(seeded_cdp_path) == 0


def _read_only_connect(real_connect):
    """Open every CDP connection with `mode=ro`: what a 0444 file means to a process that is not root."""

    def connect(path):
        conn = sqlite3.connect(
            f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {cdp_db.BUSY_TIMEOUT_MS}")
        return conn

    return connect


def test_read_only_file_fails_clearly_without_a_partial_campaign(tmp_path, monkeypatch):
    """chmod 0444 on the CDP; as root (which ignores file modes) the connections are also opened read-only."""
    from typer.testing import CliRunner

    from cli.main import app

    db = seeded_copy(tmp_path)
    before = scalar(db, "SELECT count(*) FROM campaigns"), scalar(db, "SELECT count(*) FROM sends")
    os.chmod(db, 0o444)
    if os.geteuid() == 0:
        monkeypatch.setattr(cdp_db, "connect", _read_only_connect(cdp_db.connect))
    monkeypatch.setenv("CDP_AGENTS_MODEL", "scripted")
    try:
        res = CliRunner().invoke(
            app, ["run", DEFAULT_OBJECTIVE, "--db", str(db), "--thread", "ro", "--approve", "auto", "--json"]
        )
    finally:
        monkeypatch.setattr(cdp_db, "connect", cdp_db.connect)
        os.chmod(db, 0o644)
    output = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert res.exit_code == 1, (res.exit_code, output[-1500:], res.exception)
    assert "read" in output.lower() and "only" in output.lower(), output[-800:]
    assert not isinstance(res.exception, sqlite3.Error), res.exception
    monkeypatch.undo()
    assert (scalar(db, "SELECT count(*) FROM campaigns"), scalar(db, "SELECT count(*) FROM sends")) == before


def test_disk_full_fails_clearly_without_a_partial_campaign(seeded_cdp_path, monkeypatch):
    """Disk full, simulated with `PRAGMA max_page_count` on every CDP connection the run opens."""
    real_connect = cdp_db.connect
    vac = sqlite3.connect(seeded_cdp_path)
    vac.execute("VACUUM")  # no free pages left: the next page the run needs is past the limit
    vac.close()
    pages = scalar(seeded_cdp_path, "PRAGMA page_count")

    def full_connect(path):
        conn = real_connect(path)
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(cdp_db, "connect", full_connect)
    try:
        state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "full")
    except sqlite3.OperationalError as exc:  # raised out of the graph: still a clear, typed message
        assert "full" in str(exc)
        state = None
    monkeypatch.setattr(cdp_db, "connect", real_connect)
    if state is not None:
        assert state["status"] == "failed", state["status"]
        assert "full" in (state.get("error") or "") + (state.get("report") or "")
    assert scalar(seeded_cdp_path, "SELECT count(*) FROM sends") == 0
    assert (
        scalar(seeded_cdp_path, "SELECT count(*) FROM campaigns WHERE status IN ('launched', 'scheduled')")
        == 0
    )
