"""Any ContactPolicy (or Context) that validation accepts keeps every customer rule on.

Hypothesis throws numbers, text, NaN, infinities and booleans at every limit. Whatever is accepted
must leave: a cap of at least one message, cap and complaint windows of at least a day, open-ticket
suppression on, quiet hours that really hold some hour of the day (checked with the gate's own
function), a holdout between 0 and 50 %, and finite, non-negative costs.
"""

from __future__ import annotations

import math
import os
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.gate import _in_quiet_hours
from cdp.policy import ContactPolicy
from cdp.settings import InvalidSettingError
from graph.context import Context

anything = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
    st.sampled_from(["0", "-7", "8", "nan", "inf", "1e3", " 3 ", "2.5", ""]),
)
costs = st.dictionaries(st.sampled_from(["email", "sms", "push"]), anything, max_size=3)


def assert_every_rule_on(policy: ContactPolicy) -> None:
    assert isinstance(policy.frequency_cap, int) and policy.frequency_cap >= 1
    assert isinstance(policy.frequency_window_days, int) and policy.frequency_window_days >= 1
    assert isinstance(policy.complaint_window_days, int) and policy.complaint_window_days >= 1
    assert policy.suppress_open_tickets is True
    assert 0 <= policy.quiet_hours_start <= 23 and 0 <= policy.quiet_hours_end <= 23
    quiet = [h for h in range(24) if _in_quiet_hours(h, policy.quiet_hours_start, policy.quiet_hours_end)]
    assert 1 <= len(quiet) <= 23  # some hour is quiet, and some hour can still be sent at
    assert math.isfinite(policy.holdout_pct) and 0 <= policy.holdout_pct <= 50
    for cost in policy.channel_costs.values():
        assert isinstance(cost, float) and math.isfinite(cost) and cost >= 0


@settings(max_examples=400, deadline=None)
@given(
    cap=anything,
    window=anything,
    complaint=anything,
    start=anything,
    end=anything,
    holdout=anything,
    tickets=anything,
    channel_costs=costs,
)
def test_an_accepted_contact_policy_keeps_every_rule_on(
    cap, window, complaint, start, end, holdout, tickets, channel_costs
):
    try:
        policy = ContactPolicy(
            frequency_cap=cap,
            frequency_window_days=window,
            complaint_window_days=complaint,
            quiet_hours_start=start,
            quiet_hours_end=end,
            holdout_pct=holdout,
            suppress_open_tickets=tickets,
            channel_costs=channel_costs,
        )
    except InvalidSettingError:
        return
    assert_every_rule_on(policy)


@settings(max_examples=200, deadline=None)
@given(
    env=st.dictionaries(
        st.sampled_from(
            [
                "CDP_AGENTS_FREQUENCY_CAP",
                "CDP_AGENTS_FREQUENCY_WINDOW_DAYS",
                "CDP_AGENTS_COMPLAINT_WINDOW_DAYS",
                "CDP_AGENTS_QUIET_HOURS_START",
                "CDP_AGENTS_QUIET_HOURS_END",
                "CDP_AGENTS_HOLDOUT_PCT",
                "CDP_AGENTS_COST_EMAIL",
                "CDP_AGENTS_COST_SMS",
                "CDP_AGENTS_COST_PUSH",
            ]
        ),
        anything.map(str),
        max_size=5,
    )
)
def test_an_accepted_environment_gives_the_gate_a_policy_with_every_rule_on(env):
    with mock.patch.dict(os.environ, env):
        try:
            context = Context()
        except InvalidSettingError:
            return
    assert_every_rule_on(context.policy())
