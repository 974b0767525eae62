"""The suite passes whatever the user's `.env` and shell hold.

A hostile `.env` (a fake key, a foreign endpoint, a pinned clock, odd caps, another CDP file) is
written into a temporary copy of the project, the same values are exported, and a representative
subset of the suite runs there in a fresh pytest process. The subset was chosen from the tests that
failed before the environment was made hermetic, plus one of each kind that reads settings: CLI runs
in-process, CLI subprocesses, the seeded fixtures and the offline model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = {
    "OPENAI_API_KEY": "sk-test-not-real",
    "OPENAI_BASE_URL": "http://192.0.2.1:9/v1",
    "MODEL": "gpt-4o-mini",
    "CDP_NOW": "2026-11-20T12:00:00Z",
    "CDP_AGENTS_DB": "/nonexistent/elsewhere.db",
    "CDP_AGENTS_MODEL": "openai/gpt-4o-mini",
    "CDP_AGENTS_APPROVAL": "deny",
    "CDP_AGENTS_PROTOCOL": "blackboard",
    "CDP_AGENTS_FREQUENCY_CAP": "1",
    "CDP_AGENTS_FREQUENCY_WINDOW_DAYS": "30",
    "CDP_AGENTS_COMPLAINT_WINDOW_DAYS": "365",
    "CDP_AGENTS_HOLDOUT_PCT": "45",
    "CDP_AGENTS_APPROVAL_THRESHOLD": "1",
    "CDP_AGENTS_MAX_AGENT_STEPS": "1",
    "CDP_AGENTS_SCRIPTED_LATENCY_MS": "700",
    "CDP_SEGMENT_AT_RISK_CHURN": "0.1",
    "CDP_SEGMENT_LAPSED_DAYS": "5",
}

SUBSET = [
    "tests/graph/test_cli_runs.py",
    "tests/unit/test_reader.py::test_channels",
    "tests/unit/test_filters.py::test_fixture_story_holds",
    "tests/unit/test_cli_data.py",
    "tests/graph/test_default_objective.py",
    "tests/graph/test_seed_atomic.py::test_seed_still_refuses_a_cdp_that_holds_profiles",
    "tests/unit/test_settings.py::test_quiet_hours_from_8_to_8_are_refused_as_switching_them_off",
]

_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "data", "test-artifacts", "__pycache__", ".hypothesis", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".langgraph_api", "*.db", "*.db-wal", "*.db-shm", ".env", "*.egg-info",
    "benchmarks", "BENCHMARKS.md",
)  # fmt: skip


def _dotenv_text() -> str:
    return "".join(f"{k}={v}\n" for k, v in HOSTILE.items())


@pytest.mark.slow
@pytest.mark.timeout(900)  # a whole pytest run of the subset: minutes when other work shares the cores
def test_subset_passes_under_a_hostile_env_file_and_shell(tmp_path):
    for test in SUBSET:
        assert (ROOT / test.split("::")[0]).is_file(), f"subset names a missing test file: {test}"
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=_IGNORE)
    (copy / ".env").write_text(_dotenv_text())
    env = {**os.environ, **HOSTILE}
    env.pop("CDP_AGENTS_NO_DOTENV", None)  # the copy's own conftest must switch it off
    env.pop("PYTEST_XDIST_WORKER", None)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUBSET],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    tail = (res.stdout + res.stderr)[-4000:]
    assert res.returncode == 0, tail
    assert " passed" in res.stdout and " failed" not in res.stdout, tail
    # Nothing was written where the hostile settings point.
    assert not Path(HOSTILE["CDP_AGENTS_DB"]).exists()


def test_cli_reads_env_file_from_working_folder_unless_switched_off(tmp_path):
    """The CLI does read `.env` for users (from the folder it runs in); the switch turns it off."""
    work = tmp_path / "work"
    work.mkdir()
    target = work / "from-dotenv.db"
    (work / ".env").write_text(f"CDP_AGENTS_DB={target}\n")
    env = {k: v for k, v in os.environ.items() if k != "CDP_AGENTS_NO_DOTENV"}
    env["PYTHONPATH"] = str(ROOT)
    seed = [sys.executable, "-m", "cli.main", "seed", "--customers", "20"]
    res = subprocess.run(seed, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert target.is_file(), "the .env in the working folder named the CDP file"

    # Switched off, by the variable or the flag: the default CDP path is used, the .env's is not.
    for name, switch_env, flag in (("var", {"CDP_AGENTS_NO_DOTENV": "1"}, []), ("flag", {}, ["--no-dotenv"])):
        other = tmp_path / name
        other.mkdir()
        (other / ".env").write_text(f"CDP_AGENTS_DB={other / 'ignored.db'}\n")
        args = [sys.executable, "-m", "cli.main", *flag, "seed", "--customers", "20"]
        res = subprocess.run(
            args, cwd=other, env={**env, **switch_env}, capture_output=True, text=True, timeout=120
        )
        assert res.returncode == 0, res.stderr
        assert not (other / "ignored.db").exists()
        assert (other / "data" / "cdp.db").is_file()


def test_conftest_strips_product_settings():
    leaked = sorted(
        k
        for k in os.environ
        if (k.startswith(("CDP_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_")) or k == "MODEL")
        and k not in ("CDP_NOW", "CDP_AGENTS_NO_DOTENV", "CDP_AGENTS_REQUIRE_CHROMIUM")
    )
    assert leaked == []
    assert os.environ["CDP_NOW"] == "2026-11-24T12:00:00Z"
