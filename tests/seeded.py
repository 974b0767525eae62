"""Seeded-CDP fixtures (a pytest plugin): seed once per (customers, seed, CDP_NOW) per test process,
then give every test its own file copy, so tests may write freely without paying for a seed each.

Register with `pytest_plugins = ["tests.seeded"]` in the root conftest.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

_CACHE: dict[tuple[int, int, str], Path] = {}
_CACHE_DIR: Path | None = None


def _cache_dir() -> Path:
    global _CACHE_DIR
    if _CACHE_DIR is None:
        _CACHE_DIR = Path(tempfile.mkdtemp(prefix="cdp-seeded-"))
        atexit.register(shutil.rmtree, _CACHE_DIR, True)
    return _CACHE_DIR


def _seeded_master(customers: int, seed: int) -> Path:
    """The cached seeded file for these arguments (created on first use, then reused)."""
    key = (customers, seed, os.environ.get("CDP_NOW", ""))
    path = _CACHE.get(key)
    if path is None or not path.exists():
        from cdp import open_cdp
        from cdp.seed import seed_cdp

        path = _cache_dir() / f"seeded-{customers}-{seed}-{len(_CACHE)}.db"
        db = open_cdp(path)
        try:
            seed_cdp(db, customers=customers, seed=seed)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.conn.close()
        _CACHE[key] = path
    return path


def seeded_copy(tmp_path: Path, customers: int = 2000, seed: int = 7) -> Path:
    """A fresh copy of a seeded CDP inside `tmp_path` (seeded at most once per arguments and process)."""
    master = _seeded_master(customers, seed)
    target = Path(tmp_path) / f"seeded-{customers}-{seed}.db"
    n = 1
    while target.exists():
        n += 1
        target = Path(tmp_path) / f"seeded-{customers}-{seed}-{n}.db"
    # The master's WAL was truncated after seeding, so the main file alone is the whole database.
    with sqlite3.connect(master) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()
    return target


@pytest.fixture
def seeded_cdp_path(tmp_path) -> Path:
    """Path of a private copy of a 2,000-customer seeded CDP (seed 7, clock at CDP_NOW)."""
    return seeded_copy(tmp_path)


@pytest.fixture
def seeded_cdp(seeded_cdp_path):
    """An open `sqlite_utils.Database` on a private seeded CDP copy."""
    from cdp import open_cdp

    db = open_cdp(seeded_cdp_path)
    yield db
    db.conn.close()
