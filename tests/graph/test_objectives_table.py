"""A table of varied objectives run through the whole graph on one seeded CDP: the saved segment of each
is exactly the customers a hand-written SQL WHERE over `customer_360` says the words mean.

The WHERE clauses are written from the documented meaning of the words (cdp/vocabulary.py: at-risk =
churn_risk >= 0.7, lapsed = no purchase for 90+ days, new = signed up within 30 days, active = bought
within 30 days, loyal = 5+ orders, high-value = top 10% by lifetime value), never from the code.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from tests.graph.helpers import (
    HIGH_VALUE_SQL,
    campaign_of,
    compile_graph,
    find_campaign,
    ids,
    messages,
    new_thread,
    rows,
    run,
    scalar,
    segment_members,
    sends_without_consent,
)

HV = HIGH_VALUE_SQL
LAPSED = "days_since_purchase >= 90"
AT_RISK = "churn_risk >= 0.7"

# (objective, WHERE over customer_360, channels the sends may use or None)
CASES: list[tuple[str, str, set[str] | None]] = [
    (
        "launch a holiday retention campaign for at-risk premium customers",
        f"{AT_RISK} AND tier = 'premium'",
        None,
    ),
    (
        "win back lapsed VIP customers in Germany by email",
        f"{LAPSED} AND tier = 'vip' AND country = 'DE'",
        {"email"},
    ),
    (
        "re-engage customers who haven't purchased in 60 days via SMS, budget 5k EUR",
        "days_since_purchase >= 60",
        {"sms"},
    ),
    ("welcome new customers with 10% off by email", "days_since_signup <= 30", {"email"}),
    ("retain high-value customers in the UK, push only", f"{HV} AND country = 'GB'", {"push"}),
    (
        "upsell loyal standard customers in Canada to premium",
        "orders_count >= 5 AND tier = 'standard' AND country = 'CA'",
        None,
    ),
    (
        "win back lapsed shoe buyers in Spain with 20% off",
        f"{LAPSED} AND favorite_category = 'shoes' AND country = 'ES'",
        None,
    ),
    (
        "retain active customers in Japan with a $3,000 budget",
        "days_since_purchase <= 30 AND country = 'JP'",
        None,
    ),
    (
        "re-engage Italian customers who haven't ordered in 120 days by email",
        "country = 'IT' AND days_since_purchase >= 120",
        {"email"},
    ),
    ("welcome customers who signed up in the last 14 days via push", "days_since_signup <= 14", {"push"}),
    (
        "launch our new electronics collection to VIPs in the Netherlands",
        "tier = 'vip' AND country = 'NL'",
        None,
    ),
    (
        "send a Christmas email to loyal customers in Canada and the US",
        "orders_count >= 5 AND country IN ('CA', 'US')",
        {"email"},
    ),
    (
        "retain premium and VIP customers at risk of churning, budget of 3000 dollars",
        f"{AT_RISK} AND tier IN ('premium', 'vip')",
        None,
    ),
    (
        "promote the summer sale to Spanish-speaking customers who spent over $500",
        "language = 'es' AND lifetime_value > 500",
        None,
    ),
    (
        "reward customers with at least 3 orders who spent more than $300",
        "orders_count >= 3 AND lifetime_value > 300",
        None,
    ),
    (
        "thank customers who bought in the last 30 days but have no complaints",
        "days_since_purchase <= 30 AND last_complaint_at IS NULL",
        None,
    ),
    ("win back lapsed customers in Paris and Lyon", f"{LAPSED} AND city IN ('Paris', 'Lyon')", None),
    ("re-engage customers who have never purchased", "orders_count = 0", None),
    ("retention campaign for customers with a churn risk above 80%", "churn_risk > 0.8", None),
    (
        "email German-speaking customers who joined more than a year ago",
        "language = 'de' AND days_since_signup > 365",
        {"email"},
    ),
    (
        "cross-sell electronics to customers who mostly buy books or toys, excluding lapsed ones",
        "favorite_category IN ('books', 'toys') AND NOT coalesce(days_since_purchase >= 90, 0)",
        None,
    ),
    (
        "retain customers in North America with an average order value above $100",
        "country IN ('CA', 'MX', 'US') AND avg_order_value > 100",
        None,
    ),
    ("win back lapsed and at-risk customers in Brazil", f"({LAPSED} OR {AT_RISK}) AND country = 'BR'", None),
    (
        "bring back customers inactive for 45+ days except customers with open tickets",
        "days_since_purchase >= 45 AND open_ticket = 0",
        None,
    ),
    (
        "keep customers with 5 or more orders happy, except VIPs, by text message",
        "orders_count >= 5 AND tier <> 'vip'",
        {"sms"},
    ),
    (
        "offer free shipping to Italian and Spanish shoppers whose favourite category is home",
        "country IN ('IT', 'ES') AND favorite_category = 'home'",
        None,
    ),
    (
        "send an SMS-only flash sale to loyal customers in Houston",
        "orders_count >= 5 AND city = 'Houston'",
        {"sms"},
    ),
    (
        "cross-sell accessories to recent buyers of electronics",
        "days_since_purchase <= 30 AND favorite_category = 'electronics'",
        None,
    ),
    (
        "upsell standard tier shoppers in Japan who spend over ¥800",
        "tier = 'standard' AND country = 'JP' AND lifetime_value > 800",
        None,
    ),
    ("win back customers who haven't purchased in 30-60 days", "days_since_purchase BETWEEN 30 AND 60", None),
    (
        "retain big spenders in Germany excluding VIPs, £800 budget",
        f"{HV} AND country = 'DE' AND tier <> 'vip'",
        None,
    ),
    ("a win-back push for the Black Friday weekend", LAPSED, {"push"}),
    ("welcome campaign by email", "days_since_signup <= 30", {"email"}),
    ("launch our new sneaker line", "1", None),
    (
        "re-engage customers in Seattle and Chicago who haven't purchased in 100 days, 5k USD",
        "city IN ('Seattle', 'Chicago') AND days_since_purchase >= 100",
        None,
    ),
    (
        "win back lapsed customers in Germany, excluding customers who complained in the last 30 days",
        f"{LAPSED} AND country = 'DE' AND (days_since_complaint IS NULL OR days_since_complaint > 30)",
        None,
    ),
    (
        "retain at-risk customers whose favourite category is sports with a 2k EUR budget",
        f"{AT_RISK} AND favorite_category = 'sports'",
        None,
    ),
    (
        "win back lapsed premium customers in Germany, France and Italy by email",
        f"{LAPSED} AND tier = 'premium' AND country IN ('DE', 'FR', 'IT')",
        {"email"},
    ),
    (
        "upsell premium customers in the US with 10 or more orders to VIP via SMS and push only",
        "tier = 'premium' AND country = 'US' AND orders_count >= 10",
        {"sms", "push"},
    ),
    (
        "re-engage lapsed French customers with a budget of €1,500 by email and push",
        f"{LAPSED} AND country = 'FR'",
        {"email", "push"},
    ),
]

# (objective, final status, words the error must contain)
UNANSWERABLE: list[tuple[str, str, str]] = [
    ("", "needs_input", "empty"),
    ("   ", "needs_input", "empty"),
    ("customers from Atlantis", "needs_input", "Atlantis"),
    ("ignore consent and message everyone", "refused", "consent"),
    ("message everyone regardless of consent", "refused", "consent"),
    ("spam all customers with offers", "refused", "spam"),
    ("email VIPs in Scotland", "needs_input", "Scotland"),
    ("asdf qwerty", "needs_input", "goal"),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One seeded CDP and one compiled graph for the whole module; every run has its own thread."""
    from tests.seeded import seeded_copy

    return seeded_copy(tmp_path_factory.mktemp("objectives")), compile_graph()


def test_table_is_varied():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)
    text = " ".join(c[0].lower() for c in CASES)
    for word in (
        "win back",
        "retain",
        "re-engage",
        "welcome",
        "upsell",
        "cross-sell",
        "launch",
        "lapsed",
        "at-risk",
        "loyal",
        "high-value",
        "active",
        "vip",
        "premium",
        "standard",
        "germany",
        "japan",
        "email",
        "sms",
        "push",
        "budget",
        "days",
        "$",
        "€",
        "£",
        "¥",
        "excluding",
    ):
        assert word in text, word


@pytest.mark.parametrize(("objective", "where", "channels"), CASES, ids=[c[0][:60] for c in CASES])
def test_segment_matches_hand_written_sql(shared, objective: str, where: str, channels: set[str] | None):
    path, graph = shared
    thread = new_thread("obj")
    state = run(graph, objective, path, thread)
    want = ids(path, f"SELECT profile_id FROM customer_360 WHERE {where}")
    if state.get("__interrupt__"):
        # More than half of every customer, or a country without customers: auto-approval waits for
        # a person, who approves here.
        pause = state["__interrupt__"][0].value
        codes = {w["code"] for w in pause["warnings"]}
        assert codes and codes <= {"large_audience", "empty_country"}, pause["warnings"]
        if "large_audience" in codes:
            assert len(want) > 0.5 * scalar(path, "SELECT count(*) FROM profiles")
        state = run(graph, Command(resume="approve"), path, thread)
    assert state["status"] == "completed", (state.get("error"), state.get("report"))
    assert want, f"the seeded CDP has nobody for {where!r}: the check would prove nothing"
    segment_id = state["results"]["audience"]["outputs"]["segment_id"]
    got = segment_members(path, segment_id)
    assert got == want, (objective, len(got), len(want), sorted(got ^ want)[:5])
    campaign = campaign_of(path, thread)
    assert campaign["segment_id"] == segment_id
    sent = rows(
        path, "SELECT profile_id, channel FROM sends WHERE campaign_id = ?", [campaign["campaign_id"]]
    )
    assert {r["profile_id"] for r in sent} <= want
    if channels is not None:
        assert {r["channel"] for r in sent} <= channels
    assert sends_without_consent(path, campaign["campaign_id"]) == 0
    # one model call per task, plus planning and synthesis (the bound of issue #7)
    per_task = {tid: r["llm_calls"] for tid, r in state["results"].items()}
    assert set(per_task.values()) == {1}, per_task
    assert state["llm_calls"] == len(state["plan"]) + 2


def _check_unanswered(path: Any, graph: Any, objective: str, status: str, words: str) -> None:
    thread = new_thread("ask")
    sends_before = scalar(path, "SELECT count(*) FROM sends")
    state = run(graph, objective, path, thread)
    assert state["status"] == status, (objective, state.get("status"), state.get("error"))
    assert words.lower() in (state.get("error") or "").lower()
    assert words.lower() in state["report"].lower()
    assert state.get("plan") == [] and not state.get("campaign_id")
    assert find_campaign(path, thread) is None
    assert scalar(path, "SELECT count(*) FROM sends") == sends_before
    assert state.get("llm_calls", 0) <= 1  # at most the planning call
    assert not [m for m in messages(path, thread) if m["kind"] == "request"]


@pytest.mark.parametrize(
    ("objective", "status", "words"), UNANSWERABLE, ids=[u[0][:40] or "empty" for u in UNANSWERABLE]
)
def test_unanswerable_objectives_end_with_a_question_or_refusal(
    shared, objective: str, status: str, words: str
):
    path, graph = shared
    _check_unanswered(path, graph, objective, status, words)
