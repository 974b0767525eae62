"""The campaign lifecycle through the real graph: launch, simulated days, measurement, optimisation.

One broad campaign on a 2,000-customer CDP is run for 7 simulated days (module fixture); every check
reads the CDP with plain SQL and recomputes what the code claims.
"""

from __future__ import annotations

import itertools
import math

import pytest

from tests.graph.helpers import compile_graph, rows, run, scalar
from tests.invariants import assert_promise_holds
from tests.seeded import seeded_copy

BROAD = "grow revenue with a 10% discount for all customers by email and push"
#: BROAD reaches every customer, which waits for a person by default; these runs are about the lifecycle.
WHOLE_BASE = 1.0
DAYS = 7


@pytest.fixture(scope="module")
def lifecycle_run(tmp_path_factory):
    path = seeded_copy(tmp_path_factory.mktemp("lifecycle"))
    thread = "lifecycle-broad"
    out = run(compile_graph(), BROAD, path, thread, audience_warn_share=WHOLE_BASE, simulate_days=DAYS)
    return path, thread, out


pytestmark = pytest.mark.xdist_group("lifecycle")


def test_runs_every_day_then_synthesizes(lifecycle_run):
    path, _, out = lifecycle_run
    assert out["status"] == "completed"
    info = out["lifecycle"]
    assert info["day"] == DAYS and not info["stopped"]
    cid = out["campaign_id"]
    assert [
        r[0] for r in rows(path, "SELECT day FROM campaign_results WHERE campaign_id = ? ORDER BY day", [cid])
    ] == list(range(1, DAYS + 1))
    assert scalar(path, "SELECT status FROM campaigns WHERE campaign_id = ?", [cid]) == "completed"
    # one review (analytics + optimization) per day, recorded as a status message
    assert (
        scalar(path, "SELECT count(*) FROM agent_messages WHERE task_id LIKE 'day%' AND kind = 'status'")
        == DAYS
    )


def test_arms_and_rates_match_sql(lifecycle_run):
    path, _, out = lifecycle_run
    cid = out["campaign_id"]
    last = rows(path, "SELECT * FROM campaign_results WHERE campaign_id = ? AND day = ?", [cid, DAYS])[0]
    treated = scalar(
        path,
        "SELECT count(DISTINCT profile_id) FROM sends WHERE campaign_id = ? AND status = 'delivered'",
        [cid],
    )
    holdout = scalar(
        path,
        "SELECT count(*) FROM decisions WHERE campaign_id = ? AND step = 0 AND outcome = 'holdout'",
        [cid],
    )
    assert last["treated_n"] == treated > 0
    assert last["holdout_n"] == holdout > 0
    launched = scalar(path, "SELECT launched_at FROM campaigns WHERE campaign_id = ?", [cid])
    buyers = scalar(
        path,
        """SELECT count(DISTINCT e.profile_id) FROM events e
           WHERE e.type = 'purchase' AND e.ts >= ? AND e.ts < ?
             AND e.profile_id IN (SELECT profile_id FROM sends WHERE campaign_id = ? AND status = 'delivered')""",
        [launched, last["as_of"], cid],
    )
    assert last["treated_rate"] == pytest.approx(buyers / treated, abs=1e-5)
    p1, p2 = last["treated_rate"], last["holdout_rate"]
    se = math.sqrt(p1 * (1 - p1) / treated + p2 * (1 - p2) / holdout)
    assert last["lift"] == pytest.approx(p1 - p2, abs=1e-5)
    assert last["ci_low"] == pytest.approx(p1 - p2 - 1.96 * se, abs=1e-4)
    assert last["ci_high"] == pytest.approx(p1 - p2 + 1.96 * se, abs=1e-4)
    # the campaign works in the simulator: contacted customers buy more than held-out ones
    assert last["lift"] > 0


def test_cells_partition_the_treated_arm(lifecycle_run):
    path, _, out = lifecycle_run
    cid = out["campaign_id"]
    for cut in ("variant", "channel"):
        total = scalar(
            path,
            f"SELECT sum(customers) FROM campaign_metrics WHERE campaign_id = ? AND day = ? AND arm = 'treated' "
            f"AND {cut} != ''",
            [cid, DAYS],
        )
        assert total == scalar(
            path, "SELECT treated_n FROM campaign_results WHERE campaign_id = ? AND day = ?", [cid, DAYS]
        )


def test_metrics_only_grow(lifecycle_run):
    path, _, out = lifecycle_run
    series = rows(
        path,
        """SELECT day, purchasers, unsubscribes, opens FROM campaign_metrics WHERE campaign_id = ?
           AND arm = 'treated' AND variant = '' AND channel = '' ORDER BY day""",
        [out["campaign_id"]],
    )
    for before, after in itertools.pairwise(series):
        assert after["purchasers"] >= before["purchasers"]
        assert after["unsubscribes"] >= before["unsubscribes"]
        assert after["opens"] >= before["opens"]


def test_reminder_waves_go_through_the_gate(lifecycle_run):
    path, _, out = lifecycle_run
    cid = out["campaign_id"]
    waves = rows(
        path,
        "SELECT step, count(*) AS n FROM send_requests WHERE campaign_id = ? AND step > 0 GROUP BY step",
        [cid],
    )
    assert [w["step"] for w in waves] == [1, 2]  # days 4 and 7 with a wave every 3 days
    # every wave request was decided by the gate: a send, or a decision with its reason
    undecided = scalar(
        path,
        """SELECT count(*) FROM send_requests r WHERE r.campaign_id = ? AND r.step > 0
           AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = r.campaign_id AND s.profile_id = r.profile_id
                           AND s.step = r.step)
           AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.campaign_id = r.campaign_id
                           AND d.profile_id = r.profile_id AND d.step = r.step)""",
        [cid],
    )
    assert undecided == 0
    # nobody who bought or unsubscribed before a wave is reminded in it
    reminded_buyers = scalar(
        path,
        """SELECT count(*) FROM send_requests r JOIN events e ON e.profile_id = r.profile_id
           WHERE r.campaign_id = ? AND r.step > 0 AND e.type IN ('purchase', 'unsubscribe')
             AND e.ts >= (SELECT launched_at FROM campaigns WHERE campaign_id = ?) AND e.ts < r.requested_at""",
        [cid, cid],
    )
    assert reminded_buyers == 0


def test_no_send_after_an_unsubscribe_or_without_consent(lifecycle_run):
    path, _, out = lifecycle_run
    cid = out["campaign_id"]
    unsubscribed = scalar(
        path,
        "SELECT count(*) FROM events WHERE type = 'unsubscribe' AND json_extract(properties, '$.campaign_id') = ?",
        [cid],
    )
    assert unsubscribed > 0  # the simulator made some customers leave
    late = scalar(
        path,
        """SELECT count(*) FROM sends s JOIN events e ON e.profile_id = s.profile_id AND e.type = 'unsubscribe'
                AND json_extract(e.properties, '$.channel') = s.channel
                AND json_extract(e.properties, '$.campaign_id') = s.campaign_id
           WHERE s.campaign_id = ? AND s.created_at > e.ts""",
        [cid],
    )
    assert late == 0
    # consent at the moment of each send, from consent_history
    without = scalar(
        path,
        """SELECT count(*) FROM sends s WHERE s.campaign_id = ? AND COALESCE((
               SELECT h.status FROM consent_history h WHERE h.profile_id = s.profile_id AND h.channel = s.channel
               AND h.updated_at <= s.created_at ORDER BY h.updated_at DESC, h.history_id DESC LIMIT 1), 'none')
               != 'granted'""",
        [cid],
    )
    assert without == 0


def test_adjustments_are_recorded_with_reasons_and_respected(lifecycle_run):
    path, _, out = lifecycle_run
    cid = out["campaign_id"]
    adjustments = rows(path, "SELECT * FROM campaign_adjustments WHERE campaign_id = ? ORDER BY day", [cid])
    assert [a["day"] for a in adjustments] == list(range(1, DAYS + 1))  # one review a day, changes or not
    assert all(a["reason"] and a["decided_by"] == "optimization" for a in adjustments)
    paused = [a["target"] for a in adjustments if a["action"] == "pause_variant"]
    assert paused, "the broad campaign should show a significantly weaker variant within a week"
    for a in adjustments:
        if a["action"] != "pause_variant":
            continue
        later = scalar(
            path,
            """SELECT count(*) FROM send_requests WHERE campaign_id = ? AND variant = ?
               AND requested_at > ?""",
            [cid, a["target"], a["at"]],
        )
        assert later == 0, f"variant {a['target']} was paused on day {a['day']} but used afterwards"


def test_simulated_events_are_marked_and_deterministic(lifecycle_run, tmp_path):
    path, thread, out = lifecycle_run
    marked = scalar(
        path,
        "SELECT count(*) FROM events WHERE message_id LIKE 'sim:%' AND json_extract(properties, '$.simulated') = 1",
    )
    assert marked == scalar(path, "SELECT count(*) FROM events WHERE message_id LIKE 'sim:%'") > 0
    # the same run on a fresh copy writes exactly the same events
    again = seeded_copy(tmp_path)
    out2 = run(compile_graph(), BROAD, again, thread, audience_warn_share=WHOLE_BASE, simulate_days=DAYS)
    q = """SELECT type, ts, profile_id, json_extract(properties, '$.amount') FROM events
           WHERE message_id LIKE 'sim:%' ORDER BY 1, 2, 3"""
    assert [tuple(r) for r in rows(path, q)] == [tuple(r) for r in rows(again, q)]
    assert out2["lifecycle"]["result"] == out["lifecycle"]["result"]


def test_run_report_shows_what_changed_when_and_why(lifecycle_run):
    path, _, out = lifecycle_run
    report = out["report"]
    assert "## Running the campaign" in report
    assert f"simulated days: {DAYS}" in report
    changes = rows(
        path,
        "SELECT day, action, target FROM campaign_adjustments WHERE campaign_id = ? AND action != 'keep'",
        [out["campaign_id"]],
    )
    assert changes
    for c in changes:
        assert f"| {c['day']} | {c['action']} {c['target'] or ''}" in report


def test_the_contact_policy_promise_holds_over_every_campaign(lifecycle_run):
    path, _, _ = lifecycle_run
    assert_promise_holds(path)
