"""Whole-graph runs through ChatOpenAI, replayed offline from `cassettes/` (sockets blocked, body-matched)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.graph.helpers import (
    campaign_of,
    scalar,
    send_count,
    sends_without_consent,
    sends_without_consent_at_send_time,
)
from tests.replay.record import (
    DEFAULT_OBJECTIVE,
    REAL_SCENARIOS,
    SCENARIOS,
    SEED,
    SEED_CUSTOMERS,
    play,
    read_header,
    vcr_for,
)
from tests.seeded import seeded_copy


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_replay_runs_whole_graph(scenario, tmp_path, replay_env_for):
    meta = replay_env_for(scenario.cassette)
    db_path = seeded_copy(tmp_path, SEED_CUSTOMERS, SEED)
    with vcr_for("none").use_cassette(str(scenario.cassette), allow_playback_repeats=False) as cassette:
        out = play(scenario, db_path, meta["model"])
    assert out.status == "completed", out.state.get("error")
    assert cassette.play_count == len(cassette.data), "every recorded exchange is replayed exactly once"
    campaign = campaign_of(db_path, scenario.thread_id)
    assert campaign is not None
    if scenario.objective == DEFAULT_OBJECTIVE:
        assert send_count(db_path, campaign["campaign_id"]) > 0
    if scenario.context.get("simulate_days"):  # some customers unsubscribe after their message
        assert sends_without_consent_at_send_time(db_path, campaign["campaign_id"]) == 0
    else:
        assert sends_without_consent(db_path, campaign["campaign_id"]) == 0
    assert (
        scalar(
            db_path,
            "SELECT count(*) FROM runs WHERE thread_id = ? AND model = ?",
            [scenario.thread_id, meta["model"]],
        )
        == 1
    )
    if scenario.stream:
        assert out.streamed_tokens > 0
        assert all(json.loads(r.body)["stream"] is True for r, _ in cassette.data)
    if scenario.interrupt:
        assert out.interrupted
    if scenario.context.get("simulate_days"):
        days = scenario.context["simulate_days"]
        measured = "SELECT count(*) FROM campaign_results WHERE campaign_id = ?"
        assert scalar(db_path, measured, [campaign["campaign_id"]]) == days
        reviews = (
            "SELECT count(*) FROM campaign_adjustments WHERE campaign_id = ? AND decided_by = 'optimization'"
        )
        assert scalar(db_path, reviews, [campaign["campaign_id"]]) == days
    if scenario.malformed_roles and "127.0.0.1" in meta["endpoint"]:
        assert _malformed_then_repaired(scenario.cassette)


def _malformed_then_repaired(path) -> bool:
    """The cassette holds a truncated tool call and, later, a request carrying it back plus a valid retry."""
    data = yaml.safe_load(path.read_text())["interactions"]
    truncated = [
        i
        for i in data
        if '{\\"filter\\": {\\"all\\": [' in i["response"]["body"]["string"]
        and '[\\"' not in i["response"]["body"]["string"].split('{\\"filter\\": {\\"all\\": [')[1][:3]
    ]
    followups = [
        i
        for i in data
        if len(json.loads(i["request"]["body"])["messages"]) > 2
        and "<role>audience</role>" in i["request"]["body"]
    ]
    return bool(truncated) and bool(followups)


def test_replay_refuses_unrecorded_request(tmp_path, replay_env_for):
    """A request that is not in the cassette fails loudly instead of reaching the network."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    scenario = SCENARIOS[0]
    meta = replay_env_for(scenario.cassette)
    db_path = seeded_copy(tmp_path, SEED_CUSTOMERS, SEED)
    changed = type(scenario)("default_objective", scenario.objective + " now")
    with vcr_for("none").use_cassette(str(scenario.cassette)):
        try:
            out = play(changed, db_path, meta["model"])
        except CannotOverwriteExistingCassetteException:
            return
    assert out.status != "completed"


RECORDED_REAL = [s for s in REAL_SCENARIOS if s.cassette.exists()]


def test_real_model_cassettes_are_recorded_and_labelled():
    """The default objective comes from a real model, named in the header; the scripted ones say they
    are scripted."""
    assert len(RECORDED_REAL) == len(REAL_SCENARIOS) >= 3, "every real-model scenario is recorded"
    assert any(s.objective == DEFAULT_OBJECTIVE for s in RECORDED_REAL)
    for sc in RECORDED_REAL:
        meta = read_header(sc.cassette)
        assert meta["recorded_by"].startswith("real model ") and meta["model"] in meta["recorded_by"]
        assert "scripted" not in meta["model"] and "gpt" not in meta["model"]
    for sc in SCENARIOS:
        assert "scripted model" in read_header(sc.cassette)["recorded_by"]


@pytest.mark.parametrize("scenario", RECORDED_REAL, ids=[s.name for s in RECORDED_REAL])
def test_a_real_model_run_replays_to_what_it_did(scenario, tmp_path, replay_env_for):
    """The real model's run, replayed request for request: the same outcome it had when recorded, and
    the promise holds whatever the model did."""
    from tests.invariants import assert_promise_holds

    meta = replay_env_for(scenario.cassette)
    db_path = seeded_copy(tmp_path, SEED_CUSTOMERS, SEED)
    with vcr_for("none").use_cassette(str(scenario.cassette), allow_playback_repeats=False) as cassette:
        out = play(scenario, db_path, meta["model"])
    assert f"{out.status}, {out.llm_calls} model calls" == meta["outcome"]
    assert cassette.play_count == len(cassette.data)
    assert_promise_holds(db_path)
    bodies = [json.loads(r.body) for r, _ in cassette.data]
    assert all(b.get("max_completion_tokens") == 1024 for b in bodies)
    campaign = campaign_of(db_path, scenario.thread_id)
    if out.status != "completed":  # a run the model could not finish sends nothing at all
        assert send_count(db_path, campaign["campaign_id"]) == 0
    elif scenario.audience is not None:  # the exact audience the words mean, checked in SQL
        members = scalar(
            db_path, "SELECT count(*) FROM segment_members WHERE segment_id = ?", [campaign["segment_id"]]
        )
        expected = scalar(db_path, f"SELECT count(*) FROM customer_360 WHERE {scenario.audience}")
        outside = scalar(
            db_path,
            "SELECT count(*) FROM segment_members m JOIN customer_360 c USING (profile_id) "
            f"WHERE m.segment_id = ? AND NOT ({scenario.audience})",
            [campaign["segment_id"]],
        )
        assert (members, outside) == (expected, 0) and expected > 0
        assert send_count(db_path, campaign["campaign_id"]) > 0
    assert not any(b.get("tools") for b in bodies), "JSON actions: no tool schemas are sent"
