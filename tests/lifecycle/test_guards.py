"""What holds whatever the optimization model says: the unsubscribe guard, the adjustment checks,
idempotent days, and the gate deciding every reminder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp import lifecycle, open_cdp
from cdp.lifecycle import AdjustmentError
from cdp.migrations.m050_lifecycle import ACTIONS
from cdp.policy import ContactPolicy
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from llm.scripted import lifecycle as roles_lifecycle
from tests.graph.helpers import compile_graph, new_thread, rows, run, scalar
from tests.invariants import assert_promise_holds
from tests.seeded import seeded_copy

BROAD = "grow revenue with a 10% discount for all customers by email and push"
#: BROAD reaches every customer, which waits for a person by default; these runs are about the lifecycle.
WHOLE_BASE = 1.0
pytestmark = pytest.mark.xdist_group("lifecycle")


def _optimizer_says(decision: dict[str, Any]) -> Callable[..., ScriptedChatModel]:
    """A model factory whose optimization agent always asks `adjust_campaign` for `decision`."""
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    def respond(request: ScriptedRequest) -> Any:
        answer = default_responder(request)
        if request.role == "optimization" and isinstance(answer, dict):
            for call in answer.get("tool_calls") or []:
                if call["name"] == "adjust_campaign":
                    call["args"] = dict(decision)
        return answer

    return lambda name=None, **_: ScriptedChatModel(respond, latency_ms=0)


def test_guard_stops_on_unsubscribes_when_the_model_says_keep(tmp_path):
    path = seeded_copy(tmp_path)
    out = run(
        compile_graph(),
        BROAD,
        path,
        new_thread("guard"),
        audience_warn_share=WHOLE_BASE,
        simulate_days=10,
        stop_unsubscribe_rate=0.001,
        model_factory=_optimizer_says({"action": "keep", "reason": "all fine"}),
    )
    info = out["lifecycle"]
    assert info["stopped"] and info["day"] < 10  # stopped early, no further days simulated
    cid = out["campaign_id"]
    stop = rows(path, "SELECT * FROM campaign_adjustments WHERE campaign_id = ? AND action = 'stop'", [cid])
    assert len(stop) == 1 and stop[0]["decided_by"] == "guard"
    rate = scalar(
        path,
        "SELECT unsubscribe_rate FROM campaign_results WHERE campaign_id = ? AND day = ?",
        [cid, stop[0]["day"]],
    )
    assert rate > 0.001
    assert scalar(path, "SELECT status FROM campaigns WHERE campaign_id = ?", [cid]) == "stopped"
    assert (
        scalar(path, "SELECT count(*) FROM sends WHERE campaign_id = ? AND status = 'scheduled'", [cid]) == 0
    )
    assert (
        scalar(path, "SELECT max(day) FROM campaign_results WHERE campaign_id = ?", [cid]) == stop[0]["day"]
    )
    assert_promise_holds(path)


def test_a_model_naming_unknown_cells_changes_nothing(tmp_path):
    path = seeded_copy(tmp_path)
    evil = {"action": "pause_variant", "target": "'; DROP TABLE sends; --", "reason": "x" * 20}
    out = run(
        compile_graph(),
        BROAD,
        path,
        new_thread("bad"),
        audience_warn_share=WHOLE_BASE,
        simulate_days=4,
        model_factory=_optimizer_says(evil),
    )
    cid = out["campaign_id"]
    assert out["status"] == "completed" and out["lifecycle"]["day"] == 4
    assert scalar(path, "SELECT count(*) FROM campaign_adjustments WHERE campaign_id = ?", [cid]) == 0
    assert scalar(path, "SELECT allocation FROM campaigns WHERE campaign_id = ?", [cid]) == "{}"
    assert scalar(path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [cid]) > 0
    assert_promise_holds(path)


@pytest.fixture
def running(tmp_path):
    """A launched campaign with one measured day, without the lifecycle driving it further."""
    path = seeded_copy(tmp_path)
    out = run(
        compile_graph(), BROAD, path, new_thread("adj"), audience_warn_share=WHOLE_BASE, simulate_days=1
    )
    db = open_cdp(path)
    yield db, out["campaign_id"]
    db.conn.close()


def test_adjustment_checks(running):
    db, cid = running
    live = lifecycle.live_cells(db, cid)
    assert len(live["variants"]) >= 3
    with pytest.raises(AdjustmentError, match="unknown action"):
        lifecycle.apply_adjustment(
            db, cid, day=1, action="double_budget", target=None, reason="r", decided_by="t"
        )
    with pytest.raises(AdjustmentError, match="not live"):
        lifecycle.apply_adjustment(
            db, cid, day=1, action="shift_variant", target="nope", reason="r", decided_by="t"
        )
    with pytest.raises(AdjustmentError, match="reason"):
        lifecycle.apply_adjustment(db, cid, day=1, action="keep", target=None, reason="  ", decided_by="t")
    # pausing down to one variant works; the last one cannot be paused
    for v in live["variants"][:-1]:
        lifecycle.apply_adjustment(
            db, cid, day=1, action="pause_variant", target=v, reason="weak", decided_by="t"
        )
    with pytest.raises(AdjustmentError, match="last live variant"):
        lifecycle.apply_adjustment(
            db, cid, day=1, action="pause_variant", target=live["variants"][-1], reason="r", decided_by="t"
        )
    assert lifecycle.live_cells(db, cid)["variants"] == live["variants"][-1:]


def test_adjustment_is_idempotent(running):
    db, cid = running
    v = lifecycle.live_cells(db, cid)["variants"][0]
    first = lifecycle.apply_adjustment(
        db, cid, day=1, action="pause_variant", target=v, reason="r", decided_by="t"
    )
    again = lifecycle.apply_adjustment(
        db, cid, day=1, action="pause_variant", target=v, reason="r", decided_by="t"
    )
    assert again["already_applied"] and again["adjustment_id"] == first["adjustment_id"]
    n = db.execute(
        "SELECT count(*) FROM campaign_adjustments WHERE campaign_id = ? AND action = 'pause_variant'", [cid]
    )
    assert n.fetchone()[0] == 1


def test_stop_cancels_what_is_not_delivered_and_ends_changes(running):
    db, cid = running
    gate = lifecycle.stage_followup(db, cid, 1, policy=ContactPolicy())
    assert gate is not None and gate.scheduled > 0
    pending = db.execute(
        "SELECT count(*) FROM sends WHERE campaign_id = ? AND status = 'scheduled'", [cid]
    ).fetchone()[0]
    assert pending == gate.scheduled
    made = lifecycle.apply_adjustment(
        db, cid, day=1, action="stop", target=None, reason="enough", decided_by="t"
    )
    assert made["affected"] == pending
    assert (
        db.execute(
            "SELECT count(*) FROM sends WHERE campaign_id = ? AND status = 'scheduled'", [cid]
        ).fetchone()[0]
        == 0
    )
    with pytest.raises(AdjustmentError, match="stopped"):
        lifecycle.apply_adjustment(
            db, cid, day=2, action="shift_channel", target="email", reason="r", decided_by="t"
        )
    assert lifecycle.stage_followup(db, cid, 2, policy=ContactPolicy()) is None


def test_a_shifted_channel_is_used_only_with_consent(running):
    db, cid = running
    channels = lifecycle.live_cells(db, cid)["channels"]
    target = "push" if "push" in channels else channels[0]
    lifecycle.apply_adjustment(
        db, cid, day=1, action="shift_channel", target=target, reason="r", decided_by="t"
    )

    lifecycle.stage_followup(db, cid, 1, policy=ContactPolicy())
    shifted = db.execute(
        """SELECT count(*) FROM send_requests r JOIN profiles p ON p.profile_id = r.profile_id
           WHERE r.campaign_id = ? AND r.step = 1 AND r.channel = ?""",
        [cid, target],
    ).fetchone()[0]
    assert shifted > 0
    unconsented = db.execute(
        f"""SELECT count(*) FROM sends s JOIN profiles p ON p.profile_id = s.profile_id
            WHERE s.campaign_id = ? AND s.step = 1 AND s.channel = ? AND p.consent_{target} != 1""",
        [cid, target],
    ).fetchone()[0]
    assert unconsented == 0


# ------------------------------------------------------------------------------- the decision rule


cells = st.lists(
    st.tuples(st.integers(0, 3000), st.floats(0, 1)).map(
        lambda t: {"customers": t[0], "purchasers": int(t[0] * t[1])}
    ),
    min_size=0,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(variants=cells, channels=cells, unsub=st.floats(0, 0.2), limit=st.floats(0.001, 0.1))
def test_decision_rule_properties(variants, channels, unsub, limit):
    def named(prefix, cs):
        return [
            {
                **c,
                prefix: f"{prefix[0]}{i}",
                "conversion_rate": c["purchasers"] / c["customers"] if c["customers"] else 0.0,
            }
            for i, c in enumerate(cs)
        ]

    by_variant, by_channel = named("variant", variants), named("channel", channels)
    results = {
        "lifecycle": {
            "day": 3,
            "treated_n": 1000,
            "unsubscribe_rate": unsub,
            "by_variant": by_variant,
            "by_channel": by_channel,
            "live": {
                "variants": [c["variant"] for c in by_variant],
                "channels": [c["channel"] for c in by_channel],
            },
            "allocation": {},
        }
    }
    args = roles_lifecycle.decide(results, {"stop_unsubscribe_rate": limit, "min_cell": 100})
    assert args["action"] in ACTIONS and args["reason"]
    assert (args["action"] == "stop") == (unsub > limit)
    if args["action"].endswith("_variant") or args["action"].endswith("_channel"):
        key = args["action"].split("_")[1]
        pool = by_variant if key == "variant" else by_channel
        chosen = next(c for c in pool if c[key] == args["target"])
        assert chosen["customers"] >= 100  # never acts on a small cell
        if args["action"].startswith("pause"):
            assert len(pool) >= 3 and chosen["conversion_rate"] == min(
                c["conversion_rate"] for c in pool if c["customers"] >= 100
            )
        else:
            assert chosen["conversion_rate"] == max(
                c["conversion_rate"] for c in pool if c["customers"] >= 100
            )


def test_the_tool_offers_exactly_the_actions_the_table_accepts():
    from typing import get_args

    from cdp.tools_lifecycle import AdjustArgs

    assert get_args(AdjustArgs.model_fields["action"].annotation) == ACTIONS
