"""Shared fixtures: a fixed clock and fresh CDP files in temp folders. Tests never reach a network."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.seeded", "tests.prompt_guard"]  # prompt_guard: no PII in any prompt

FIXED_NOW = "2026-11-24T12:00:00Z"
os.environ.setdefault("CDP_NOW", FIXED_NOW)
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("OPENAI_BASE_URL", None)
os.environ.pop("MODEL", None)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setenv("CDP_NOW", FIXED_NOW)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("CDP_AGENTS_SCRIPTED_LATENCY_MS", raising=False)


@pytest.fixture
def cdp_path(tmp_path):
    """Path of a fresh, migrated CDP file."""
    from cdp import open_cdp

    path = tmp_path / "cdp.db"
    open_cdp(path).conn.close()
    return path


@pytest.fixture
def cdp_db(cdp_path):
    from cdp import open_cdp

    db = open_cdp(cdp_path)
    yield db
    db.conn.close()
