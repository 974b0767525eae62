"""Shared fixtures: a hermetic environment, a fixed clock and fresh CDP files in temp folders.

The suite must pass whatever the user's shell exports or their `.env` holds: before any test module
is imported, every product setting (`CDP_*`, `CDP_AGENTS_*`, `OPENAI_*`, `MODEL`, LangSmith tracing)
is removed from the environment and `.env` loading is switched off for the in-process CLI and for
every subprocess that inherits this environment. A test that needs a value sets it itself.
Tests never reach a network.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.seeded", "tests.prompt_guard"]  # prompt_guard: no PII in any prompt

FIXED_NOW = "2026-11-24T12:00:00Z"

#: Prefixes and names of the variables that change what the product does.
PRODUCT_ENV_PREFIXES = ("CDP_", "OPENAI_", "LANGCHAIN_", "LANGSMITH_")
PRODUCT_ENV_NAMES = ("MODEL",)
#: Switches of the test harness itself (set by .ci/run), kept.
HARNESS_ENV = ("CDP_AGENTS_REQUIRE_CHROMIUM",)


def hermetic_environ() -> None:
    """Strip every product setting from `os.environ`, then pin the clock and switch `.env` off."""
    for name in list(os.environ):
        if name in HARNESS_ENV:
            continue
        if name in PRODUCT_ENV_NAMES or name.startswith(PRODUCT_ENV_PREFIXES):
            del os.environ[name]
    os.environ["CDP_NOW"] = FIXED_NOW
    os.environ["CDP_AGENTS_NO_DOTENV"] = "1"


hermetic_environ()


@pytest.fixture(autouse=True)
def _hermetic():
    """Each test starts from the hermetic environment, and whatever it wrote into `os.environ`
    without monkeypatch (a `.env` a CLI run loaded, say) is undone afterwards."""
    before = dict(os.environ)
    hermetic_environ()
    yield
    os.environ.clear()
    os.environ.update(before)


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
