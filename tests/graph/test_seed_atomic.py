"""`cdp-agents seed` killed mid-way leaves no half-written CDP, and the next seed succeeds.

The real CLI runs in a subprocess (as in test_crash_resume.py) and gets SIGKILL while it writes its
temporary file. The target must then not exist (or still be the CDP that was there, byte for byte);
the next seed must succeed and leave no temporary or side file of the dead one behind.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdp.atomic_seed import TEMP_MARK
from cdp.db import APPLICATION_ID

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX only")

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {**os.environ, "CDP_NOW": "2026-11-24T12:00:00Z"}
    env.pop("OPENAI_API_KEY", None)
    return env


def _seed(db: Path, customers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "seed", "--customers", str(customers), "--db", str(db)],
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_while_writing(db: Path, customers: int = 20_000) -> None:
    """Start a seed and SIGKILL it once its temporary file holds some megabytes."""
    process = _seed(db, customers)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            temps = [p for p in db.parent.iterdir() if TEMP_MARK in p.name]
            if sum(p.stat().st_size for p in temps if p.exists()) > 2_000_000:
                break
            assert process.poll() is None, f"seed ended before it was killed: {process.communicate()}"
            time.sleep(0.02)
        else:
            pytest.fail("the seed never wrote its temporary file")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    assert process.returncode == -signal.SIGKILL


def _stray(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


def test_a_seed_killed_mid_way_leaves_no_cdp_and_the_next_seed_succeeds(tmp_path):
    db = tmp_path / "data" / "cdp.db"
    db.parent.mkdir()
    _kill_while_writing(db)
    assert not db.exists()
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
    assert _stray(db.parent)  # the dead seed's temporary file is there, beside the target

    again = _seed(db, 300)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert _stray(db.parent) == []
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("SELECT count(*) FROM profiles").fetchone()[0] > 0
    finally:
        conn.close()


def test_a_seed_killed_over_an_empty_cdp_leaves_that_cdp_as_it_was(tmp_path):
    from cdp.db import open_cdp

    db = tmp_path / "cdp.db"
    open_cdp(db).conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    _kill_while_writing(db)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    again = _seed(db, 300)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert _stray(tmp_path) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM profiles").fetchone()[0] > 0


def test_seed_still_refuses_a_cdp_that_holds_profiles(tmp_path):
    db = tmp_path / "cdp.db"
    first = _seed(db, 300)
    assert first.communicate(timeout=120) and first.returncode == 0
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    second = _seed(db, 300)
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 1 and "already holds" in stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert _stray(tmp_path) == []


def test_leftovers_of_dead_seeds_are_removed_and_those_of_live_ones_kept(tmp_path):
    from cdp.atomic_seed import remove_stale_temps, temp_path

    target = tmp_path / "cdp.db"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    for name in (temp_path(target, dead_pid).name, temp_path(target, dead_pid).name + "-wal"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / (temp_path(target, 999_999_999).name + "-shm")).write_bytes(b"x")  # orphaned side file
    live = temp_path(target, os.getppid())
    live.write_bytes(b"x")
    remove_stale_temps(target)
    assert _stray(tmp_path) == [live.name]
