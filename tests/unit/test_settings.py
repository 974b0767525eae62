"""Settings that would switch a customer rule off are refused at start, wherever they come from.

Through the real CLI (`CliRunner` with an environment): exit code 2, one stderr line naming the
variable, its value and the allowed range, and nothing written — a new CDP path stays absent, an
existing CDP stays byte for byte the same, and no checkpoint file appears beside it. The same bounds
hold for `Context(...)` arguments (what Studio sends), for CLI flags and for `ContactPolicy` itself.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp.policy import ContactPolicy
from cdp.settings import InvalidSettingError
from cli.checkpoints import checkpoint_path
from cli.main import app
from graph.context import Context
from tests.graph.helpers import DEFAULT_OBJECTIVE

# Each setting and the range the error must state. Written out here, not read from the code, so
# a bound loosened in the code fails this test.
RANGES: dict[str, str] = {
    "CDP_AGENTS_FREQUENCY_CAP": "must be a whole number between 1 and 50",
    "CDP_AGENTS_FREQUENCY_WINDOW_DAYS": "must be a whole number between 1 and 365",
    "CDP_AGENTS_COMPLAINT_WINDOW_DAYS": "must be a whole number between 1 and 365",
    "CDP_AGENTS_HOLDOUT_PCT": "must be a number between 0 and 50",
    "CDP_AGENTS_QUIET_HOURS_START": "must be a whole number between 0 and 23",
    "CDP_AGENTS_QUIET_HOURS_END": "must be a whole number between 0 and 23",
    "CDP_AGENTS_COST_EMAIL": "must be a number between 0 and 1000",
    "CDP_AGENTS_COST_SMS": "must be a number between 0 and 1000",
    "CDP_AGENTS_COST_PUSH": "must be a number between 0 and 1000",
    "CDP_AGENTS_APPROVAL_THRESHOLD": "must be a whole number between 0 and 10000000",
    "CDP_AGENTS_AUDIENCE_WARN_SHARE": "must be a number between 0.01 and 1",
    "CDP_AGENTS_MAX_AGENT_STEPS": "must be a whole number between 1 and 50",
    "CDP_AGENTS_MAX_TASK_ATTEMPTS": "must be a whole number between 1 and 10",
    "CDP_AGENTS_MAX_CONCURRENCY": "must be a whole number between 1 and 64",
    "CDP_AGENTS_SIMULATE_DAYS": "must be a whole number between 0 and 90",
    "CDP_AGENTS_FOLLOWUP_EVERY_DAYS": "must be a whole number between 0 and 90",
    "CDP_AGENTS_STOP_UNSUBSCRIBE_RATE": "must be a number between 0.001 and 1",
    "CDP_AGENTS_SIMULATION_SEED": "must be a whole number between 0 and 2147483647",
    "CDP_SEGMENT_AT_RISK_CHURN": "must be a number between 0.01 and 1",
    "CDP_SEGMENT_LAPSED_DAYS": "must be a whole number between 1 and 3650",
    "CDP_SEGMENT_NEW_DAYS": "must be a whole number between 1 and 3650",
    "CDP_SEGMENT_HIGH_VALUE_TOP_PCT": "must be a number between 0.1 and 100",
    "CDP_SEGMENT_ACTIVE_DAYS": "must be a whole number between 1 and 3650",
    "CDP_SEGMENT_LOYAL_MIN_ORDERS": "must be a whole number between 1 and 10000",
    "CDP_IDENTITY_MAX_PROFILES": "must be a whole number between 1 and 1000",
    "CDP_IDENTITY_MAX_EMAIL": "must be a whole number between 1 and 1000",
}
# The attacks the issue names, then values no setting accepts.
NAMED = [
    ("CDP_AGENTS_FREQUENCY_WINDOW_DAYS", "-7"),
    ("CDP_AGENTS_FREQUENCY_WINDOW_DAYS", "0"),
    ("CDP_AGENTS_COMPLAINT_WINDOW_DAYS", "-30"),
    ("CDP_AGENTS_HOLDOUT_PCT", "-50"),
    ("CDP_AGENTS_HOLDOUT_PCT", "abc"),
    ("CDP_AGENTS_QUIET_HOURS_END", "30"),
    ("CDP_AGENTS_COST_SMS", "-0.05"),
    ("CDP_AGENTS_FREQUENCY_CAP", "0"),
    ("CDP_AGENTS_HOLDOUT_PCT", "51"),
    ("CDP_AGENTS_QUIET_HOURS_START", "-1"),
    ("CDP_AGENTS_COST_EMAIL", "-inf"),
    ("CDP_AGENTS_FREQUENCY_CAP", "2.5"),
    ("CDP_AGENTS_AUDIENCE_WARN_SHARE", "0"),
    ("CDP_AGENTS_AUDIENCE_WARN_SHARE", "1.5"),
]
EVERYWHERE_BAD = ("abc", "nan", "inf", "-1e9", "1e12")
CASES = NAMED + [(var, value) for var in RANGES for value in EVERYWHERE_BAD]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _refused_everywhere(tmp_path: Path, cdp_path: Path, env: dict[str, str]) -> list[str]:
    """Run a command that would create a CDP and one that would write runs; both must write nothing."""
    new_db = tmp_path / "new" / "cdp.db"
    before = _sha256(cdp_path)
    runner = CliRunner()
    seeded = runner.invoke(app, ["seed", "--customers", "5", "--db", str(new_db)], env=env)
    ran = runner.invoke(app, ["run", DEFAULT_OBJECTIVE, "--db", str(cdp_path), "--approve", "auto"], env=env)
    listed = runner.invoke(app, ["runs", "--db", str(tmp_path / "other.db")], env=env)
    lines = []
    for result in (seeded, ran, listed):
        assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
        lines.append(_one_error_line(result))
    assert not new_db.parent.exists() or not any(new_db.parent.iterdir())
    assert not (tmp_path / "other.db").exists()
    assert _sha256(cdp_path) == before
    assert not Path(checkpoint_path(str(cdp_path))).exists()
    assert sorted(p.name for p in cdp_path.parent.iterdir() if p.name.startswith(cdp_path.name)) == [
        cdp_path.name
    ]
    return lines


@pytest.mark.parametrize(("var", "value"), CASES)
def test_a_bad_setting_stops_every_command_with_one_line_and_writes_nothing(tmp_path, cdp_path, var, value):
    lines = _refused_everywhere(tmp_path, cdp_path, {var: value})
    for line in lines:
        assert line == f"error: {var}={value}: {RANGES[var]}", line


def test_quiet_hours_from_8_to_8_are_refused_as_switching_them_off(tmp_path, cdp_path):
    env = {"CDP_AGENTS_QUIET_HOURS_START": "8", "CDP_AGENTS_QUIET_HOURS_END": "8"}
    for line in _refused_everywhere(tmp_path, cdp_path, env):
        assert line.startswith("error: CDP_AGENTS_QUIET_HOURS_END=8: must be a whole number between 0 and 23")
        assert "CDP_AGENTS_QUIET_HOURS_START=8" in line and "would be off" in line


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("CDP_NOW", "yesterday", "must be an ISO 8601 time"),
        ("CDP_AGENTS_MODEL_TIMEOUT_S", "abc", "CDP_AGENTS_MODEL_TIMEOUT_S"),
        ("CDP_AGENTS_PROTOCOL", "carrier-pigeon", "unknown protocol, use one of hub, p2p, blackboard"),
        ("CDP_AGENTS_APPROVAL", "sometimes", "unknown approval, use one of ask, auto, deny"),
        ("CDP_AGENTS_MODEL_FACTORY", "no_such_package.models:build", "cannot be imported"),
        ("CDP_AGENTS_MODEL_FACTORY", "json:no_such_function", "cannot be imported"),
        ("CDP_AGENTS_MODEL_FACTORY", "json", "must name a function as 'module:function'"),
    ],
)
def test_other_settings_the_product_reads_are_checked_at_start(tmp_path, cdp_path, var, value, words):
    for line in _refused_everywhere(tmp_path, cdp_path, {var: value}):
        assert line.startswith("error: ") and words in line and value in line, line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--simulate", "91"], "error: --simulate=91: must be a whole number between 0 and 90"),
        (["--simulate", "-3"], "error: --simulate=-3: must be a whole number between 0 and 90"),
        (
            ["--protocol", "smoke"],
            "error: --protocol=smoke: unknown protocol, use one of hub, p2p, blackboard",
        ),
        (["--approve", "maybe"], "error: --approve=maybe: unknown approval, use one of ask, auto, deny"),
    ],
)
def test_flags_have_the_same_bounds_and_write_nothing(cdp_path, flags, expected):
    before = _sha256(cdp_path)
    result = CliRunner().invoke(app, ["run", DEFAULT_OBJECTIVE, "--db", str(cdp_path), *flags])
    assert result.exit_code == 2, result.stderr
    assert _one_error_line(result) == expected
    assert _sha256(cdp_path) == before
    assert not Path(checkpoint_path(str(cdp_path))).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("frequency_cap", 0),
        ("frequency_cap", True),
        ("frequency_window_days", -7),
        ("complaint_window_days", 0),
        ("holdout_pct", -50),
        ("holdout_pct", math.nan),
        ("quiet_hours_end", 30),
        ("cost_sms", -1.0),
        ("cost_push", math.inf),
        ("max_concurrency", 0),
        ("simulate_days", 91),
        ("stop_unsubscribe_rate", 0),
        ("frequency_cap", "abc"),
    ],
)
def test_studio_arguments_have_the_same_bounds(monkeypatch, field, value):
    for var in RANGES:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match=rf"^{field}=") as caught:
        Context(**{field: value})
    assert "between" in str(caught.value)
    with pytest.raises(ValueError, match=r"quiet_hours_end=8: .*quiet_hours_start=8"):
        Context(quiet_hours_start=8, quiet_hours_end=8)


def test_a_studio_form_may_send_numbers_as_text_and_defaults_have_one_source():
    ctx = Context(frequency_cap="4", holdout_pct="12.5")
    assert (ctx.frequency_cap, ctx.holdout_pct) == (4, 12.5)
    assert Context().policy() == ContactPolicy()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"frequency_cap": 0},
        {"frequency_cap": -3},
        {"frequency_window_days": 0},
        {"complaint_window_days": -30},
        {"holdout_pct": -50},
        {"holdout_pct": 50.5},
        {"holdout_pct": math.nan},
        {"quiet_hours_start": 8, "quiet_hours_end": 8},
        {"quiet_hours_start": 0, "quiet_hours_end": 0},
        {"quiet_hours_end": 24},
        {"suppress_open_tickets": False},
        {"channel_costs": {"email": -0.01, "sms": 0.05, "push": 0.005}},
        {"channel_costs": {"email": 0.01, "sms": math.inf, "push": 0.005}},
    ],
)
def test_contact_policy_refuses_values_that_switch_a_rule_off(kwargs):
    with pytest.raises(InvalidSettingError):
        ContactPolicy(**kwargs)
