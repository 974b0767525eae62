"""The copy a customer reads: in their language, with the campaign's exact offer, and clean whatever
personal fields are missing at send time. Every template of every language is rendered with every
optional field empty and with all filled; the compliance review and the gate's reading of the copy
(`copy_offers`) are checked on the same variants."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp import clock
from cdp.content import PERSONALIZATION_FIELDS, VariantSpec, copy_offers, render, save_variants
from cdp.tools_campaign import review_campaign_content
from llm.scripted.copy import compose_variants, languages_written, templates, write
from tests.unit.test_gate import NOW, add_campaign, add_profile, add_segment

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "ja")
GOALS = ("retention", "win-back", "welcome", "re-engagement", "cross-sell", "upsell", "launch", None)
OFFERS: tuple[dict | None, ...] = (
    None,
    {"kind": "discount", "value": 15, "unit": "percent", "category": None},
    {"kind": "discount", "value": 20, "unit": "percent", "category": "shoes"},
    {"kind": "discount", "value": 10, "unit": "EUR", "category": None},
    {"kind": "discount", "value": 10, "unit": "USD", "category": "books"},
    {"kind": "discount", "value": 1000, "unit": "JPY", "category": None},
    {"kind": "discount", "value": None, "unit": None, "category": None},
    {"kind": "free_shipping", "value": None, "unit": None, "category": None},
    {"kind": "free_shipping", "value": 50, "unit": "USD", "category": None},  # a threshold, not money off
    {"kind": "gift", "value": 20, "unit": "EUR", "category": None},
    {"kind": "bundle", "value": 2, "unit": "items", "category": "toys"},
    {"kind": "bundle", "value": None, "unit": None, "category": None},
    {"kind": "gift", "value": None, "unit": None, "category": None},
    {"kind": "points", "value": 500, "unit": "points", "category": None},
    {"kind": "points", "value": None, "unit": None, "category": None},
    {"kind": "welcome", "value": 10, "unit": "percent", "category": None},
    *({"kind": k, "value": None, "unit": None, "category": None} for k in (
        "welcome", "winback", "last_chance", "early_access", "loyalty_reward", "flash_sale",
        "exclusive", "birthday", "referral",
    )),
)  # fmt: skip
OCCASIONS = (None, "diwali", *templates()["en"]["occasions"])
#: Occasions that are names: capitalised in every language that capitalises (Japanese has no case).
PROPER_OCCASIONS = (
    "black friday", "cyber monday", "christmas", "new year", "valentines day", "mothers day",
    "fathers day", "halloween", "easter", "thanksgiving", "singles day", "diwali",
)  # fmt: skip
#: Words only that language's copy uses; each of its messages has at least one.
MARKERS = {
    "en": r"\b(you|your|our)\b",
    "de": r"\b(dich|du|dir|deine|deiner|uns|unsere|für)\b",
    "fr": r"\b(vous|votre|nos|notre|pour)\b",
    "es": r"\b(ti|tu|nos|nuestra|nuestros|para|hay|ha)\b",
    "it": r"\b(te|ti|tuo|noi|nostra|nostri|per|ci)\b",
    "nl": r"\b(je|jou|ons|onze|voor|er|het)\b",
    "pt": r"\b(você|seu|nossa|nossos|para|gente|nos)\b",
    "ja": r"[\u3040-\u30ff]",
}
DANGLING = re.compile(r"(?i)\b(on|in|for|at|auf|für|zu|sur|pour|en|para|su|per|op|voor|em|de)\s*[.,;:!?。]")
FORBIDDEN = ("{", "}", "[[", "]]", "<", ">", " ,", " .", ",.", "?,", "!,", ",,", "  ", "、。", "。。", ":.")


def clean(text: str) -> list[str]:
    """What is wrong with a rendered message, as readable complaints (empty when it reads right)."""
    problems = [f"contains {bad!r}" for bad in FORBIDDEN if bad in text]
    if re.search(r"\[[a-z]{2}\]", text):
        problems.append("carries a language tag")
    if DANGLING.search(text):
        problems.append(f"dangling preposition: {DANGLING.search(text).group(0)!r}")  # type: ignore[union-attr]
    if not text or text != text.strip():
        problems.append("empty or padded")
    elif text[0] in ",;:.!?、。" or text[-1] in ",;:、":
        problems.append("starts or ends with a separator")
    elif text[0].isalpha() and text[0].isascii() and not text[0].isupper():
        problems.append("starts in lower case")
    return problems


def every_copy():
    """(lang, goal, occasion, offer, subject, body) for every template of every language."""
    for lang in LANGUAGES:
        for (goal, offer), occasion in itertools.product(zip(itertools.cycle(GOALS), OFFERS), OCCASIONS):
            copy = write(lang, goal=goal, occasion=occasion, offer=offer)
            yield lang, goal, occasion, offer, copy["subject"], copy["body"]
        for goal, offer in itertools.product(GOALS, OFFERS):
            copy = write(lang, goal=goal, occasion="christmas", offer=offer)
            yield lang, goal, "christmas", offer, copy["subject"], copy["body"]


ALL = list(every_copy())
EMPTY: dict[str, str] = {}
FILLED = {"first_name": "Anna", "favorite_category": "shoes", "city": "Paris", "offer": "x", "discount": "5"}


def test_every_language_the_seed_produces_has_its_own_copy():
    assert set(LANGUAGES) <= set(languages_written())
    for lang in LANGUAGES:
        table = templates()[lang]
        assert set(table["hooks"]) == {g or "none" for g in GOALS}
        assert set(table["occasions"]) == set(templates()["en"]["occasions"])
        assert set(table["offers"]) == set(templates()["en"]["offers"])


@pytest.mark.parametrize("values", [EMPTY, FILLED], ids=["all-empty", "all-filled"])
def test_every_template_renders_clean(values):
    bad = []
    for lang, goal, occasion, offer, subject, body in ALL:
        VariantSpec(variant_id="v", subject=subject, body=body)  # the placeholders validate
        for part in (render(subject, values), render(body, values)):
            if problems := clean(part):
                bad.append((lang, goal, occasion, offer and offer["kind"], part, problems))
    assert bad == []


def test_an_empty_name_and_category_leave_no_trace():
    subject = write("en", goal="upsell", occasion="black friday", offer=OFFERS[1])["subject"]
    body = write("en", goal="win-back", occasion=None, offer=None)["body"]
    assert render(subject, EMPTY) == "15% off this Black Friday"
    assert render(subject, FILLED) == "15% off this Black Friday, Anna"
    assert render(body, EMPTY) == "It's been too long."
    assert render(body, FILLED) == "It's been too long, Anna. Picked for you: shoes."


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ALL),
    st.sets(st.sampled_from(PERSONALIZATION_FIELDS)),
)
def test_any_subset_of_empty_fields_reads_right(copy, empty):
    lang, _, _, _, subject, body = copy
    values = {k: v for k, v in FILLED.items() if k not in empty}
    for part in (subject, body):
        text = render(part, values)
        assert clean(text) == [], (lang, part, text)
        for field in ("first_name", "favorite_category"):
            if field in values and "{" + field + "}" in part:
                assert values[field] in text


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("Ready for more?, {first_name}", {}, "Ready for more?"),
        ("Something picked for you on {favorite_category}.", {}, "Something picked for you."),
        ("Hi {first_name}, 20% off {favorite_category}!", {}, "Hi, 20% off!"),
        ("{first_name}, your offer is here.", {}, "Your offer is here."),
        ("From {city}, with love", {}, "With love"),
        ("A gift for {first_name} in {city}.", {"first_name": "Ann"}, "A gift for Ann."),
        ("Wir haben etwas für dich auf {favorite_category}.", {}, "Wir haben etwas für dich."),
        ("Hi[[ {first_name}]], welcome.", {}, "Hi, welcome."),
        ("[[{first_name}様、]]ようこそ。", {}, "ようこそ。"),
        # Filled fields: the text reads exactly as written, odd spacing included.
        ("Ready  for more?, {first_name}", {"first_name": "Ann"}, "Ready  for more?, Ann"),
        ("Hi {first_name} , on {city} .", {"first_name": "A", "city": "B"}, "Hi A , on B ."),
    ],
)
def test_render_tidies_only_around_empty_fields(template, values, expected):
    assert render(template, values) == expected


@pytest.mark.parametrize("bad", ["Hi [[{first_name}", "Hi {first_name}]]", "[[a [[{city}]] b]]", "{name}"])
def test_malformed_templates_are_refused(bad):
    with pytest.raises(ValueError):
        VariantSpec(variant_id="v", subject="s", body=bad)


@pytest.mark.parametrize("lang", [x for x in LANGUAGES if x != "en"])
def test_each_language_is_written_in_that_language(lang):
    for goal, offer, occasion in itertools.product(GOALS, OFFERS, (None, "black friday")):
        english = write("en", goal=goal, occasion=occasion, offer=offer)
        copy = write(lang, goal=goal, occasion=occasion, offer=offer)
        for part in ("subject", "body"):
            text = render(copy[part], FILLED)
            assert text != render(english[part], FILLED)
        assert re.search(MARKERS[lang], render(copy["body"], FILLED).lower()), (lang, copy["body"])
        assert not re.search(MARKERS["en"], render(copy["body"], FILLED).lower()), (lang, copy["body"])


def test_occasions_are_capitalised_in_every_language():
    for lang, occasion in itertools.product(LANGUAGES, PROPER_OCCASIONS):
        body = render(write(lang, goal=None, occasion=occasion, offer=OFFERS[7])["body"], EMPTY)
        if lang == "ja":
            continue
        phrase = templates()[lang]["occasions"].get(occasion) or f"{occasion.title()}"
        assert phrase in body, (lang, occasion, body)
        assert any(word[0].isupper() for word in phrase.split()[1:] or phrase.split()), phrase
    assert "this Black Friday" in write("en", goal=None, occasion="black friday", offer=None)["body"]
    assert "zu Weihnachten" in write("de", goal=None, occasion="Christmas", offer=OFFERS[1])["subject"]
    assert "this Diwali" in write("en", goal=None, occasion="diwali", offer=OFFERS[1])["subject"]


def promised(offer: dict | None) -> set[tuple[str, float | None]]:
    """What the gate must read from the copy: exactly the plan's offer."""
    if not offer:
        return set()
    pairs: set[tuple[str, float | None]] = set()
    if offer["kind"] in ("free_shipping", "bundle", "gift", "points"):
        pass  # their value is a threshold, a count or points: no discount
    elif offer["unit"] == "percent":
        pairs.add(("discount", float(offer["value"])))
    elif offer["kind"] == "discount" or offer["unit"] not in (None, "points", "items"):
        pairs.add(("discount", None))
    if offer["kind"] != "discount":
        pairs.add((offer["kind"], None))
    return pairs


def test_the_copy_promises_exactly_the_plans_offer_in_every_language():
    wrong = [
        (lang, goal, occasion, offer, subject, body)
        for lang, goal, occasion, offer, subject, body in ALL
        if set(copy_offers(render(subject, FILLED), render(body, FILLED))) != promised(offer)
        or set(copy_offers(subject, body)) != promised(offer)
    ]
    assert wrong == []
    kinds = {pair[0] for offer in OFFERS for pair in promised(offer)}
    assert len(kinds) == 14  # every offer kind of the vocabulary is covered


def test_a_language_without_copy_gets_the_default_language_without_a_tag():
    variants = compose_variants(
        goal="win-back", occasion="black friday", offer=OFFERS[1], languages=["pl", "sv", "de"], categories=[]
    )
    assert [v["variant_id"] for v in variants] == ["default", "lang-de"]
    assert not any(re.search(r"\[[a-z]{2}\]", v["subject"] + v["body"]) for v in variants)
    german_default = compose_variants(
        goal="win-back", occasion=None, offer=None, languages=[], categories=["shoes"], default_language="de"
    )
    assert german_default[0]["subject"].startswith("Lange nicht gesehen")
    assert "Für dich ausgewählt: Schuhe." in german_default[1]["body"]
    assert german_default[1]["category"] == "shoes"


@pytest.fixture
def audience(cdp_db):
    """One customer per language with copy, in one segment: the review checks every language."""
    clock.set_clock(cdp_db, NOW)
    for lang in LANGUAGES:
        add_profile(cdp_db, f"p-{lang}", language=lang)
    add_segment(cdp_db, "everyone", [f"p-{lang}" for lang in LANGUAGES])
    return cdp_db


@pytest.mark.parametrize("offer", [o for o in OFFERS if o], ids=lambda o: f"{o['kind']}-{o['unit']}")
def test_the_compliance_review_passes_the_localised_variants(audience, offer):
    pct = offer["value"] if offer["unit"] == "percent" else None
    add_campaign(audience, "c", segment_id="everyone", offer_kind=offer["kind"], discount_pct=pct)
    variants = compose_variants(
        goal="retention",
        occasion="christmas",
        offer=offer,
        languages=list(LANGUAGES),
        categories=["shoes", "toys"],
    )
    save_variants(audience, "c", [VariantSpec.model_validate(v) for v in variants])
    review = review_campaign_content(audience, "c")
    assert review["variants_checked"] == len(LANGUAGES) + 3
    assert review["rejected"] == []
    stored = audience.execute(
        "SELECT DISTINCT kind, discount_pct FROM campaign_offer_kinds WHERE campaign_id = 'c'"
    ).fetchall()
    assert set(stored) == promised(offer)
