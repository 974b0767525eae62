"""Seed a CDP file all at once: built beside its target, then renamed into place.

A seed killed half-way (Ctrl-C, SIGKILL, a full disk) must leave either no CDP or the one that was
there, never a half-written file that the next `seed` refuses as "already holds profiles". The
database is built in a temporary file in the target's folder (same file system, so the rename is
atomic), checkpointed out of WAL mode so the main file alone is the whole database, synced, and
moved over the target with `os.replace`. Temporary files of seeds that died are removed by the
next seed. A -wal, -shm or -journal file beside a missing or empty target (left by a deleted CDP) is
refused, never adopted: SQLite would replay it into the renamed file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from cdp.db import file_kind, open_cdp, stray_side_files
from cdp.identity import IdentitySettings
from cdp.seed import SeedError, SeedSummary, seed_cdp

#: `.cdp.db.seeding-<pid>`: hidden, tied to the process that writes it.
TEMP_MARK = ".seeding-"
SIDE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def temp_path(target: Path, pid: int | None = None) -> Path:
    """Where the seed of `target` by process `pid` is built."""
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid() if pid is None else pid}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a temporary file of ours from an earlier call has been abandoned
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    for suffix in SIDE_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete the temporary files (and their WAL side files) of seeds of `target` whose process died."""
    removed = []
    prefix = f".{target.name}{TEMP_MARK}"
    for candidate in target.parent.glob(f"{prefix}*"):
        pid_text = candidate.name[len(prefix) :]
        for suffix in SIDE_SUFFIXES[1:]:
            pid_text = pid_text.removesuffix(suffix)  # a side file whose database is already gone
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        _remove(candidate.with_name(prefix + pid_text))
        removed.append(candidate)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_existing(target: Path) -> None:
    """An existing CDP with profiles is never replaced; an empty one may be, when nobody has it open."""
    # A foreign file raises NotACdpError here, untouched; side files of a deleted CDP beside a
    # missing or empty target raise StraySideFilesError.
    kind = file_kind(target)
    if kind in ("missing", "empty"):
        return
    in_use = Path(f"{target}-wal").exists()
    # Read-only (immutable when no WAL is beside it): a refused seed must not change the CDP it
    # refuses, nor leave a side file that would outlive the rename.
    uri = f"file:{quote(str(target.resolve()))}?mode=ro" + ("" if in_use else "&immutable=1")
    conn = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        existing = conn.execute("SELECT count(*) FROM profiles").fetchone()[0]
    except sqlite3.OperationalError:
        existing = 0  # marked, but its schema was never written
    finally:
        conn.close()
    if existing:
        raise SeedError(f"the CDP already holds {existing} profiles; seed a new file (another --db path)")
    if in_use:
        raise SeedError(f"another process has {target} open; let it finish, then seed again")


def seed_file(
    path: str | os.PathLike[str],
    customers: int = 10_000,
    seed: int = 42,
    *,
    identity_settings: IdentitySettings | None = None,
) -> SeedSummary:
    """Seed a new CDP at `path` atomically (see the module docstring); returns what was written."""
    if customers < 1:
        raise SeedError("customers must be at least 1")
    target = Path(path)
    _refuse_existing(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    temp = temp_path(target)
    _remove(temp)
    try:
        db = open_cdp(temp)
        try:
            summary = seed_cdp(db, customers=customers, seed=seed, identity_settings=identity_settings)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            # Out of WAL mode, so no -wal file holds part of the database at the rename; the next
            # `open_cdp` of the target switches it back to WAL.
            db.execute("PRAGMA journal_mode = DELETE")
        finally:
            db.conn.close()
        if leftover := stray_side_files(temp):  # out of WAL mode, so SQLite removed them on close
            raise SeedError(f"the seed left {leftover[0]} beside its temporary file; seed again")
        _fsync(temp)
        if (late := stray_side_files(target)) and not target.exists():
            raise SeedError(f"{late[0]} appeared beside {target} during the seed; delete it, then seed again")
        os.replace(temp, target)
        if hasattr(os, "O_DIRECTORY"):
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        _remove(temp)
        raise
    open_cdp(target).conn.close()  # back to WAL, so readers and a writer can share it from now on
    return summary
