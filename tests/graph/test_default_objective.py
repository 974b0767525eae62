"""The default objective end to end on a seeded 2,000-customer CDP: plan, audience, sends, messages."""

from __future__ import annotations

import pytest

from graph.protocols import ancestors
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    campaign_of,
    compile_graph,
    ids,
    messages,
    rows,
    run,
    scalar,
    segment_members,
    send_count,
    sends_without_consent,
)

THREAD = "default-1"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    from tests.seeded import seeded_copy

    path = seeded_copy(tmp_path_factory.mktemp("default"))
    state = run(compile_graph(), DEFAULT_OBJECTIVE, path, THREAD)
    return path, state


def test_completes_with_sends_counted_in_the_cdp(default_run):
    path, state = default_run
    assert state["status"] == "completed", state.get("report")
    campaign = campaign_of(path, THREAD)
    assert campaign is not None and campaign["campaign_id"] == state["campaign_id"]
    assert campaign["status"] == "scheduled"
    sends = send_count(path, state["campaign_id"])
    assert sends > 0
    assert state["launch"]["scheduled"] == sends
    assert f"sends scheduled: {sends}" in state["report"]
    assert scalar(path, "SELECT status FROM runs WHERE thread_id = ?", [THREAD]) == "completed"


def test_every_send_has_granted_consent_for_its_channel(default_run):
    path, state = default_run
    assert sends_without_consent(path, state["campaign_id"]) == 0
    # and nobody gets two messages from one campaign step
    assert (
        scalar(
            path,
            "SELECT count(*) - count(DISTINCT profile_id) FROM sends WHERE campaign_id = ?",
            [state["campaign_id"]],
        )
        == 0
    )


def test_segment_is_exactly_the_at_risk_premium_customers(default_run):
    path, state = default_run
    segment_id = state["results"]["audience"]["outputs"]["segment_id"]
    assert campaign_of(path, THREAD)["segment_id"] == segment_id
    want = ids(path, "SELECT profile_id FROM customer_360 WHERE tier = 'premium' AND churn_risk >= 0.7")
    assert want, "the seeded CDP must have at-risk premium customers"
    assert segment_members(path, segment_id) == want
    assert state["results"]["audience"]["outputs"]["audience_size"] == len(want)
    # every send goes to a member, and every member is accounted for: sent or stopped with a reason
    sent = ids(path, "SELECT profile_id FROM sends WHERE campaign_id = ?", [state["campaign_id"]])
    stopped = ids(path, "SELECT profile_id FROM decisions WHERE campaign_id = ?", [state["campaign_id"]])
    assert sent <= want and not sent & stopped
    assert sent | stopped == want


def test_model_calls_stay_within_the_bound(default_run):
    _, state = default_run
    assert state["llm_calls"] == len(state["plan"]) + 2  # one per task, plus planning and synthesis


def test_plan_shape(default_run):
    _, state = default_run
    plan = state["plan"]
    by_id = {t["id"]: t for t in plan}
    assert plan[0]["agent"] == "audience" and plan[0]["depends_on"] == []
    assert all(t["depends_on"] for t in plan[1:]), "only the audience task starts from nothing"
    audience_first = [t for t in plan if t["agent"] == "audience"]
    assert len(audience_first) == 1
    activation = next(t for t in plan if t["agent"] == "activation")
    content = next(t for t in plan if t["agent"] == "content")
    assert content["id"] in ancestors(activation, plan)
    assert all(d in by_id for t in plan for d in t["depends_on"])
    assert set(state["task_status"].values()) == {"done"}


def test_messages_log_requests_and_responses(default_run):
    path, state = default_run
    log = messages(path, THREAD)
    kinds = {m["kind"] for m in log}
    assert {"request", "response"} <= kinds
    requests = [m for m in log if m["kind"] == "request"]
    responses = [m for m in log if m["kind"] == "response"]
    assert {m["sender"] for m in requests} == {"supervisor"}
    assert {m["recipient"] for m in responses} == {"supervisor"}
    assert {m["task_id"] for m in requests} == {t["id"] for t in state["plan"]}
    assert {m["task_id"] for m in responses} == {t["id"] for t in state["plan"]}
    # activation is asked only after content answered
    order = {(m["kind"], m["task_id"]): i for i, m in enumerate(log)}
    assert order[("request", "activation")] > order[("response", "content")]
    assert order[("request", "content")] > order[("response", "audience")]
    # what graph state keeps is a short summary of the same log
    assert len(state["messages"]) == len(log)
    assert all(len(m["text"]) <= 160 for m in state["messages"])


def test_no_raw_pii_in_messages(default_run):
    path, _ = default_run
    payloads = " ".join(
        r[0] for r in rows(path, "SELECT payload FROM agent_messages WHERE thread_id = ?", [THREAD])
    )
    emails = [r[0] for r in rows(path, "SELECT value FROM identities WHERE kind = 'email' LIMIT 200")]
    last_names = [
        r[0]
        for r in rows(path, "SELECT DISTINCT last_name FROM profiles WHERE length(last_name) > 4 LIMIT 200")
    ]
    assert emails and last_names
    assert not [e for e in emails if e in payloads]
    assert not [n for n in last_names if n in payloads]
