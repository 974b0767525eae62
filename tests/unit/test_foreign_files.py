"""Files that are not a CDP are refused untouched, and commands that only read never create a file.

Every command that takes `--db` is pointed at another application's SQLite database (rollback and
WAL mode, with and without an application id), a text file and a binary file. Each must stop with
one line, leave the file's sha256 as it was and create nothing beside it (no -wal, -shm or
checkpoint file). A CDP made before files were marked gets the mark and keeps working.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp.db import APPLICATION_ID, NoCdpError, NotACdpError, inspect_file, memory_cdp, open_cdp
from cli.main import app
from tests.graph.helpers import DEFAULT_OBJECTIVE


def _foreign_sqlite(path: Path, *, wal: bool = False, app_id: int = 0) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    if app_id:
        conn.execute(f"PRAGMA application_id = {app_id}")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [("keep me",), ("and me",)])
    conn.commit()
    conn.close()


FOREIGN = {
    "sqlite": lambda p: _foreign_sqlite(p),
    "sqlite-wal": lambda p: _foreign_sqlite(p, wal=True),
    "sqlite-other-app": lambda p: _foreign_sqlite(p, app_id=0x47504B47),
    "text": lambda p: p.write_text("name,email\nAda,ada@example.com\n" * 20),
    "binary": lambda p: p.write_bytes(bytes(range(256)) * 8),
    "sqlite-magic-garbage": lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000),
}


def _commands(db: str, other: Path) -> dict[str, list[str]]:
    return {
        "run": ["run", DEFAULT_OBJECTIVE, "--db", db, "--approve", "auto"],
        "resume": ["resume", "some-thread", "--db", db, "--approve", "auto"],
        "runs": ["runs", "--db", db],
        "trace": ["trace", "some-thread", "--db", db],
        "explain": ["explain", "p0000001", "--db", db],
        "report": ["report", "some-thread", "--db", db],
        "profile": ["profile", "p0000001", "--db", db],
        "seed": ["seed", "--customers", "5", "--db", db],
        "import": ["import", str(other), "--kind", "profiles", "--db", db],
        "demo": ["demo", "--db", db, "--customers", "5", "--html", str(other.with_suffix(".html"))],
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind", sorted(FOREIGN))
@pytest.mark.parametrize("command", sorted(_commands("x", Path("y"))))
def test_a_foreign_file_is_refused_by_every_command_and_left_byte_for_byte(tmp_path, kind, command):
    folder = tmp_path / "cdp"
    folder.mkdir()
    target = folder / "their.db"
    FOREIGN[kind](target)
    rows = tmp_path / "profiles.csv"
    rows.write_text("profile_id,email\nx1,x1@example.com\n")
    before, listing = _sha256(target), _listing(folder)
    result = CliRunner().invoke(app, _commands(str(target), rows)[command])
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a CDP" in lines[0] and str(target) in lines[0], (
        result.stdout,
        result.stderr,
    )
    assert "resume" not in lines[0]
    assert _sha256(target) == before
    assert _listing(folder) == listing  # no -wal, -shm, -journal or checkpoint file beside it


@pytest.mark.parametrize("command", ["runs", "trace", "explain", "report", "profile", "resume"])
@pytest.mark.parametrize("state", ["missing", "empty-file"])
def test_read_only_commands_never_create_a_cdp(tmp_path, command, state):
    target = tmp_path / "nonexistent.db"
    if state == "empty-file":
        target.write_bytes(b"")
    before = _listing(tmp_path)
    result = CliRunner().invoke(app, _commands(str(target), tmp_path / "unused.csv")[command])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"no CDP at {target}" in lines[0], result.stderr
    assert _listing(tmp_path) == before
    if state == "empty-file":
        assert target.read_bytes() == b""


def test_runs_on_a_missing_path_says_how_to_make_a_cdp(tmp_path):
    target = tmp_path / "nonexistent.db"
    result = CliRunner().invoke(app, ["runs", "--db", str(target)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: no CDP at {target}: run cdp-agents seed or import first"
    assert not target.exists()


def test_open_cdp_marks_new_files_and_refuses_foreign_ones_without_writing(tmp_path):
    fresh = tmp_path / "fresh.db"
    open_cdp(fresh).conn.close()
    assert sqlite3.connect(fresh).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert inspect_file(fresh) == "cdp"
    assert memory_cdp().execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    with pytest.raises(NoCdpError, match="no CDP at"):
        open_cdp(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()
    for kind, make in FOREIGN.items():
        path = tmp_path / f"{kind}.db"
        make(path)
        before, listing = _sha256(path), _listing(tmp_path)
        for kwargs in ({}, {"migrate": False}, {"create": False}):
            with pytest.raises(NotACdpError):
                open_cdp(path, **kwargs)
        assert _sha256(path) == before and _listing(tmp_path) == listing, kind
    their = sqlite3.connect(tmp_path / "sqlite.db")
    assert their.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1  # no CDP schema
    assert their.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def _unmark(cdp_path: Path) -> None:
    conn = sqlite3.connect(cdp_path)
    conn.execute("PRAGMA application_id = 0")
    conn.execute(
        "INSERT INTO runs (thread_id, objective, status, protocol, created_at, updated_at) "
        "VALUES ('old-run', 'an old objective', 'completed', 'hub', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()


def test_a_cdp_from_before_the_mark_gets_it_and_keeps_working(tmp_path, cdp_path):
    """Read-only commands read an unmarked CDP as it is, writing nothing (rt2 #6); the first command
    that writes marks it, and it keeps working."""
    _unmark(cdp_path)
    assert inspect_file(cdp_path) == "unmarked-cdp"
    before = _sha256(cdp_path)
    result = CliRunner().invoke(app, ["runs", "--db", str(cdp_path)])
    assert result.exit_code == 0, result.stderr
    assert "old-run" in result.stdout
    assert _sha256(cdp_path) == before, "a read-only command wrote to an unmarked file"
    assert sqlite3.connect(cdp_path).execute("PRAGMA application_id").fetchone()[0] == 0
    open_cdp(cdp_path).conn.close()  # what every command that writes does first
    assert sqlite3.connect(cdp_path).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    result = CliRunner().invoke(app, ["runs", "--db", str(cdp_path)])
    assert result.exit_code == 0 and "old-run" in result.stdout, result.stderr


def test_a_read_only_command_refuses_an_outdated_unmarked_cdp_without_migrating_it(cdp_path):
    _unmark(cdp_path)
    conn = sqlite3.connect(cdp_path)
    last = "m064_consent_grant_clock"  # made before it: its row and its triggers are not there
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [last])
    conn.execute("DROP TRIGGER consents_grant_clamp_insert")
    conn.execute("DROP TRIGGER consents_grant_clamp_update")
    conn.commit()
    conn.close()
    before = _sha256(cdp_path)
    result = CliRunner().invoke(app, ["runs", "--db", str(cdp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "earlier version" in lines[0] and str(cdp_path) in lines[0], result.stderr
    assert _sha256(cdp_path) == before
    # `resume` (like `run`) writes: it brings the CDP up to date and marks it.
    result = CliRunner().invoke(app, ["resume", "never-ran", "--db", str(cdp_path)])
    assert "never started" in result.stderr, result.stderr
    conn = sqlite3.connect(cdp_path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("SELECT 1 FROM _sqlite_migrations WHERE name = ?", [last]).fetchone()
    conn.close()


def _fake_migrations(path: Path, names: list[str], core: bool) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)")
    conn.executemany("INSERT INTO _sqlite_migrations VALUES ('cdp', ?, '2020-01-01')", [[n] for n in names])
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    if core:
        for table in ("cdp_clock", "profiles", "identities", "events", "consents", "tickets"):
            conn.execute(f"CREATE TABLE {table} (id)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "names, core",
    [
        (["0001_init"], False),
        (["0001_init"], True),
        (["m001_core", "0002_theirs"], True),
        (["m001_core"], False),
    ],
)
@pytest.mark.parametrize("command", ["runs", "run", "import"])
def test_a_foreign_file_with_a_cdp_migrations_row_is_not_adopted(tmp_path, names, core, command):
    """rt2 #6: a `_sqlite_migrations` row for set 'cdp' alone made a foreign file an unmarked CDP,
    and `runs` stamped and migrated it. Fails on the old code (exit 0, file changed)."""
    folder = tmp_path / "cdp"
    folder.mkdir()
    target = folder / "fm.db"
    _fake_migrations(target, names, core)
    rows = tmp_path / "profiles.csv"
    rows.write_text("profile_id,email\nx1,x1@example.com\n")
    before, listing = _sha256(target), _listing(folder)
    with pytest.raises(NotACdpError):
        inspect_file(target)
    result = CliRunner().invoke(app, _commands(str(target), rows)[command])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a CDP" in lines[0], result.stderr
    assert _sha256(target) == before and _listing(folder) == listing


def _leave_a_wal_behind(path: Path) -> None:
    """A CDP whose last change sits in its WAL (a process died before checkpointing), then deleted."""
    import subprocess
    import sys

    script = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "c.execute(\"UPDATE consents SET status = 'granted', updated_at = '2026-11-24T11:00:00Z'\")\n"
        "c.commit(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert Path(f"{path}-wal").stat().st_size > 0
    path.unlink()


def test_seed_over_a_deleted_cdps_wal_refuses_instead_of_replaying_it(tmp_path):
    """rt2 #3: the new CDP took the deleted one's WAL (every consent granted, or a malformed file).
    Fails on the old code (exit 0)."""
    target = tmp_path / "w.db"
    seed = ["seed", "--customers", "20", "--db", str(target)]
    assert CliRunner().invoke(app, seed).exit_code == 0
    _leave_a_wal_behind(target)
    listing = _listing(tmp_path)
    result = CliRunner().invoke(app, seed)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{target}-wal" in lines[0] and "delete them" in lines[0], result.stderr
    assert _listing(tmp_path) == listing and not target.exists()
    Path(f"{target}-wal").unlink()
    Path(f"{target}-shm").unlink(missing_ok=True)
    assert CliRunner().invoke(app, seed).exit_code == 0
    db = open_cdp(target)
    statuses = dict(db.execute("SELECT status, count(*) FROM consents GROUP BY status").fetchall())
    db.conn.close()
    assert set(statuses) != {"granted"}, statuses


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
@pytest.mark.parametrize("state", ["missing", "empty-file"])
def test_open_cdp_never_creates_a_file_over_side_files_left_beside_it(tmp_path, suffix, state):
    from cdp.db import StraySideFilesError

    target = tmp_path / "n.db"
    if state == "empty-file":
        target.write_bytes(b"")
    Path(f"{target}{suffix}").write_bytes(b"\x00" * 64)
    listing = _listing(tmp_path)
    for kwargs in ({}, {"create": False}, {"migrate": False}):
        with pytest.raises(StraySideFilesError, match=f"{target}{suffix}"):
            open_cdp(target, **kwargs)
    assert _listing(tmp_path) == listing


def test_seed_leaves_no_side_file_of_its_temporary_file(tmp_path):
    target = tmp_path / "s.db"
    assert CliRunner().invoke(app, ["seed", "--customers", "5", "--db", str(target)]).exit_code == 0
    assert [n for n in _listing(tmp_path) if n.startswith(".")] == []


def test_opening_a_cdp_again_keeps_the_locks_of_connections_already_open(cdp_path):
    """Reading the header with our own descriptor would drop this process's SQLite locks (POSIX):
    another process could then switch the CDP out of WAL, or delete the WAL, under a live connection."""
    import subprocess
    import sys

    from cdp.db import file_kind

    held = open_cdp(cdp_path)
    held.execute("SELECT count(*) FROM profiles").fetchone()
    try:
        for _ in range(3):
            open_cdp(cdp_path).conn.close()
            open_cdp(cdp_path, create=False, migrate=False).conn.close()
        assert file_kind(cdp_path) == "cdp"
        probe = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0.2)\n"
            "try:\n    print(c.execute('PRAGMA journal_mode = DELETE').fetchone()[0])\n"
            "except sqlite3.OperationalError as e:\n    print(e)"
        )
        other = subprocess.run(
            [sys.executable, "-c", probe, str(cdp_path)], capture_output=True, text=True, timeout=30
        )
        assert other.stdout.strip() == "database is locked", other
        assert held.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        held.conn.close()


@pytest.mark.parametrize("kind", sorted(FOREIGN))
@pytest.mark.parametrize("command", ["run", "resume", "report"])
def test_a_foreign_checkpoint_file_is_refused_and_left_byte_for_byte(cdp_path, kind, command):
    """rt2 #5: a foreign SQLite `f.checkpoints.db` got LangGraph's tables and WAL mode; a text file
    there gave "the CDP ... could not be written ... continue with: cdp-agents resume". Fails on the
    old code."""
    from cli.checkpoints import checkpoint_path

    checkpoints = Path(checkpoint_path(str(cdp_path)))
    FOREIGN[kind](checkpoints)
    before, listing = _sha256(checkpoints), _listing(cdp_path.parent)
    result = CliRunner().invoke(app, _commands(str(cdp_path), cdp_path.parent / "unused.csv")[command])
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{checkpoints} is not a checkpoint file" in lines[0], result.stderr
    assert "resume" not in lines[0]
    assert _sha256(checkpoints) == before
    assert _listing(cdp_path.parent) == listing


@pytest.mark.parametrize("state", ["empty-file", "langgraph-only"])
def test_an_empty_or_langgraph_only_checkpoint_file_is_used(cdp_path, state):
    from langgraph.checkpoint.sqlite import SqliteSaver

    from cli.checkpoints import checkpoint_path

    checkpoints = Path(checkpoint_path(str(cdp_path)))
    checkpoints.write_bytes(b"")
    if state == "langgraph-only":
        conn = sqlite3.connect(checkpoints)
        SqliteSaver(conn).setup()
        conn.close()
    result = CliRunner().invoke(app, ["resume", "never-ran", "--db", str(cdp_path)])
    assert result.exit_code == 1
    assert "never started" in result.stderr, result.stderr


def test_a_deleted_checkpoint_files_wal_is_refused(cdp_path):
    from cli.checkpoints import checkpoint_path

    checkpoints = Path(checkpoint_path(str(cdp_path)))
    Path(f"{checkpoints}-wal").write_bytes(b"\x00" * 64)
    result = CliRunner().invoke(app, ["resume", "never-ran", "--db", str(cdp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{checkpoints}-wal" in lines[0], result.stderr
    assert not checkpoints.exists()


def test_two_cdps_never_share_a_checkpoint_file():
    """rt2 #5: `a.db`, `a.sqlite` and `a` all used `a.checkpoints.db` (`Path.stem`)."""
    from cli.checkpoints import checkpoint_path

    names = ["a.db", "a.sqlite", "a", "a.sqlite.db", "a.checkpoints", "a.DB", "d/a.db", "a.b.db"]
    paths = [checkpoint_path(n) for n in names]
    assert len(set(paths)) == len(paths), paths
    assert checkpoint_path("data/cdp.db") == "data/cdp.checkpoints.db"  # existing users keep theirs
