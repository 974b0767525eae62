"""The objective grammar: a table of varied objectives, their audiences checked against hand-written SQL
on a real CDP file, hypothesis combinations of grammar fragments, and inputs that try to break it."""

from __future__ import annotations

import json
import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp import open_cdp
from cdp.filters import compile_filter, parse_filter
from llm.scripted.grammar import MAX_OBJECTIVE_CHARS, Brief, cdp_countries, parse_objective

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def parse(text: str, **kw: Any) -> Brief:
    return parse_objective(text, now=NOW, **kw)


def conds(brief: Brief) -> set[tuple[str, str, Any]]:
    return {(c.field, c.op, json.dumps(c.value)) for c in brief.conditions}


def excl(brief: Brief) -> set[tuple[str, Any]]:
    out = set()
    for e in brief.exclusions:
        if e.condition is not None:
            out.add((e.kind, (e.condition.field, e.condition.op, json.dumps(e.condition.value))))
        else:
            out.add((e.kind, e.value))
    return out


def C(field: str, op: str, value: Any) -> tuple[str, str, Any]:
    return (field, op, json.dumps(value))


# --------------------------------------------------------------------------------------------- table
# Each case: objective, the Brief fields it must produce (fields not named must keep their default
# unless listed in LOOSE), and optionally the SQL WHERE over customer_360 its audience must equal.

LOOSE = {
    "objective",
    "segment_groups",
    "unmapped",
    "notes",
    "occasion_date",
    "question",
    "refusal",
    "action",
    "categories",
    "send_by",
}

CASES: list[dict[str, Any]] = [
    dict(
        text="launch a holiday retention campaign for at-risk premium customers",
        want=dict(
            goal="retention",
            action="launch",
            occasion="holiday",
            segment_words=["at-risk"],
            tiers=["premium"],
        ),
        sql="churn_risk >= 0.7 AND tier = 'premium'",
    ),
    dict(text="launch our new sneaker line", want=dict(goal="launch", categories=["shoes"]), sql="1"),
    dict(
        text="Win back lapsed premium customers in Germany by email with a $5,000 budget",
        want=dict(
            goal="win-back",
            segment_words=["lapsed"],
            tiers=["premium"],
            countries=["DE"],
            channels=["email"],
            budget={"amount": 5000.0, "currency": "USD"},
        ),
        sql="days_since_purchase >= 90 AND tier = 'premium' AND country = 'DE'",
    ),
    dict(
        text="Re-engage customers who haven't purchased in 60 days via SMS, budget 5k EUR",
        want=dict(
            goal="re-engagement",
            channels=["sms"],
            budget={"amount": 5000.0, "currency": "EUR"},
            conditions={C("days_since_purchase", "gte", 60)},
        ),
        sql="days_since_purchase >= 60",
    ),
    dict(
        text="welcome recent signups with 20% off by email and push",
        want=dict(goal="welcome", segment_words=["new"], channels=["email", "push"], discount_pct=20.0),
        sql="days_since_signup <= 30",
    ),
    dict(
        text="retain big spenders in the UK excluding VIPs, push only",
        want=dict(
            goal="retention",
            segment_words=["high-value"],
            countries=["GB"],
            channels=["push"],
            channels_strict=True,
            exclusions={("tier", "vip")},
        ),
        sql="lifetime_value >= :hv AND lifetime_value > 0 AND country = 'GB' AND tier IS NOT 'vip'",
    ),
    dict(
        text="reactivate dormant Brazilian customers with free shipping, €2.5k",
        want=dict(
            goal="win-back",
            segment_words=["lapsed"],
            countries=["BR"],
            free_shipping=True,
            budget={"amount": 2500.0, "currency": "EUR"},
        ),
        sql="days_since_purchase >= 90 AND country = 'BR'",
    ),
    dict(
        text="win back customers with no orders for 3 months, not in Germany",
        want=dict(
            goal="win-back", conditions={C("days_since_purchase", "gte", 90)}, exclusions={("country", "DE")}
        ),
        sql="days_since_purchase >= 90 AND country IS NOT 'DE'",
    ),
    dict(
        text="promote the summer sale to Spanish-speaking customers who spent over $500",
        want=dict(
            goal="launch", occasion="summer", languages=["es"], conditions={C("lifetime_value", "gte", 500.0)}
        ),
        sql="language = 'es' AND lifetime_value >= 500",
    ),
    dict(
        text="onboard customers who signed up in the last 2 weeks on all channels",
        want=dict(
            goal="welcome", channels=["email", "sms", "push"], conditions={C("days_since_signup", "lte", 14)}
        ),
        sql="days_since_signup <= 14",
    ),
    dict(
        text="bring back customers inactive for 45+ days except customers with open tickets",
        want=dict(
            goal="win-back",
            conditions={C("days_since_purchase", "gte", 45)},
            exclusions={("condition", ("open_ticket", "eq", "true"))},
        ),
        sql="days_since_purchase >= 45 AND NOT open_ticket",
    ),
    dict(
        text="upsell loyal customers with 3+ orders to VIP via push notification, £800",
        want=dict(
            goal="upsell",
            segment_words=["loyal"],
            target_tier="vip",
            channels=["push"],
            budget={"amount": 800.0, "currency": "GBP"},
            conditions={C("orders_count", "gte", 3)},
        ),
        sql="orders_count >= 5 AND orders_count >= 3",
    ),
    dict(
        text="Win back VIPs who haven't ordered in over 90 days with a 15 percent discount",
        want=dict(
            goal="win-back",
            tiers=["vip"],
            discount_pct=15.0,
            conditions={C("days_since_purchase", "gte", 91)},
        ),
        sql="tier = 'vip' AND days_since_purchase >= 91",
    ),
    dict(
        text="Send a Christmas email to loyal customers in Canada and the US",
        want=dict(occasion="christmas", segment_words=["loyal"], countries=["CA", "US"], channels=["email"]),
        sql="orders_count >= 5 AND country IN ('CA', 'US')",
    ),
    dict(
        text="Retain premium and VIP customers at risk of churning, budget of 3000 dollars",
        want=dict(
            goal="retention",
            segment_words=["at-risk"],
            tiers=["premium", "vip"],
            budget={"amount": 3000.0, "currency": "USD"},
        ),
        sql="churn_risk >= 0.7 AND tier IN ('premium', 'vip')",
    ),
    dict(
        text="reach out to customers who spent more than 1k EUR in Spain via email only",
        want=dict(
            countries=["ES"],
            channels=["email"],
            channels_strict=True,
            conditions={C("lifetime_value", "gte", 1000.0)},
        ),
        sql="country = 'ES' AND lifetime_value >= 1000",
    ),
    dict(
        text="cross-sell beauty products to fashion lovers in Italy with free delivery",
        want=dict(
            goal="cross-sell",
            countries=["IT"],
            categories=["beauty"],
            audience_categories=["apparel"],
            free_shipping=True,
        ),
        sql="country = 'IT' AND favorite_category = 'apparel'",
    ),
    dict(
        text="get lapsed shoe buyers back with 25% off, not in France or Spain",
        want=dict(
            goal="win-back",
            segment_words=["lapsed"],
            audience_categories=["shoes"],
            discount_pct=25.0,
            exclusions={("country", "FR"), ("country", "ES")},
        ),
        sql="days_since_purchase >= 90 AND favorite_category = 'shoes' AND country IS NOT 'FR' "
        "AND country IS NOT 'ES'",
    ),
    dict(
        text="email German-speaking customers who joined more than a year ago",
        want=dict(languages=["de"], channels=["email"], conditions={C("days_since_signup", "gte", 366)}),
        sql="language = 'de' AND days_since_signup >= 366",
    ),
    dict(
        text="keep customers with 5 or more orders happy, except VIPs, by text message",
        want=dict(
            goal="retention",
            channels=["sms"],
            conditions={C("orders_count", "gte", 5)},
            exclusions={("tier", "vip")},
        ),
        sql="orders_count >= 5 AND tier IS NOT 'vip'",
    ),
    dict(
        text="win back customers who last purchased over 6 months ago, $2,500 budget",
        want=dict(
            goal="win-back",
            budget={"amount": 2500.0, "currency": "USD"},
            conditions={C("days_since_purchase", "gte", 181)},
        ),
        sql="days_since_purchase >= 181",
    ),
    dict(
        text="upsell one-time buyers to premium membership with double points",
        want=dict(
            goal="upsell",
            target_tier="premium",
            offer_kind="loyalty reward",
            conditions={C("orders_count", "eq", 1)},
        ),
        sql="orders_count = 1",
    ),
    dict(
        text="Re-engage customers who have never purchased",
        want=dict(goal="re-engagement", conditions={C("orders_count", "eq", 0)}),
        sql="orders_count = 0",
    ),
    dict(
        text="retention campaign for customers with a churn risk above 80%",
        want=dict(goal="retention", conditions={C("churn_risk", "gte", 0.8)}),
        sql="churn_risk >= 0.8",
    ),
    dict(
        text="lapsed and at-risk customers in Germany",
        want=dict(segment_words=["lapsed", "at-risk"], countries=["DE"]),
        sql="(days_since_purchase >= 90 OR churn_risk >= 0.7) AND country = 'DE'",
    ),
    dict(
        text="win back customers who haven't purchased in 30-60 days",
        want=dict(goal="win-back", conditions={C("days_since_purchase", "between", [30, 60])}),
        sql="days_since_purchase BETWEEN 30 AND 60",
    ),
    dict(
        text="reward customers with at least 3 orders and more than $300 spent",
        want=dict(conditions={C("orders_count", "gte", 3), C("lifetime_value", "gte", 300.0)}),
        sql="orders_count >= 3 AND lifetime_value >= 300",
    ),
    dict(
        text="promote our spring collection in Paris and Lyon",
        want=dict(goal="launch", occasion="spring", cities=["Paris", "Lyon"]),
        sql="city IN ('Paris', 'Lyon')",
    ),
    dict(
        text="win back lapsed customers",
        want=dict(goal="win-back", segment_words=["lapsed"]),
        sql="days_since_purchase >= 90",
    ),
    dict(
        text="a win-back push for the Black Friday weekend",
        want=dict(
            goal="win-back",
            implied_segment_words=["lapsed"],
            occasion="black friday",
            channels=["push"],
            notes=["win-back with no segment word: the audience is lapsed customers"],
        ),
        sql="days_since_purchase >= 90",
    ),
    dict(
        text="welcome campaign by email",
        want=dict(goal="welcome", implied_segment_words=["new"], channels=["email"]),
        sql="days_since_signup <= 30",
    ),
    dict(
        text="thank customers who bought in the last 30 days but have no complaints",
        want=dict(
            conditions={C("days_since_purchase", "lte", 30)},
            exclusions={("condition", ("last_complaint_at", "is_null", "false"))},
        ),
        sql="days_since_purchase <= 30 AND last_complaint_at IS NULL",
    ),
    dict(
        text="upsell standard tier shoppers in Japan who spend over ¥20,000",
        want=dict(
            goal="upsell",
            tiers=["standard"],
            countries=["JP"],
            conditions={C("lifetime_value", "gte", 20000.0)},
        ),
        sql="tier = 'standard' AND country = 'JP' AND lifetime_value >= 20000",
    ),
    dict(
        text="cross-sell electronics to customers who mostly buy books or toys, excluding lapsed ones",
        want=dict(
            goal="cross-sell",
            categories=["electronics"],
            audience_categories=["books", "toys"],
            exclusions={("segment", "lapsed")},
        ),
        sql="favorite_category IN ('books', 'toys') AND NOT COALESCE(days_since_purchase >= 90, 0)",
    ),
    dict(
        text="Retain customers in North America with an average order value above $100",
        want=dict(
            goal="retention", countries=["CA", "MX", "US"], conditions={C("avg_order_value", "gte", 100.0)}
        ),
        sql="country IN ('CA', 'MX', 'US') AND avg_order_value >= 100",
    ),
    # --- schedule and offers -------------------------------------------------------------------
    dict(
        text="send a Black Friday last chance offer to active customers in the US by December 15",
        want=dict(
            occasion="black friday",
            segment_words=["active"],
            countries=["US"],
            offer_kind="last chance",
            send_at=datetime(2026, 12, 15, 9, tzinfo=UTC),
            send_by=True,
        ),
    ),
    dict(
        text="Email VIP customers about Cyber Monday early access on 2026-11-29",
        want=dict(
            occasion="cyber monday",
            tiers=["vip"],
            channels=["email"],
            offer_kind="early access",
            send_at=datetime(2026, 11, 29, 9, tzinfo=UTC),
        ),
    ),
    dict(
        text="text VIPs about the new year sale next week",
        want=dict(
            occasion="new year",
            tiers=["vip"],
            channels=["sms"],
            send_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
        ),
    ),
    dict(
        text="retain at-risk customers with a budget of 5000",
        want=dict(goal="retention", segment_words=["at-risk"], budget={"amount": 5000.0, "currency": None}),
    ),
    dict(
        text="announce our new electronics collection to German and French VIPs tomorrow",
        want=dict(
            goal="launch",
            tiers=["vip"],
            countries=["DE", "FR"],
            categories=["electronics"],
            send_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
        ),
    ),
    dict(
        text="re-engage French customers in French with a welcome back discount of 10%",
        want=dict(goal="re-engagement", countries=["FR"], content_language="fr", discount_pct=10.0),
    ),
    # --- questions: unclear, contradictory, unknown ------------------------------------------
    dict(
        text="email only by SMS",
        want=dict(channels=["email", "sms"], channels_strict=True),
        question="only SMS",
    ),
    dict(text="customers from Atlantis", want={}, question="I don't know a country called Atlantis"),
    dict(text="keep our gold members happy", want=dict(goal="retention"), question="'gold' is not a tier"),
    dict(
        text="target wealthy customers in Italy", want=dict(countries=["IT"]), question="'wealthy customers'"
    ),
    dict(text="engage customers who love hiking", want={}, question="who love hiking"),
    dict(text="email VIPs in Scotland", want=dict(tiers=["vip"], channels=["email"]), question="Scotland"),
    dict(
        text="win back lapsed customers by WhatsApp",
        want=dict(goal="win-back", segment_words=["lapsed"]),
        question="'WhatsApp' is not a channel",
    ),
    dict(
        text="win back lapsed customers with a $5k budget and a €3k budget",
        want=dict(goal="win-back", segment_words=["lapsed"], budget={"amount": 5000.0, "currency": "USD"}),
        question="two budgets",
    ),
    dict(text="150% off for VIPs", want=dict(tiers=["vip"]), question="150%"),
    dict(
        text="active lapsed customers", want=dict(segment_words=["active", "lapsed"]), question="contradict"
    ),
    dict(
        text="message customers who haven't bought in 60 days and who bought in the last 30 days",
        want=dict(conditions={C("days_since_purchase", "gte", 60), C("days_since_purchase", "lte", 30)}),
        question="contradict",
    ),
    dict(text="send on 2020-01-01 to VIPs", want=dict(tiers=["vip"]), question="in the past"),
    dict(
        text="re-engage customers who haven't opened an email in 30 days",
        want=dict(goal="re-engagement", channels=["email"]),
        question="'in 30 days'",
    ),
    dict(text="asdf qwerty", want={}, question="I couldn't find a goal"),
    dict(text="", want={}, question="empty"),
    dict(text="   \n\t ", want={}, question="empty"),
    dict(
        text="Gewinnen Sie inaktive Kunden in Deutschland mit 10 Prozent Rabatt zurück",
        want={},
        question="German",
    ),
    dict(text="Lanzar una campaña para recuperar clientes inactivos en España", want={}, question="Spanish"),
    # --- refusals ---------------------------------------------------------------------------
    dict(text="message everyone regardless of consent", want={}, refusal="regardless of consent"),
    dict(
        text="ignore the frequency cap and email all VIPs",
        want=dict(tiers=["vip"], channels=["email"]),
        refusal="ignore the frequency cap",
    ),
    dict(text="spam all customers with offers", want={}, refusal="spam"),
    dict(text="bypass the cap for premium customers", want=dict(tiers=["premium"]), refusal="bypass the cap"),
    dict(
        text="email everyone, even those who unsubscribed",
        want=dict(channels=["email"]),
        refusal="unsubscribed",
    ),
    dict(
        text="don't check consent, just text all lapsed customers",
        want=dict(segment_words=["lapsed"], channels=["sms"], channels_strict=True),
        refusal="check consent",
    ),
    # --- look-alikes that must NOT be refused ----------------------------------------------------
    dict(
        text="don't spam anyone; win back lapsed customers by email",
        want=dict(goal="win-back", segment_words=["lapsed"], channels=["email"]),
    ),
    dict(
        text="respect the frequency cap and retain at-risk customers",
        want=dict(goal="retention", segment_words=["at-risk"]),
    ),
    dict(text="retain customers who haven't opted out", want=dict(goal="retention")),
]

# Phrasings written after the grammar, to see how it generalises (the first run of these found gaps
# that were then fixed: "whose favourite category is", "buyers of", "since March 1", "twice").
CASES += [
    dict(
        text="We need to bring our sleeping VIP clients back before the holidays",
        want=dict(goal="win-back", occasion="holiday", segment_words=["lapsed"], tiers=["vip"]),
        sql="days_since_purchase >= 90 AND tier = 'vip'",
    ),
    dict(
        text="Target premium shoppers who haven't purchased in two months with free shipping and $1k budget",
        want=dict(
            tiers=["premium"],
            free_shipping=True,
            budget={"amount": 1000.0, "currency": "USD"},
            conditions={C("days_since_purchase", "gte", 60)},
        ),
        sql="tier = 'premium' AND days_since_purchase >= 60",
    ),
    dict(
        text="Let's re-engage Dutch users that went quiet, SMS and push only",
        want=dict(
            goal="re-engagement",
            segment_words=["lapsed"],
            countries=["NL"],
            channels=["sms", "push"],
            channels_strict=True,
        ),
        sql="days_since_purchase >= 90 AND country = 'NL'",
    ),
    dict(
        text="Upsell standard customers in Canada who've placed 4 or more orders to premium",
        want=dict(
            goal="upsell",
            tiers=["standard"],
            target_tier="premium",
            countries=["CA"],
            conditions={C("orders_count", "gte", 4)},
        ),
        sql="tier = 'standard' AND country = 'CA' AND orders_count >= 4",
    ),
    dict(
        text="Re-activate customers who haven't made a purchase in the past 6 months, except complainers",
        want=dict(
            goal="win-back",
            conditions={C("days_since_purchase", "gte", 180)},
            exclusions={("condition", ("last_complaint_at", "is_null", "false"))},
        ),
        sql="days_since_purchase >= 180 AND last_complaint_at IS NULL",
    ),
    dict(
        text="Offer free shipping to Italian and Spanish shoppers whose favourite category is home",
        want=dict(countries=["IT", "ES"], audience_categories=["home"], free_shipping=True),
        sql="country IN ('IT', 'ES') AND favorite_category = 'home'",
    ),
    dict(
        text="Send an SMS-only flash sale to loyal customers in Mexico City",
        want=dict(
            segment_words=["loyal"],
            cities=["Mexico City"],
            channels=["sms"],
            channels_strict=True,
            offer_kind="flash sale",
        ),
        sql="orders_count >= 5 AND city = 'Mexico City'",
    ),
    dict(
        text="Cross-sell accessories to recent buyers of electronics",
        want=dict(goal="cross-sell", segment_words=["active"], audience_categories=["electronics"]),
        sql="days_since_purchase <= 30 AND favorite_category = 'electronics'",
    ),
    dict(
        text="Re-engage customers who haven't purchased since March 1",
        want=dict(goal="re-engagement", conditions={C("days_since_purchase", "gte", 268)}),
        sql="days_since_purchase >= 268",
    ),
    dict(
        text="Win back customers who unsubscribed from emails via SMS",
        want=dict(
            goal="win-back",
            implied_segment_words=["lapsed"],
            channels=["sms"],
            conditions={C("consent_email", "eq", False)},
        ),
        sql="days_since_purchase >= 90 AND NOT consent_email",
    ),
    dict(
        text="Cyber Monday deals for lapsed buyers, excluding customers who complained in the last 30 days",
        want=dict(
            occasion="cyber monday",
            segment_words=["lapsed"],
            exclusions={("condition", ("days_since_complaint", "lte", "30"))},
        ),
        sql="days_since_purchase >= 90 AND NOT COALESCE(days_since_complaint <= 30, 0)",
    ),
    dict(
        text="email customers who unsubscribed from email",
        want=dict(channels=["email"], conditions={C("consent_email", "eq", False)}),
        refusal="unsubscribed from email",
    ),
    dict(
        text="Give our top 5% spenders early access to the winter collection",
        want=dict(occasion="winter", offer_kind="early access"),
        question="'top 5%'",
    ),
    dict(
        text="Send Valentine's Day deals to customers aged 25-35",
        want=dict(occasion="valentine's day"),
        question="'aged 25-35'",
    ),
    dict(
        text="Run a cross-sell campaign: sports gear for runners in Brazil",
        want=dict(goal="cross-sell", countries=["BR"], categories=["sports"]),
        question="'runners'",
    ),
    dict(
        text="Retain customers who bought at least twice in the last six months",
        want=dict(goal="retention"),
        question="inside a time window",
    ),
]


def _check(brief: Brief, case: dict[str, Any]) -> None:
    want = case["want"]
    defaults = Brief()
    for name in Brief.model_fields:
        got = getattr(brief, name)
        if name in want:
            expected = want[name]
            if name == "conditions":
                assert conds(brief) == expected, (case["text"], brief.conditions)
            elif name == "exclusions":
                assert excl(brief) == expected, (case["text"], brief.exclusions)
            elif name == "budget":
                assert (got.model_dump() if got else None) == expected, (case["text"], got)
            else:
                assert got == expected, (case["text"], name, got)
        elif name not in LOOSE:
            assert got == getattr(defaults, name), (case["text"], name, got)
    if "question" in case:
        assert brief.question and case["question"] in brief.question, (case["text"], brief.question)
    else:
        assert brief.question is None, (case["text"], brief.question)
    if "refusal" in case:
        assert brief.refusal and case["refusal"] in brief.refusal, (case["text"], brief.refusal)
        assert "cannot be switched off" in brief.refusal
    else:
        assert brief.refusal is None, (case["text"], brief.refusal)


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] or "<empty>" for c in CASES])
def test_objective_table(case):
    brief = parse(case["text"])
    _check(brief, case)
    if brief.ok:
        parse_filter(brief.audience_filter())  # always a filter the CDP accepts


def test_table_is_large_and_varied():
    assert len(CASES) >= 40
    assert sum("sql" in c for c in CASES) >= 15
    assert sum("question" in c for c in CASES) >= 10
    assert sum("refusal" in c for c in CASES) >= 5


# ----------------------------------------------------------------------------------- SQL checks


@pytest.fixture(scope="module")
def small_cdp(tmp_path_factory):
    """~240 customers with varied countries, tiers, languages, purchases, tickets and complaints."""
    path = tmp_path_factory.mktemp("grammar") / "cdp.db"
    db = open_cdp(path)
    rng = random.Random(20261124)
    countries = [
        ("US", "en", "New York"),
        ("GB", "en", "London"),
        ("DE", "de", "Berlin"),
        ("DE", "de", "Munich"),
        ("FR", "fr", "Paris"),
        ("FR", "fr", "Lyon"),
        ("ES", "es", "Madrid"),
        ("IT", "it", "Rome"),
        ("NL", "nl", "Amsterdam"),
        ("BR", "pt", "Sao Paulo"),
        ("JP", "ja", "Tokyo"),
        ("CA", "en", "Toronto"),
        ("CA", "fr", "Montreal"),
        ("MX", "es", "Mexico City"),
        (None, None, None),
    ]
    categories = ["apparel", "shoes", "beauty", "home", "electronics", "sports", "books", "toys"]
    profiles, events = [], []

    def ts(days_ago: float) -> str:
        return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")

    for n in range(240):
        pid = f"c{n:04d}"
        country, language, city = rng.choice(countries)
        tier = rng.choices(["standard", "premium", "vip"], [70, 20, 10])[0]
        signup_age = rng.choice([3, 10, 20, 29, 31, 45, 100, 200, 365, 366, 400, 800])
        profiles.append((pid, country, city, language, tier, ts(signup_age + 0.3)))
        orders = rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 6, 8])
        last_age = rng.choice([1, 10, 29, 30, 31, 44, 45, 59, 60, 61, 89, 90, 91, 120, 180, 181, 300])
        last_age = min(last_age, signup_age)
        for k in range(orders):
            age = last_age + k * rng.choice([3, 10, 40])
            amount = rng.choice([15, 40, 80, 120, 150, 250, 400, 700, 20000])
            cat = rng.choice(categories)
            events.append(
                (
                    f"{pid}-o{k}",
                    pid,
                    "purchase",
                    ts(age + 0.2),
                    json.dumps({"amount": amount, "category": cat}),
                )
            )
        if rng.random() < 0.12:
            events.append((f"{pid}-c", pid, "complaint", ts(rng.choice([5, 40, 200])), "{}"))
        if rng.random() < 0.12:
            events.append((f"{pid}-t", pid, "support_ticket", ts(2), json.dumps({"status": "open"})))
    with db.conn:
        db.conn.executemany(
            "INSERT INTO profiles (profile_id, country, city, language, tier, signup_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            profiles,
        )
        db.conn.executemany(
            "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?, ?, ?, ?, ?)", events
        )
    yield db
    db.conn.close()


def _high_value_threshold(db) -> float:
    values = sorted((r[0] for r in db.execute("SELECT lifetime_value FROM customer_360")), reverse=True)
    return values[max(0, math.ceil(len(values) * 0.10) - 1)]


SQL_CASES = [c for c in CASES if "sql" in c]


@pytest.mark.parametrize("case", SQL_CASES, ids=[c["text"][:50] for c in SQL_CASES])
def test_audience_matches_hand_written_sql(small_cdp, case):
    db = small_cdp
    brief = parse(case["text"], countries=[*cdp_countries(db), "MX"])
    assert brief.ok, (brief.question, brief.refusal)
    compiled = compile_filter(brief.audience_filter(), db)
    got = {
        r[0]
        for r in db.execute(f"SELECT profile_id FROM customer_360 WHERE {compiled.where}", compiled.params)
    }
    where = case["sql"].replace(":hv", repr(_high_value_threshold(db)))
    want = {r[0] for r in db.execute(f"SELECT profile_id FROM customer_360 WHERE {where}")}
    assert got == want, (case["text"], sorted(got ^ want)[:10])


def test_fixture_has_variety(small_cdp):
    """The SQL checks mean something only if the CDP has customers on both sides of each boundary."""
    one = lambda sql: small_cdp.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT count(*) FROM customer_360") == 240
    assert one("SELECT count(*) FROM customer_360 WHERE churn_risk >= 0.7") > 5
    assert one("SELECT count(*) FROM customer_360 WHERE days_since_purchase = 60") > 0
    assert one("SELECT count(*) FROM customer_360 WHERE open_ticket") > 5
    assert one("SELECT count(*) FROM customer_360 WHERE orders_count = 0") > 5
    assert one("SELECT count(DISTINCT country) FROM customer_360") >= 10


def test_unknown_country_names_the_cdp_countries(small_cdp):
    brief = parse("win back lapsed customers in Sweden", countries=cdp_countries(small_cdp))
    assert brief.countries == ["SE"]
    assert brief.question and "no customers in Sweden" in brief.question and "Germany" in brief.question
    brief = parse("customers from Atlantis", countries=["DE", "FR"])
    assert (
        brief.question == "I don't know a country called Atlantis; the CDP has customers in: Germany, France."
    )


# ---------------------------------------------------------------------------------- properties

GOALS = [
    ("win back", "win-back"),
    ("retain", "retention"),
    ("re-engage", "re-engagement"),
    ("upsell", "upsell"),
    ("reactivate", "win-back"),
    ("bring back", "win-back"),
    ("welcome", "welcome"),
    ("keep", "retention"),
]
SEGMENTS = [
    ("at-risk", "at-risk"),
    ("churning", "at-risk"),
    ("lapsed", "lapsed"),
    ("dormant", "lapsed"),
    ("new", "new"),
    ("high-value", "high-value"),
    ("active", "active"),
    ("loyal", "loyal"),
    ("", None),
]
TIER_WORDS = [("premium", "premium"), ("VIP", "vip"), ("standard", "standard"), ("", None)]
COUNTRY_NAMES = [
    ("Germany", "DE"),
    ("the UK", "GB"),
    ("France", "FR"),
    ("the United States", "US"),
    ("Brazil", "BR"),
    ("Japan", "JP"),
    ("Spain", "ES"),
    ("Italy", "IT"),
    ("the Netherlands", "NL"),
    ("Canada", "CA"),
    ("Mexico", "MX"),
    ("Ireland", "IE"),
    ("", None),
]
CHANNEL_WORDS = [
    ("email", ["email"]),
    ("SMS", ["sms"]),
    ("push", ["push"]),
    ("email and SMS", ["email", "sms"]),
    ("push notification", ["push"]),
    ("text message", ["sms"]),
    ("", []),
]
BUDGETS = [
    ("$5,000 budget", 5000, "USD"),
    ("budget of 5k EUR", 5000, "EUR"),
    ("£800 budget", 800, "GBP"),
    ("€2.5k budget", 2500, "EUR"),
    ("budget of 3000 dollars", 3000, "USD"),
    ("CHF 1,200 budget", 1200, "CHF"),
    ("", None, None),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    goal=st.sampled_from(GOALS),
    seg=st.sampled_from(SEGMENTS),
    tier=st.sampled_from(TIER_WORDS),
    country=st.sampled_from(COUNTRY_NAMES),
    channel=st.sampled_from(CHANNEL_WORDS),
    budget=st.sampled_from(BUDGETS),
)
def test_fragments_parse_to_their_parts(goal, seg, tier, country, channel, budget):
    words = [goal[0], seg[0], tier[0], "customers"]
    if country[0]:
        words += ["in", country[0]]
    if channel[0]:
        words += ["by", channel[0]]
    if budget[0]:
        words += ["with a", budget[0]]
    text = " ".join(w for w in words if w)
    brief = parse(text)
    assert brief.ok, (text, brief.question, brief.refusal)
    assert brief.goal == goal[1], text
    assert brief.segment_words == ([seg[1]] if seg[1] else []), text
    assert brief.tiers == ([tier[1]] if tier[1] else []), text
    assert brief.countries == ([country[1]] if country[1] else []), text
    assert brief.channels == channel[1], text
    if budget[1] is None:
        assert brief.budget is None, text
    else:
        assert brief.budget is not None and (brief.budget.amount, brief.budget.currency) == budget[1:], text
    node = brief.audience_filter()
    parse_filter(node)
    if not (seg[1] or tier[1] or country[1]) and goal[1] not in ("win-back", "welcome"):
        assert node == {"all": [{"field": "orders_count", "op": "gte", "value": 0}]}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_brief_and_a_valid_filter(text):
    brief = parse(text)
    assert isinstance(brief, Brief)
    if brief.ok:
        parse_filter(brief.audience_filter())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "win back",
                "lapsed",
                "VIP",
                "customers",
                "in",
                "Germany",
                "by",
                "email",
                "only",
                "not",
                "excluding",
                "haven't",
                "purchased",
                "in the last",
                "30",
                "days",
                "$",
                "5k",
                "%",
                "off",
                "and",
                ",",
                "premium",
                "who",
                "spent",
                "over",
                "3+",
                "orders",
                "next week",
                "SMS",
                "push",
                "except",
                "open tickets",
                "new",
                "active",
            ]
        ),
        max_size=25,
    )
)
def test_word_salad_never_crashes(words):
    brief = parse(" ".join(words))
    if brief.ok:
        parse_filter(brief.audience_filter())


# ------------------------------------------------------------------------------ hostile inputs


def test_long_inputs_are_refused_fast():
    started = time.perf_counter()
    brief = parse("win back lapsed customers " * 5_000)  # ~125 KB
    assert brief.question and "at most 2,000 characters" in brief.question
    brief = parse("x" * 100_000)
    assert brief.question and "100,000 characters" in brief.question
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "chunk", ["in ", "$1,", "not ", "12345678901234567890,", "a-", "((((", "'s ", "1-2-"]
)
def test_adversarial_inputs_at_the_limit_parse_fast(chunk):
    text = (chunk * (MAX_OBJECTIVE_CHARS // len(chunk)))[:MAX_OBJECTIVE_CHARS]
    started = time.perf_counter()
    parse(text)
    assert time.perf_counter() - started < 1.0


def test_non_text_input_is_a_question():
    assert parse_objective(None).question == "The objective must be text."  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- specific rules


def test_adjectives_need_a_customer_noun():
    """ "new" and "premium" name a segment or tier only when they describe customers."""
    assert parse("launch our new premium sneakers").segment_words == []
    assert parse("launch our new premium sneakers").tiers == []
    assert parse("launch premium sneakers for new premium members").tiers == ["premium"]
    assert parse("launch premium sneakers for new premium members").segment_words == ["new"]


def test_goal_words_outrank_launch_verbs():
    assert parse("launch a win-back campaign").goal == "win-back"
    assert parse("announce the spring collection").goal == "launch"
    assert parse("launch a holiday retention campaign").action == "launch"


def test_stacked_segments_intersect_coordinated_ones_unite():
    stacked = parse("loyal high-value customers").audience_filter()
    assert stacked == {"all": [{"segment": "loyal"}, {"segment": "high-value"}]}
    united = parse("lapsed, at-risk or new customers").audience_filter()
    assert united == {"all": [{"any": [{"segment": "lapsed"}, {"segment": "at-risk"}, {"segment": "new"}]}]}


def test_channels_never_narrow_the_audience():
    with_channel = parse("win back lapsed customers by SMS only").audience_filter()
    without = parse("win back lapsed customers").audience_filter()
    assert with_channel == without


def test_channel_exclusions():
    brief = parse("reach VIPs on every channel except SMS")
    assert brief.channels == ["email", "push"] and brief.excluded_channels == ["sms"]
    brief = parse("send to all customers, no SMS")
    assert brief.excluded_channels == ["sms"] and brief.channels == []


def test_country_codes_only_in_capitals():
    assert parse("email US customers").countries == ["US"]
    assert parse("send us a report of lapsed customers").countries == []
    assert parse("retain customers in the U.S. and the U.K.").countries == ["US", "GB"]


def test_send_dates_count_from_the_cdp_clock():
    assert parse("retain VIPs, send on March 3").send_at == datetime(2027, 3, 3, 9, tzinfo=UTC)
    assert parse("retain VIPs, send on Friday").send_at == datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert parse("retain VIPs, send by Dec 1st").send_by is True
    assert parse("email at-risk customers in 3 days").send_at == datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_clock_default_is_cdp_now(monkeypatch):
    monkeypatch.setenv("CDP_NOW", "2027-01-10T08:00:00Z")
    brief = parse_objective("retain VIPs with a Christmas offer")
    assert brief.occasion_date is not None and brief.occasion_date.isoformat() == "2027-12-25"


def test_segment_thresholds_follow_the_vocabulary(monkeypatch):
    """Contradictions use the configured meanings: with active = 120 days, active and lapsed overlap."""
    assert parse("active lapsed customers").question
    monkeypatch.setenv("CDP_SEGMENT_ACTIVE_DAYS", "120")
    assert parse("active lapsed customers").question is None


def test_unmapped_words_are_reported_not_guessed():
    brief = parse("launch the German collection to VIPs")
    assert brief.countries == [] and brief.languages == []
    assert any("German" in u.phrase for u in brief.unmapped)
    brief = parse("upsell English customers")
    assert brief.question and "country or a language" in brief.question


def test_an_exclusion_nothing_maps_is_asked():
    brief = parse("win back lapsed customers, except the grumpy ones")
    assert brief.question and "'except the grumpy ones'" in brief.question
    assert parse("win back lapsed customers, except VIPs").question is None


def test_describe_is_one_line():
    text = parse("Win back lapsed premium customers in Germany by email with a $5,000 budget").describe()
    assert "\n" not in text and "win-back" in text and "DE" in text and "5000 USD" in text
