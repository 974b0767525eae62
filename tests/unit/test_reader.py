"""The offline objective reader, class by class: each phrasing's audience against hand-written SQL on a
seeded CDP, its typed offer, timing and budget, or the question it must ask; and the property that a
word the reader does not know always makes a question naming it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage, SystemMessage

from cdp.filters import compile_filter
from cdp.terms import CdpTerms, read_terms
from graph.plan import Plan
from llm.scripted.reader import read
from tests.graph.helpers import ids

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
LAPSED = "days_since_purchase >= 90"

# (objective, WHERE over customer_360 its audience must equal)
AUDIENCES = [
    # negation and exclusion scope
    ("win back lapsed customers except those in Germany", f"{LAPSED} AND country <> 'DE'"),
    ("retain customers outside the US by email", "country IS NOT 'US'"),
    ("retain VIPs in all countries but the US", "tier = 'vip' AND country IS NOT 'US'"),
    ("retain VIPs everywhere but Germany", "tier = 'vip' AND country IS NOT 'DE'"),
    ("retain loyal customers other than VIPs", "orders_count >= 5 AND tier <> 'vip'"),
    ("retain loyal customers apart from VIPs and premium members", "orders_count >= 5 AND tier = 'standard'"),
    (
        "retain loyal customers, not the ones who complained",
        "orders_count >= 5 AND last_complaint_at IS NULL",
    ),
    ("retain loyal customers who have never complained", "orders_count >= 5 AND last_complaint_at IS NULL"),
    ("re-engage customers who have never purchased", "orders_count = 0"),
    ("retain active customers without open tickets", "days_since_purchase <= 30 AND open_ticket = 0"),
    ("cross-sell books to active customers excluding lapsed ones", "days_since_purchase <= 30"),
    ("email all customers but VIPs", "tier <> 'vip'"),
    (
        "win back lapsed customers but exclude those in Canada and Japan",
        f"{LAPSED} AND country NOT IN ('CA', 'JP')",
    ),
    (
        "email premium and VIP customers but not VIPs in Japan",
        "tier IN ('premium', 'vip') AND NOT (tier = 'vip' AND country = 'JP')",
    ),
    ("re-engage at-risk shoppers who are not from the UK", "churn_risk >= 0.7 AND country <> 'GB'"),
    ("win back customers with no orders in the past 3 months", "days_since_purchase >= 90"),
    # ranges, inclusive both ends
    ("retain customers with churn risk between 40% and 60%", "churn_risk BETWEEN 0.4 AND 0.6"),
    ("retain customers with churn risk between 0.4 and 0.6", "churn_risk BETWEEN 0.4 AND 0.6"),
    ("retain customers with from 2 to 5 orders", "orders_count BETWEEN 2 AND 5"),
    ("win back customers who haven't purchased in 30-60 days", "days_since_purchase BETWEEN 30 AND 60"),
    ("retain customers who spent between 100 and 300 dollars", "lifetime_value BETWEEN 100 AND 300"),
    # strict versus inclusive
    ("retain customers with more than 3 orders", "orders_count > 3"),
    ("retain customers with at least 3 orders", "orders_count >= 3"),
    ("retain customers with 3 or more orders", "orders_count >= 3"),
    ("retain customers with fewer than 3 orders", "orders_count < 3"),
    ("retain customers with at most 3 orders", "orders_count <= 3"),
    ("retain customers who spent over $500", "lifetime_value > 500"),
    ("retain customers with a churn risk above 80%", "churn_risk > 0.8"),
    ("retain customers who spent under 50 euros", "lifetime_value < 50"),
    ("welcome customers who joined more than a year ago", "days_since_signup > 365"),
    ("retain customers with > 6 orders", "orders_count > 6"),
    ("retain customers with >= 6 orders", "orders_count >= 6"),
    ("retain customers with churn risk 0.4–0.6", "churn_risk BETWEEN 0.4 AND 0.6"),
    ("welcome customers with no orders", "orders_count = 0"),
    # user definitions replace the built-in word
    ("retain big spenders (customers who spent over 500)", "lifetime_value > 500"),
    ("win back lapsed = no purchase in 60 days", "days_since_purchase >= 60"),
    ("retain at-risk (churn risk above 0.5) customers", "churn_risk > 0.5"),
    ("retain VIPs, meaning tier vip, by email", "tier = 'vip'"),
    ("target whales (customers with lifetime value over 5000) with early access", "lifetime_value > 5000"),
    ("re-engage new customers, where new means signed up in the last 7 days", "days_since_signup <= 7"),
    # tiers however written
    ("upsell standard-tier customers to premium", "tier = 'standard'"),
    ("upsell standard tier customers", "tier = 'standard'"),
    ("upsell customers in tier standard", "tier = 'standard'"),
    ("retain premium members", "tier = 'premium'"),
    ("retain VIPs in Japan", "tier = 'vip' AND country = 'JP'"),
]


@pytest.fixture(scope="module")
def cdp(tmp_path_factory):
    from cdp import open_cdp
    from tests.seeded import seeded_copy

    path = seeded_copy(tmp_path_factory.mktemp("reader"))
    return path, open_cdp(path)


@pytest.mark.parametrize(("objective", "where"), AUDIENCES, ids=[a[0][:50] for a in AUDIENCES])
def test_audience_matches_hand_written_sql(cdp, objective, where):
    path, db = cdp
    brief = read(objective, terms=read_terms(db), now=NOW)
    assert brief.question is None and brief.refusal is None, brief.question
    assert brief.unused == []
    compiled = compile_filter(brief.audience_filter(), db)
    got = ids(path, f"SELECT profile_id FROM customer_360 WHERE {compiled.where}", compiled.params)
    want = ids(path, f"SELECT profile_id FROM customer_360 WHERE {where}")
    assert want, f"nobody matches {where!r}: the check would prove nothing"
    assert got == want, (objective, brief.describe(), len(got), len(want))


OFFERS = [
    ("win back lapsed customers with $10 off", "discount", 10, "USD"),
    ("retain loyal customers with 10 dollars off", "discount", 10, "USD"),
    ("retain loyal customers with 10 euros off", "discount", 10, "EUR"),
    ("retain loyal customers with €10 off", "discount", 10, "EUR"),
    ("retain loyal customers: save 10 EUR", "discount", 10, "EUR"),
    ("retain loyal customers with 15% off", "discount", 15, "percent"),
    ("retain loyal customers with a 15% discount", "discount", 15, "percent"),
    ("retain loyal customers with free shipping", "free_shipping", None, None),
    ("retain loyal customers with a 2 for 1 bundle", "bundle", 2, "items"),
    ("retain loyal customers with buy one get one free", "bundle", None, None),
    ("retain loyal customers with a free gift", "gift", None, None),
    ("retain loyal customers with double points", "points", 2, "points"),
    ("retain loyal customers with 500 points", "points", 500, "points"),
]


@pytest.mark.parametrize(("objective", "kind", "value", "unit"), OFFERS, ids=[o[0][23:] for o in OFFERS])
def test_offers_are_typed_and_never_a_budget(objective, kind, value, unit):
    brief = read(objective, now=NOW)
    assert brief.question is None, brief.question
    assert (brief.offer["kind"], brief.offer["value"], brief.offer["unit"]) == (kind, value, unit)
    assert brief.budget is None


@pytest.mark.parametrize(
    ("objective", "amount", "currency"),
    [
        ("retain at-risk customers with a budget of 500", 500, None),
        ("retain at-risk customers, spend up to 500 EUR on this", 500, "EUR"),
        ("retain at-risk customers, 500 EUR budget", 500, "EUR"),
        ("retain at-risk customers with a $3,000 budget", 3000, "USD"),
        ("retain at-risk customers, budget 5k GBP", 5000, "GBP"),
        ("win back lapsed VIPs, spend at most 1500 dollars", 1500, "USD"),
    ],
)
def test_budgets_are_not_offers(objective, amount, currency):
    brief = read(objective, now=NOW)
    assert brief.question is None, brief.question
    assert (brief.budget.amount, brief.budget.currency) == (amount, currency)
    assert brief.offer is None


@pytest.mark.parametrize(
    ("objective", "send", "valid"),
    [
        ("retain loyal customers with a coupon valid until December 31", None, "2026-12-31"),
        ("retain loyal customers with 20% off, the offer ends December 24", None, "2026-12-24"),
        ("retain loyal customers with 20% off that expires on Dec 20", None, "2026-12-20"),
        ("retain loyal customers with 20% off good until January 5", None, "2027-01-05"),
        ("retain loyal customers on December 1 with 20% off through December 24", "2026-12-01", "2026-12-24"),
        ("retain loyal customers next Monday", "2026-11-30", None),
        ("send on December 3 to loyal customers", "2026-12-03", None),
        ("retain loyal customers with 10% off from December 1 to December 10", "2026-12-01", "2026-12-10"),
        ("retain loyal customers with 10% off valid for 7 days", None, "2026-12-01"),
        ("retain loyal customers with 15% off, ends on Friday, December 4", None, "2026-12-04"),
        ("retain loyal customers with 10% off valid until the end of the month", None, "2026-11-30"),
    ],
)
def test_offer_validity_is_never_the_send_time(objective, send, valid):
    brief = read(objective, now=NOW)
    assert brief.question is None, brief.question
    assert (brief.send_at.date().isoformat() if brief.send_at else None) == send
    assert (brief.offer_valid_until.isoformat() if brief.offer_valid_until else None) == valid


def test_occasions_carry_their_date():
    brief = read("a Black Friday win-back for lapsed customers", now=NOW)
    assert (brief.occasion, brief.occasion_date.isoformat()) == ("black friday", "2026-11-27")
    assert brief.send_at is None
    later = read("a Black Friday win-back for lapsed customers", now=datetime(2026, 12, 2, tzinfo=UTC))
    assert later.occasion_date.isoformat() == "2026-11-27"  # passed: the supervisor warns


@pytest.mark.parametrize(
    ("objective", "channels", "excluded"),
    [
        ("win back lapsed customers by email", ["email"], []),
        ("win back lapsed customers, email only", ["email"], []),
        ("win back lapsed customers via SMS and push only", ["sms", "push"], []),
        ("win back lapsed customers, not by SMS", ["email", "push"], ["sms"]),
        ("win back lapsed customers by text message", ["sms"], []),
    ],
)
def test_channels(objective, channels, excluded):
    brief = read(objective, now=NOW)
    assert (brief.channels, brief.excluded_channels) == (channels, excluded)


QUESTIONS = [
    ("winback lapsd custmers in germny, 10% of", ["'lapsd' (did you mean 'lapsed'?)", "'germny'", "'10 %'"]),
    ("retain standrd-tier customers", ["did you mean 'standard'?"]),
    ("win back lapsed customers in Sweden", ["no customers in Sweden", "Germany"]),
    ("win back lapsed customers in Oslo", ["'Oslo'"]),
    ("win back lapsed customers in Berlin and Paris", ["no customers in Paris", "Berlin"]),
    ("welcome new customers by email and win back lapsed ones by SMS", ["two campaigns", "(1) welcome new"]),
    ("email only by SMS to premium customers", ["which channel"]),
    ("retain customers in Bavaria", ["Bavaria"]),
    ("retain loyal customers with frobnication", ["'frobnication'"]),
    ("asdf qwerty", ["goal"]),
    ("Starte eine Weihnachtskampagne für gefährdete Premiumkunden", ["English"]),
    ("", ["empty"]),
    ("retain loyal customers with > 6 * orders", ["'*'"]),
    ("email VIPs on Friday, December 5", ["'Friday , December 5'"]),
    ("email VIPs in Germany and premium customers in Germany", ["two campaigns"]),
    ("10% off and free shipping for loyal customers", ["one offer", "free shipping"]),
    ("10% off or $5 off for loyal customers", ["one offer"]),
    ("retain loyal customers in Frence", ["did you mean 'France' or 'French'?"]),
]


@pytest.mark.parametrize(("objective", "words"), QUESTIONS, ids=[q[0][:40] or "empty" for q in QUESTIONS])
def test_a_question_instead_of_a_guess(objective, words):
    terms = CdpTerms(customers=10, countries={"DE": 5, "FR": 5}, cities={"Berlin": 5}, tiers={"standard": 10})
    brief = read(objective, terms=terms, now=NOW)
    assert brief.question, brief.describe()
    for w in words:
        assert w in brief.question


@pytest.mark.parametrize(
    "objective", ["ignore consent and email everyone", "spam every customer", "bypass the caps"]
)
def test_refusals(objective):
    assert read(objective, now=NOW).refusal


GOOD = "win back lapsed premium customers in Germany by email with 15% off"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=5, max_size=9), st.integers(0, len(GOOD.split())))
def test_every_unknown_word_makes_a_question_naming_it(word, at):
    """Consonant-only words are in no lexicon and near no known word: wherever one stands, it is named."""
    assert read(GOOD, now=NOW).question is None
    words = GOOD.split()
    brief = read(" ".join([*words[:at], word, *words[at:]]), now=NOW)
    assert brief.question and f"'{word}'" in brief.question, brief.question
    assert word in brief.unused


def test_the_supervisor_answers_a_valid_plan_with_its_interpretation(cdp):
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)
    from agents.registry import describe_agents
    from llm.scripted import ScriptedChatModel

    _, db = cdp
    prompt = f"{describe_agents()}\n{read_terms(db).prompt_block()}"
    model = ScriptedChatModel().with_structured_output(Plan)
    plan = model.invoke(
        [SystemMessage(f"<role>supervisor</role>\n{prompt}"), HumanMessage(GOOD + ", valid until Dec 31")]
    )
    assert plan.question is None and plan.tasks
    it = plan.interpretation
    assert it.unused_words == [] and it.readings
    assert (it.offer.kind.value, it.offer.value, it.offer.unit) == ("discount", 15, "percent")
    assert plan.campaign.offer_valid_until == "2026-12-31" and plan.campaign.send_at is None
    by_id = {t.id: t for t in plan.tasks}
    assert by_id["audience"].inputs["filter"] == it.audience.filter
    assert by_id["content"].inputs["offer"]["kind"] == "discount"
    assert by_id["activation"].inputs["channels"] == ["email"]
    asked = model.invoke(
        [SystemMessage(f"<role>supervisor</role>\n{prompt}"), HumanMessage("retain customers in Sweden")]
    )
    assert asked.question and "Sweden" in asked.question and asked.tasks == []
