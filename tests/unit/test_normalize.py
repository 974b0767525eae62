"""Normalised values: real-world spellings of countries, languages, phones and emails; refusals that
name the value with a suggestion; properties over every ISO code and every region's phone numbers;
files imported with those spellings, checked in SQL; and one country for "UK" in a file and in an
objective."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import phonenumbers
import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp import places
from cdp.errors import ImportRowError
from cdp.filters import compile_filter
from cdp.identity import normalize_identifier
from cdp.importer import import_file
from cdp.ingest import IdentityIn, ProfileIn, row_context
from cdp.names import (
    MAX_NAME_WORDS,
    country_display,
    country_mentions,
    country_phrases,
    fold,
    objective_country,
)
from cdp.normalize import _as_written, country_code, email_address, language_code, phone_e164, suggest
from cdp.profile import find_profile_id
from cdp.terms import read_terms
from graph.understanding import objective_facts
from llm.scripted.reader import read

# --------------------------------------------------------------------------------------- countries

COUNTRIES = [
    ("UK", "GB"),
    ("uk", "GB"),
    ("U.K.", "GB"),
    ("Great Britain", "GB"),
    ("United Kingdom of Great Britain and Northern Ireland", "GB"),
    ("gb", "GB"),
    ("GBR", "GB"),
    ("Deutschland", "DE"),
    ("Allemagne", "DE"),
    ("Alemania", "DE"),
    ("germany", "DE"),
    ("  Germany ", "DE"),
    ("DEU", "DE"),
    ("de", "DE"),
    ("United States", "US"),
    ("united states", "US"),
    ("U.S.A.", "US"),
    ("U. S. A.", "US"),
    ("the U.S.", "US"),
    ("United States of America", "US"),
    ("America", "US"),
    ("Estados Unidos", "US"),
    ("Viet Nam", "VN"),
    ("Vietnam", "VN"),
    ("Côte d'Ivoire", "CI"),
    ("Cote d’Ivoire", "CI"),
    ("COTE D'IVOIRE", "CI"),
    ("Ivory Coast", "CI"),
    ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"),
    ("South Korea", "KR"),
    ("North Korea", "KP"),
    ("St. Lucia", "LC"),
    ("Saint Kitts & Nevis", "KN"),
    ("Bosnia-Herzegovina", "BA"),
    ("Türkiye", "TR"),
    ("Turkey", "TR"),
    ("Russia", "RU"),
    ("Russian Federation", "RU"),
    ("Czech Republic", "CZ"),
    ("Holland", "NL"),
    ("The Netherlands", "NL"),
    ("Nederland", "NL"),
    ("España", "ES"),
    ("Espana", "ES"),
    ("Österreich", "AT"),
    ("Schweiz", "CH"),
    ("Suisse", "CH"),
    ("日本", "JP"),
    ("Brasil", "BR"),
    ("UAE", "AE"),
    ("United Arab Emirates", "AE"),
    ("Holy See", "VA"),
    ("Vatican City", "VA"),
    ("Kosovo", "XK"),
    ("xk", "XK"),
    ("Bolivia", "BO"),
    ("Iran", "IR"),
    ("Suède", "SE"),
    ("Chili", "CL"),
]


@pytest.mark.parametrize(("value", "code"), COUNTRIES)
def test_country_spellings(value, code):
    assert country_code(value) == code


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("Germny", "DE (Germany)"),
        ("Frnace", "FR (France)"),
        ("Untied States", "US (the United States)"),
        ("England", "GB (the United Kingdom)"),  # a part of a country: the country it is in
        ("Bavaria", "DE (Germany)"),
        ("German", "DE (Germany)"),  # an adjective
        ("Berlin", "DE (Germany)"),  # a city
        ("Atlantis", None),
        ("XX", None),
        ("EU", None),
        ("ZZZ", None),
        ("Čad", None),  # too short to be read as a translation, and near too many codes
    ],
)
def test_unknown_countries_are_refused_with_a_suggestion(value, suggestion):
    with pytest.raises(ValueError) as err:
        country_code(value)
    message = str(err.value)
    assert message.startswith(f"unknown country {value!r}")
    if suggestion:
        assert message.endswith(f"did you mean {suggestion}?")
    else:
        assert "did you mean" not in message and "ISO 3166" in message


@pytest.mark.parametrize("value", ["x" * 101, "", "....", 42, None])
def test_hostile_country_values_are_refused_plainly(value):
    with pytest.raises(ValueError):
        country_code(value)


def test_every_iso_code_and_name_reads_as_itself():
    for country in pycountry.countries:
        code = country.alpha_2
        spellings = [code, code.lower(), country.alpha_3, country.alpha_3.lower(), country.name]
        spellings += [getattr(country, f) for f in ("official_name", "common_name") if hasattr(country, f)]
        for spelling in spellings:
            assert country_code(spelling) == code, spelling
        assert country_display(code) != code and not country_display(code).endswith(" of")
    shown = {c: country_display(c) for c in ("GB", "KR", "CD", "IR", "VG", "XK")}
    assert shown == {
        "GB": "the United Kingdom",
        "KR": "South Korea",
        "CD": "the Democratic Republic of the Congo",
        "IR": "Iran",
        "VG": "British Virgin Islands",
        "XK": "Kosovo",
    }


@st.composite
def written_countries(draw):
    """An ISO name as a person might type it: any case, spaces and punctuation around."""
    country = draw(st.sampled_from(list(pycountry.countries)))
    name = draw(st.sampled_from([country.name, country.alpha_2, country.alpha_3]))
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)
    return country.alpha_2, draw(st.sampled_from(["", " ", "  "])) + cased + draw(
        st.sampled_from(["", " ", "."])
    )


@settings(max_examples=150, deadline=None)
@given(written_countries())
def test_case_and_surrounding_punctuation_never_change_the_country(case):
    code, written = case
    assert country_code(written) == code
    assert country_code(country_code(written)) == code  # idempotent


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_country_code_or_a_value_error(text):
    try:
        code = country_code(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert country_code(code) == code and len(code) == 2 and code.isupper()


def test_suggest_compares_folded_text():
    assert suggest("Germny", ["France", "Germany", "Spain"]) == "Germany"
    assert suggest("COTE DIVOIR", ["Côte d'Ivoire", "Chile"]) == "Côte d'Ivoire"
    assert suggest("Atlantis", ["France", "Germany"]) is None
    assert fold("Côte d’Ivoire") == fold("cote d'ivoire") == "cote divoire"
    assert fold("St. Lucia") == "saint lucia" and fold("Trinidad & Tobago") == "trinidad and tobago"


# --------------------------------------------------------------------------------------- languages

LANGUAGES = [
    ("en", "en"),
    ("EN", "en"),
    ("eng", "en"),
    ("English", "en"),
    ("Deutsch", "de"),
    ("ger", "de"),
    ("deu", "de"),
    ("de-DE", "de-DE"),
    ("de_de", "de-DE"),
    ("DE-de", "de-DE"),
    ("en-UK", "en-GB"),
    ("pt_BR", "pt-BR"),
    ("français", "fr"),
    ("Francais", "fr"),
    ("Español", "es"),
    ("Greek", "el"),
    ("Modern Greek", "el"),
    ("日本語", "ja"),
    ("Norwegian Bokmål", "nb"),
    ("iw", "he"),
    ("allemand", "de"),
    ("Mandarin", "zh"),
]


@pytest.mark.parametrize(("value", "code"), LANGUAGES)
def test_language_spellings(value, code):
    assert language_code(value) == code


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("Englsh", "did you mean en (English)?"),
        ("Germn", "did you mean de (German)?"),
        ("Filipino", "(fil) has no ISO 639-1 code"),
        ("Klingon", "(tlh) has no ISO 639-1 code"),
        ("zh-Hant", "did you mean zh (Chinese)?"),
        ("es-419", "did you mean es (Spanish)?"),
        ("en-XX", "unknown country 'XX' in language 'en-XX'"),
        ("xx", "unknown language 'xx'"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_unknown_languages_are_refused_with_a_suggestion(value, says):
    with pytest.raises(ValueError) as err:
        language_code(value)
    assert says in str(err.value)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([lang for lang in pycountry.languages if hasattr(lang, "alpha_2")]),
    st.sampled_from(list(pycountry.countries)),
    st.sampled_from(["-", "_"]),
    st.booleans(),
)
def test_language_and_region_tags_are_kept_normalised(lang, country, sep, upper):
    base = lang.alpha_2.upper() if upper else lang.alpha_2
    assert language_code(base) == lang.alpha_2
    assert language_code(lang.alpha_3) == lang.alpha_2
    tag = f"{base}{sep}{country.alpha_2.lower() if upper else country.alpha_2}"
    stored = language_code(tag)
    assert stored == f"{lang.alpha_2}-{country.alpha_2}"
    assert language_code(stored) == stored  # idempotent


# ------------------------------------------------------------------------------------------ phones

PHONES = [
    ("+44 20 7946 0958", None, "+442079460958"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("020 7946 0958", "UK", "+442079460958"),  # the region is read as a country value
    ("0044 20 7946 0958", None, "+442079460958"),
    ("+44 (0)20 7946 0958", None, "+442079460958"),  # the trunk zero in brackets
    ("(415) 555-2671", "US", "+14155552671"),
    ("+1 (415) 555-2671", "DE", "+14155552671"),  # a country code wins over the region
    ("415.555.2671", "US", "+14155552671"),
    ("030 1234567", "DE", "+49301234567"),
    ("+39 06 1234 5678", None, "+390612345678"),  # Italy keeps its leading zero
    ("06 1234 5678", "IT", "+390612345678"),
    ("8 (912) 345-67-89", "RU", "+79123456789"),
    (
        "+\uff11 \uff14\uff11\uff15 \uff15\uff15\uff15 \uff12\uff16\uff17\uff11",
        None,
        "+14155552671",
    ),  # full width
    ("+15550000001", None, "+15550000001"),  # the seed's fictional numbers are possible numbers
]


@pytest.mark.parametrize(("value", "region", "e164"), PHONES)
def test_phone_spellings(value, region, e164):
    assert phone_e164(value, region) == e164
    assert phone_e164(e164, None) == e164


@pytest.mark.parametrize(
    ("value", "region", "says"),
    [
        ("020 7946 0958", None, "pass a default region"),
        ("+1555", None, "too short"),
        ("+44 20 7946 0958 0958 0958", None, "too long"),
        ("+999 1234567", None, "no country has that calling code"),
        ("1-800-FLOWERS", "US", "not a phone number"),  # letters would dial another number
        ("+44 20 7946 0958 ext 12", None, "not a phone number"),
        ("call me", None, "not a phone number"),
        ("++44 20 7946 0958", None, "not a phone number"),
        ("", None, "empty"),
        ("020 7946 0958", "Atlantis", "unknown country 'Atlantis'"),
    ],
)
def test_impossible_phones_are_refused_without_showing_the_number(value, region, says):
    with pytest.raises(ValueError) as err:
        phone_e164(value, region)
    assert says in str(err.value)
    assert "7946" not in str(err.value) and "0958" not in str(err.value)


def _example_numbers():
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield region, number


def test_every_regions_numbers_in_every_layout_are_one_e164():
    """National layout with the region, international without: the library's own E.164, which
    parses back to itself. (AC, TA and XK aside: no ISO 3166 country for the region; XK is read.)"""
    seen = 0
    for region, number in _example_numbers():
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        assert phone_e164(international, None) == e164
        assert phone_e164(e164, None) == e164
        back = phonenumbers.parse(e164, None)
        assert phonenumbers.format_number(back, phonenumbers.PhoneNumberFormat.E164) == e164
        if region not in ("AC", "TA"):
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            assert phone_e164(national, region) == e164, (region, national)
        seen += 1
    assert seen > 400


@settings(max_examples=400, deadline=None)
@given(st.text("0123456789", min_size=3, max_size=17))
def test_a_number_already_in_e164_takes_the_short_path_only_when_the_library_agrees(digits):
    written = _as_written(digits)
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        assert written is None
        return
    possible = (
        phonenumbers.is_possible_number_with_reason(parsed) == phonenumbers.ValidationResult.IS_POSSIBLE
    )
    if written is not None:
        assert possible
        assert written == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    library = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    stable = phonenumbers.format_number(phonenumbers.parse(library, None), 0) == library
    try:
        e164 = phone_e164("+" + digits, None)
    except ValueError:
        assert not (possible and stable)  # refused: impossible, or its E.164 reads as another number
    else:
        assert e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        assert phone_e164(e164, None) == e164


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([n for _, n in _example_numbers()]), st.integers(0, 9), st.integers(1, 4))
def test_every_regions_prefixes_agree_with_the_library(number, digit, extra):
    """Example numbers with digits changed or added: the short path never disagrees with a parse."""
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    cc = str(number.country_code)
    for variant in (
        digits[:-1] + str(digit),
        digits + str(digit) * extra,
        cc + str(digit) + digits[len(cc) :],
    ):
        written = _as_written(variant)
        if written is None:
            continue
        parsed = phonenumbers.parse("+" + variant, None)
        assert written == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), variant


# ------------------------------------------------------------------------------------------ emails


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        ("ann\uff20example.com", "ann@example.com"),  # a full-width at sign
        ("A+Tag@Sub.Example.co.uk", "a+tag@sub.example.co.uk"),
    ],
)
def test_email_spellings(value, stored):
    assert email_address(value) == stored


@pytest.mark.parametrize(
    "value",
    [
        "not-an-email",
        "ann@example",
        "@example.com",
        "ann@",
        "ann@@example.com",
        "ann@b@example.com",
        "ann@exa mple.com",
        "ann lee@example.com",
        "ann@example..com",
        "ann@.example.com",
        "ann@example.com.",
        "ann\t@example.com",
        "",
        "a" * 250 + "@example.com",
    ],
)
def test_malformed_emails_are_refused_masked(value):
    with pytest.raises(ValueError) as err:
        email_address(value)
    assert "example.com" not in str(err.value)


@settings(max_examples=150, deadline=None)
@given(st.emails())
def test_any_address_is_stored_lower_cased_and_stays_so(address):
    stored = email_address(f" {address} ")
    assert stored == address.lower()
    assert email_address(stored) == stored


# ------------------------------------------------------------------------------ files and lookups


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_profiles_file_stores_iso_codes(cdp_db, tmp_path):
    path = _write(
        tmp_path,
        "profiles.csv",
        "profile_id,country,language\n"
        "p1,UK,English\np2,Deutschland,de_de\np3,united states,EN-us\np4,Côte d'Ivoire,français\np5,,\n",
    )
    result = import_file(cdp_db, path)
    assert (result.rows, result.written) == (5, 5)
    rows = cdp_db.execute("SELECT profile_id, country, language FROM profiles ORDER BY 1").fetchall()
    assert rows == [
        ("p1", "GB", "en"),
        ("p2", "DE", "de-DE"),
        ("p3", "US", "en-US"),
        ("p4", "CI", "fr"),
        ("p5", None, None),
    ]


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("p3,Germny,en", "country: unknown country 'Germny'; did you mean DE (Germany)?"),
        ("p3,England,en", "country: unknown country 'England'; did you mean GB (the United Kingdom)?"),
        ("p3,DE,Englsh", "language: unknown language 'Englsh'; did you mean en (English)?"),
    ],
)
def test_a_bad_country_or_language_names_its_line_and_writes_nothing(cdp_db, tmp_path, row, says):
    path = _write(tmp_path, "profiles.csv", f"profile_id,country,language\np1,UK,en\np2,FR,fr\n{row}\n")
    with pytest.raises(ImportRowError) as err:
        import_file(cdp_db, path)
    assert err.value.line == 4
    assert str(err.value) == f"line 4: {says}"
    assert cdp_db.execute("SELECT count(*) FROM profiles").fetchone()[0] == 0


def _profiles(db, *ids: str) -> None:
    db.conn.executemany(
        "INSERT INTO profiles (profile_id, signup_at, created_at) VALUES (?, ?, ?)",
        [(pid, f"2025-01-0{n + 1}T00:00:00Z", "2025-01-01T00:00:00Z") for n, pid in enumerate(ids)],
    )
    db.conn.commit()


def test_phones_in_any_layout_are_one_identifier_found_by_any_layout(cdp_db, tmp_path):
    _profiles(cdp_db, "p1", "p2", "p3")
    rows = [
        {"profile_id": "p1", "kind": "phone", "value": "+44 20 7946 0958"},
        {"profile_id": "p2", "kind": "phone", "value": "+44 (0)20 7946 0958"},
        {"profile_id": "p3", "kind": "email", "value": " Ann@Example.COM "},
        {"profile_id": "p1", "kind": "email", "value": "ann@example.com"},
    ]
    path = _write(tmp_path, "identities.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    result = import_file(cdp_db, path)
    assert result.merged == 2
    stored = cdp_db.execute("SELECT kind, value FROM identities GROUP BY kind, value ORDER BY 1").fetchall()
    assert stored == [("email", "ann@example.com"), ("phone", "+442079460958")]
    assert cdp_db.execute("SELECT profile_id FROM profiles").fetchall() == [("p1",)]
    for query in ("+44 20 7946 0958", "0044 (0)20-7946-0958", "+442079460958"):
        assert find_profile_id(cdp_db, query) == ("p1", "phone")
    assert find_profile_id(cdp_db, "ANN@example.com ") == ("p1", "email")


def test_a_national_phone_needs_the_files_default_region(cdp_db, tmp_path):
    _profiles(cdp_db, "p1")
    path = _write(tmp_path, "identities.csv", "profile_id,kind,value\np1,phone,020 7946 0958\n")
    with pytest.raises(ImportRowError) as err:
        import_file(cdp_db, path)
    assert err.value.line == 2 and "default region" in str(err.value) and "7946" not in str(err.value)
    assert cdp_db.execute("SELECT count(*) FROM identities").fetchone()[0] == 0
    context = row_context(cdp_db, region="UK")
    assert context["region"] == "GB"
    assert import_file(cdp_db, path, region="GB").written == 1
    assert cdp_db.execute("SELECT value FROM identities").fetchall() == [("+442079460958",)]
    row = {"profile_id": "p1", "kind": "phone", "value": "(415) 555-2671"}
    assert IdentityIn.model_validate(row, context={"region": "US"}).value == "+14155552671"
    assert normalize_identifier("phone", "(415) 555-2671", "US") == "+14155552671"
    with pytest.raises(ValueError, match="unknown country 'Atlantis'"):
        row_context(cdp_db, region="Atlantis")


# --------------------------------------------------------------------- the same country in objectives

NOW_TEXT = "2026-11-24T12:00:00Z"


def test_uk_in_a_file_and_uk_in_an_objective_are_the_same_customers(cdp_db, tmp_path):
    path = _write(tmp_path, "profiles.csv", "profile_id,country\nuk1,UK\nuk2,United Kingdom\nde1,Germany\n")
    import_file(cdp_db, path)
    assert ProfileIn.model_validate({"profile_id": "x", "country": "UK"}).country == "GB"
    brief = read("retain customers in the UK", terms=read_terms(cdp_db))
    assert brief.question is None, brief.question
    assert {"field": "country", "op": "eq", "value": "GB"} in brief.conditions
    compiled = compile_filter(brief.audience_filter(), cdp_db)
    chosen = cdp_db.execute(
        f"SELECT profile_id FROM customer_360 WHERE {compiled.where} ORDER BY 1", compiled.params
    ).fetchall()
    assert chosen == [("uk1",), ("uk2",)]
    facts = [f.value for f in objective_facts("retain customers in the UK") if f.kind == "country"]
    assert facts == ["GB"]


def _objective_words(key: str) -> bool:
    """Names an objective's word splitting keeps whole: scripts whose letters carry combining
    signs (Devanagari, Thai) are read in files only; an objective is English."""
    return not any(unicodedata.category(c)[0] == "M" for c in key)


def test_every_name_an_objective_may_use_means_the_files_country():
    """Vice versa: each name read as a country in an objective (capitalised when it must be) is the
    country a file gets; a guarded name in lower case is no country at all."""
    readable = 0
    for key, name in country_phrases().items():
        assert len(key.split()) <= MAX_NAME_WORDS
        if not _objective_words(key):
            continue
        written = key.title() if name.capital else key
        assert country_code(written) == name.code, key
        if name.objective:
            assert objective_country(written) == name.code, key
            readable += 1
        else:
            assert objective_country(written) is None
        if name.capital and key[:1].islower():
            assert objective_country(key) is None, key  # "chad", "jersey": words
    assert readable > 5000


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(sorted(k for k, n in country_phrases().items() if n.objective and _objective_words(k)))
)
def test_the_reader_and_the_interpretation_check_read_each_name_as_its_country(key):
    name = country_phrases()[key]
    written = key.title() if name.capital else key
    brief = read(f"retain customers in {written}")
    assert {"field": "country", "op": "eq", "value": name.code} in brief.conditions, (written, brief.question)
    facts = [f.value for f in objective_facts(f"retain customers in {written}") if f.kind == "country"]
    assert facts == [name.code]


@pytest.mark.parametrize(
    "objective",
    [
        "retain customers who bought a jersey or a turkey",
        "cross-sell chad and jordan sneakers to loyal customers",
        "Suede jackets for VIPs in Germany",  # French for Sweden, an English word here
        "Island getaways for premium customers in Spain",  # German for Iceland
        "win back lapsed customers, ready to go in my region",
        "email VIPs IN FRANCE, NO discount, AM send",  # capitals that are codes elsewhere
    ],
)
def test_ordinary_words_are_never_read_as_countries(objective):
    expected = {code for _, _, code in country_mentions(objective)}
    assert expected <= {"DE", "ES", "FR"}, expected
    brief = read(objective)
    named = {c["value"] for c in brief.conditions if c.get("field") == "country"}
    assert named <= {"DE", "ES", "FR"}, named


def test_every_word_guarded_in_places_needs_its_capital():
    for word in places.COUNTRY_NAMES_NEED_CAPITAL:
        assert objective_country(word) is None, word
    for word in places.COUNTRY_NAMES_NOT_IN_OBJECTIVES:
        assert objective_country(word.title()) is None, word
        assert country_code(word.title())  # a file still reads it
