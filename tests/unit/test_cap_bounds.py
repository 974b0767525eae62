"""A frequency cap must bind: a cap so high it never stops anyone switches the rule off as surely as 0."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cdp.policy import ContactPolicy, policy_from_env
from cdp.settings import InvalidSettingError
from cli.main import app
from graph.context import Context


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"CDP_AGENTS_FREQUENCY_CAP": "1000"}, "error: CDP_AGENTS_FREQUENCY_CAP=1000: must be a whole number between 1 and 50"),
        (
            {"CDP_AGENTS_FREQUENCY_CAP": "10", "CDP_AGENTS_FREQUENCY_WINDOW_DAYS": "1"},
            "error: CDP_AGENTS_FREQUENCY_CAP=10: must be a whole number between 1 and 3 (3 a day over "
            "CDP_AGENTS_FREQUENCY_WINDOW_DAYS=1): a higher cap would not stop over-messaging",
        ),
        (
            {"CDP_AGENTS_FREQUENCY_CAP": "22"},
            "error: CDP_AGENTS_FREQUENCY_CAP=22: must be a whole number between 1 and 21 (3 a day over "
            "frequency_window_days=7): a higher cap would not stop over-messaging",
        ),
    ],
)  # fmt: skip
def test_a_cap_that_would_not_bind_stops_the_command_with_one_line(tmp_path, env, line):
    result = CliRunner().invoke(app, ["runs", "--db", str(tmp_path / "x.db")], env=env)
    assert result.exit_code == 2, result.output
    assert [x for x in result.stderr.splitlines() if x.strip()] == [line]
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("cap", "window"), [(51, 30), (4, 1), (22, 7), (1000, 365)])
def test_every_way_of_building_a_policy_refuses_a_cap_that_does_not_bind(cap, window):
    with pytest.raises(InvalidSettingError):
        ContactPolicy(frequency_cap=cap, frequency_window_days=window)
    with pytest.raises(ValueError):
        Context(frequency_cap=cap, frequency_window_days=window)
    with pytest.raises(InvalidSettingError):
        policy_from_env(
            {"CDP_AGENTS_FREQUENCY_CAP": str(cap), "CDP_AGENTS_FREQUENCY_WINDOW_DAYS": str(window)}
        )


def test_policy_from_env_reads_the_run_settings_variables():
    env = {
        "CDP_AGENTS_FREQUENCY_CAP": "1",
        "CDP_AGENTS_COMPLAINT_WINDOW_DAYS": "60",
        "CDP_AGENTS_QUIET_HOURS_START": "20",
        "CDP_AGENTS_COST_SMS": "0.07",
    }
    policy = policy_from_env(env)
    assert (policy.frequency_cap, policy.complaint_window_days, policy.quiet_hours_start) == (1, 60, 20)
    assert policy.channel_costs["sms"] == 0.07 and policy_from_env({}) == ContactPolicy()
    with pytest.raises(InvalidSettingError, match="CDP_AGENTS_HOLDOUT_PCT=abc"):
        policy_from_env({"CDP_AGENTS_HOLDOUT_PCT": "abc"})


@pytest.mark.parametrize("budget", [1e23, float("inf"), float("nan"), -1])
def test_a_plan_budget_must_be_finite_and_bounded(budget):
    from pydantic import ValidationError

    from graph.plan import CampaignSpec

    with pytest.raises(ValidationError):
        CampaignSpec(budget=budget)


@pytest.mark.allow_pii_in_prompts  # the prompt check reads a 23-digit budget as a possible number
def test_an_absurd_budget_fails_the_run_with_one_line_and_no_campaign(seeded_cdp_path):
    import sqlite3

    objective = "flash sale by email for all customers with a budget of 99999999999999999999999 EUR"
    result = CliRunner().invoke(app, ["run", objective, "--db", str(seeded_cdp_path), "--approve", "auto"])
    assert result.exit_code == 1, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "budget" in lines[0], result.stderr
    conn = sqlite3.connect(seeded_cdp_path)
    try:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sends").fetchone()[0] == 0
    finally:
        conn.close()
