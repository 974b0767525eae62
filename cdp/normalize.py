"""One stored spelling per value: countries ISO 3166 alpha-2, languages ISO 639-1, phones E.164, emails.

"UK", "United Kingdom" and "GB" are one country, "+44 20 7946 0958" and "020 7946 0958" (region GB)
one phone, so filters, caps and identity resolution see one value. Countries and languages are read
with the tables of `cdp.names`, which the objective readers use too: a word a file accepts means the
same country in an objective. An unknown value raises ValueError naming it, with the nearest known
spelling when one is close, so an importer can report the line. A common value costs one dict lookup.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence

import phonenumbers

from cdp.names import (
    LanguageTables,
    country_display,
    country_tables,
    fold,
    language_tables,
    three_letter_only,
)

#: Longest country or language value accepted (the longest ISO name has 44 characters).
MAX_NAME_CHARS = 100
#: How near (difflib ratio) a known name must be to be suggested for a typo.
SUGGEST_CUTOFF = 0.75

# --------------------------------------------------------------------------------------- text


def compatible(value: str) -> str:
    """`value` in Unicode compatibility form (NFKC), each decimal digit of any script as its ASCII
    digit, stripped: a full-width `＋１５５５…` or Arabic-Indic digits are the number they stand for."""
    text = unicodedata.normalize("NFKC", value)
    if not text.isascii():
        text = "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text)
    return text.strip()


def mask(text: str) -> str:
    """Enough of an identifier to find it in a file, not enough to expose it."""
    return (text[:2] + "***") if len(text) > 2 else "***"


def suggest(value: str, choices: Iterable[str], cutoff: float = SUGGEST_CUTOFF) -> str | None:
    """The choice nearest to `value`, compared folded ("Germny" -> "Germany"), or None if none is near."""
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(fold(choice), choice)
    best = _nearest(fold(value), tuple(folded), cutoff)
    return folded[best] if best else None


def _nearest(key: str, keys: Sequence[str], cutoff: float = SUGGEST_CUTOFF) -> str | None:
    """The nearest of `keys` (already folded) to `key`, by difflib's ratio."""
    best = difflib.get_close_matches(key, keys, n=1, cutoff=cutoff)
    return best[0] if best else None


def _unknown(what: str, value: str, suggestion: str | None, usage: str) -> str:
    shown = value if len(value) <= 60 else value[:59] + "…"
    if suggestion:
        return f"unknown {what} {shown!r}; did you mean {suggestion}?"
    return f"unknown {what} {shown!r}; {usage}"


def _checked_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a {what} must be text, got {type(value).__name__}")
    if len(value) > MAX_NAME_CHARS:
        raise ValueError(f"a {what} is at most {MAX_NAME_CHARS} characters, got {len(value):,}")
    return value


# ----------------------------------------------------------------------------------- countries


def country_code(value: str) -> str:
    """The ISO 3166 alpha-2 code a country value means, or ValueError with a suggestion.

    Codes in any case ("de", "DEU"), the aliases planners read ("UK", "USA", "UAE"), English and
    local names ("Germany", "Deutschland", "Allemagne", "U.S.A.", "Viet Nam"), with case, accents and
    punctuation ignored.
    """
    code = country_tables().exact.get(value)
    return code if code is not None else _country(_checked_text(value, "country"))


@functools.lru_cache(maxsize=4096)  # a file repeats its spellings: each is worked out once
def _country(value: str) -> str:
    table = country_tables()
    key = fold(value)
    if key not in table.names:
        key = key.removeprefix("the ")
    words = key.split()
    compact = "".join(words) if all(len(w) == 1 for w in words) else key
    # A code is written in ASCII letters: "ÄÖ" folds to "ao" but is not Angola's code.
    code = table.codes.get(compact) if len(compact) <= 3 and value.isascii() else None
    if code is None and (entry := table.names.get(key)) is not None:
        code = entry.code
    if code is not None:
        return code
    near = _country_suggestion(key)
    shown = f"{near} ({country_display(near)})" if near else None
    raise ValueError(_unknown("country", value, shown, "use an ISO 3166 code such as 'DE' or a country name"))


@functools.lru_cache(maxsize=1024)
def _country_suggestion(key: str) -> str | None:
    table = country_tables()
    if key in table.hints:  # "German", "England", "Berlin": the country they are in
        return table.hints[key]
    if len(key) < 4:  # two or three letters are near dozens of codes
        return None
    near = _nearest(key, table.english)
    return table.names[near].code if near else None


# ----------------------------------------------------------------------------------- languages


_TAG = re.compile(r"([A-Za-z]{2,3})[-_]([A-Za-z]{2})")


def language_code(value: str) -> str:
    """The language a value means, as the CDP stores it: ISO 639-1 `xx`, or `xx-YY` with a country.

    Codes in any case ("EN", "eng", "ger"), English names and each language's own ("English",
    "Deutsch", "français"); a region subtag is kept and normalised ("de_de" and "de-DE" are "de-DE",
    "en-UK" is "en-GB"). Scripts ("zh-Hant") and languages without a two-letter code are refused.
    """
    code = language_tables().exact.get(value)
    return code if code is not None else _language_tag(_checked_text(value, "language"))


@functools.lru_cache(maxsize=4096)
def _language_tag(value: str) -> str:
    table = language_tables()
    text = compatible(value)
    tag = _TAG.fullmatch(text)
    if tag is None:
        return _language(text, value, table)
    base = _language(tag[1], value, table)
    try:
        region = country_code(tag[2])
    except ValueError:
        raise ValueError(
            f"unknown country {tag[2]!r} in language {value!r}; write a language and an ISO 3166 "
            "country such as 'pt-BR', or the language alone"
        ) from None
    return f"{base}-{region}"


def _language(text: str, value: str, table: LanguageTables) -> str:
    key = fold(text)
    code = table.codes.get(key) if len(key) <= 3 else None
    if code is None:
        code = table.names.get(key)
    if code is not None:
        return code
    found = _iso_only(key)
    base = re.match(r"([a-z]{2,3})[-_ ]", text.lower())
    if found is None and base is not None and base[1] in table.codes:  # "zh-Hant", "es-419"
        code = table.codes[base[1]]
        raise ValueError(
            f"language {value!r} has a subtag the CDP does not store (it keeps a language and an "
            f"optional ISO 3166 country, such as 'pt-BR'); did you mean {code} ({table.display[code]})?"
        )
    if found:
        raise ValueError(
            f"language {value!r} ({found}) has no ISO 639-1 code; the CDP stores two-letter codes "
            "such as 'en' or 'pt-BR'"
        )
    near = _language_suggestion(key)
    shown = f"{near} ({table.display[near]})" if near else None
    raise ValueError(
        _unknown(
            "language", value, shown, "use an ISO 639-1 code such as 'en' or 'pt-BR', or a language name"
        )
    )


def _iso_only(key: str) -> str | None:
    """The ISO 639-3 code of a language that has no two-letter code ("Filipino" -> fil)."""
    return three_letter_only().get(key)


@functools.lru_cache(maxsize=1024)
def _language_suggestion(key: str) -> str | None:
    table = language_tables()
    if len(key) < 4:
        return None
    near = _nearest(key, table.english)
    return table.names[near] if near else None


# ------------------------------------------------------------------------------ phones and emails

#: What a written phone number may hold besides digits: spaces, dashes, brackets, dots, slashes and
#: one leading "+". Letters are refused: a vanity number ("1-800-FLOWERS") or an extension ("ext
#: 12") would become another person's number.
_PHONE_TEXT = re.compile(r"\+?[\d\s\-().\/]+")
_PHONE_JUNK = re.compile(r"[\s\-().\/]")
_POSSIBLE = phonenumbers.ValidationResult
_WHY_NOT = {
    _POSSIBLE.INVALID_COUNTRY_CODE: "no country has that calling code",
    _POSSIBLE.TOO_SHORT: "too short",
    _POSSIBLE.TOO_LONG: "too long",
    _POSSIBLE.INVALID_LENGTH: "a length no number there has",
    _POSSIBLE.IS_POSSIBLE_LOCAL_ONLY: "a local number: add the area code",
}
_UNPARSED = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "no country has that calling code",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def phone_e164(value: str, region: str | None) -> str:
    """The number in E.164 ("+442079460958"), or ValueError saying what is wrong (the number masked).

    A number without a country code is read in `region` (an ISO 3166 country, the file's default);
    without one it is refused, since "020 7946 0958" is a different line in every country. A leading
    "00" is the international prefix. The number must be possible (a length the country's numbering
    plan has, per libphonenumber); validity against the currently assigned ranges is not required,
    since those change every month and a number a customer gave stays theirs.
    """
    if not isinstance(value, str):
        raise ValueError(f"a phone must be text, got {type(value).__name__}")
    text = compatible(value)
    if not text:
        raise ValueError("phone is empty")
    if not _PHONE_TEXT.fullmatch(text):
        raise ValueError(f"not a phone number: {mask(text)}")
    compact = _PHONE_JUNK.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+") and (written := _as_written(compact[1:])) is not None:
        return written
    if not compact.startswith("+"):
        if not region:
            raise ValueError(
                f"phone number {mask(compact)} has no country code: write it as +<country code> "
                "<number>, or pass a default region (the ISO country the file's numbers are in)"
            )
        region = country_code(region)
    try:
        number = phonenumbers.parse(compact, None if compact.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        why = _UNPARSED.get(exc.error_type)
        if why is None:
            raise ValueError(f"not a phone number: {mask(compact)}") from None
        raise ValueError(f"not a possible phone number ({why}): {mask(compact)}") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != _POSSIBLE.IS_POSSIBLE:
        raise ValueError(
            f"not a possible phone number ({_WHY_NOT.get(reason, 'impossible')}): {mask(compact)}"
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if _as_written(e164[1:]) is None and _reparsed(e164) != e164:  # "+49 0000 00": zeros all the way
        raise ValueError(f"not a phone number (its digits read as another number): {mask(compact)}")
    return e164


def _reparsed(e164: str) -> str | None:
    """The E.164 form of `e164` read again: the stored form must read as itself, or a lookup of it
    would find another number."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    possible = phonenumbers.is_possible_number_with_reason(number) == _POSSIBLE.IS_POSSIBLE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if possible else None


def _as_written(digits: str) -> str | None:
    """`+digits` when it is a possible number that libphonenumber would give back unchanged, else
    None (the text is then parsed).

    Most files already hold E.164, and parsing is nine tenths of a phone's cost. The number comes
    back unchanged unless the national part starts with what a parse strips: a zero (a trunk prefix,
    or Italy's significant zero) or the country's national prefix for parsing ("8" in Russia). That
    the two paths agree is a property the tests check on every region's numbers.
    """
    for size in (1, 2, 3):
        code = int(digits[:size]) if digits[:1] not in ("", "0") and digits[:size].isdigit() else 0
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not (national.isascii() and national.isdigit()) or not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    main = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, main)
    prefix = metadata.national_prefix_for_parsing if metadata is not None else None
    if metadata is None or (prefix and re.match(prefix, national)):
        return None
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    possible = phonenumbers.is_possible_number_with_reason(number) == _POSSIBLE.IS_POSSIBLE
    return "+" + digits if possible else None


#: The longest address SMTP carries (RFC 5321: a 254-character path).
MAX_EMAIL_CHARS = 254
#: One "@", text before it, and a domain of non-empty labels with at least one dot; no spaces.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def email_address(value: str) -> str:
    """The address trimmed and lower-cased, or ValueError (masked) when it is not one.

    A basic check, not RFC 5322: one "@" with text on both sides, no spaces, and a domain with a dot
    between non-empty labels. Delivery, not syntax, tells whether an address exists.
    """
    if not isinstance(value, str):
        raise ValueError(f"an email must be text, got {type(value).__name__}")
    text = compatible(value).lower()
    if not text:
        raise ValueError("email is empty")
    if len(text) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(text):
        raise ValueError(f"not an email address: {mask(text)}")
    return text


__all__ = ["compatible", "country_code", "email_address", "language_code", "mask", "phone_e164", "suggest"]
