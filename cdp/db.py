"""Open the CDP: one SQLite file shared by every agent, process and SQLite client."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from cdp import clock
from cdp.errors import CdpUnavailableError
from cdp.migrations import MIGRATIONS

DEFAULT_DB = "data/cdp.db"
BUSY_TIMEOUT_MS = 30_000


def default_db_path() -> str:
    """`CDP_AGENTS_DB` names the CDP file everywhere; `data/cdp.db` otherwise."""
    return os.environ.get("CDP_AGENTS_DB") or DEFAULT_DB


def sqlite_connection(db) -> sqlite3.Connection:
    """The raw connection behind a `sqlite_utils.Database`, or `db` itself when it already is one
    (the gate and the staging code run inside callers' transactions on either)."""
    return db.conn if hasattr(db, "conn") else db


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A raw connection with the pragmas every CDP user needs (WAL, busy timeout, foreign keys off).

    `check_same_thread=False` because LangGraph runs sync nodes in a thread pool; each node still
    opens its own connection, so no connection is used by two threads at once.
    """
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def open_cdp(path: str | os.PathLike[str] | None = None, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the CDP at `path`, apply pending migrations and sync the clock.

    The clock is written only when `CDP_NOW` is set; otherwise a clock pinned earlier (by `CDP_NOW`
    or `clock.set_clock`, possibly from another process) stays pinned, see `cdp.clock`.

    WAL mode lets readers and one writer work at once across processes; the busy timeout makes a
    writer wait for another instead of failing with "database is locked".
    """
    target = Path(path or default_db_path())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(target)
        db = sqlite_utils.Database(conn)
        if db.journal_mode != "wal":
            db.enable_wal()
        if migrate:
            MIGRATIONS.apply(db)
            clock.sync_clock(db)
    except sqlite3.OperationalError as exc:
        raise CdpUnavailableError(f"cannot open CDP at {target}: {exc}") from exc
    return db


def memory_cdp() -> sqlite_utils.Database:
    """An in-memory CDP with the full schema, for quick unit tests."""
    db = sqlite_utils.Database(memory=True)
    MIGRATIONS.apply(db)
    clock.sync_clock(db)
    return db
