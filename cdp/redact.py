"""Redaction of personal data in free text before any model sees it.

One function, `redact(text)`, replaces email addresses, phone numbers, payment card numbers and IBANs
with typed placeholders (`[email]`, `[phone]`, `[card]`, `[iban]`). Everything a tool returns passes
through it (see `cdp.tools_base.json_safe`), and so does every other text the orchestrator puts into a
prompt (the objective, a task's inputs, the synthesizer's facts).

What it keeps matters as much: profile ids (`p0000123`), campaign and order ids, ISO dates and
timestamps, times, prices, counts with thousands separators and percentages are not personal data and
the agents need them. Those shapes are masked before numbers are looked at, so a date or an amount can
never be mistaken for a phone number.

Patterns run on a shadow of the text in which look-alike characters are folded one for one to ASCII
(every Unicode digit by `unicodedata.digit`, no-break, narrow and figure spaces, non-breaking hyphens
and dashes, full-width letters and '@'; zero-width characters dropped), so `212\u00a0555\u00a01234`,
full-width digits or `jo\u200bhn@example.com` are found; each span maps back to the original text,
which is what gets replaced. Emails may be internationalised, quoted or on a dotless host; IBANs in
any case; cards grouped by dots or double spaces. A national phone number must be laid out like one
(a trunk zero, an area code in brackets, or North American / southern European groups), so age bands,
hour lists, splits, ranges and offer codes in an objective are not mangled; a bare ten-digit run
labelled as a count is kept.

Detection is a tight set of patterns with checks that reject look-alikes: the Luhn checksum for cards,
ISO 13616 mod-97 for IBANs, and Google's libphonenumber (`phonenumbers`) for the possible lengths of
international numbers and for the validity of bare ten-digit national numbers. `benchmarks/redaction.py`
measures its speed, recall and false positives against the alternatives.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any, Final

import phonenumbers

__all__ = ["PLACEHOLDERS", "find_pii", "redact", "redact_json_text", "redact_value"]

PLACEHOLDERS: Final = {"email": "[email]", "phone": "[phone]", "card": "[card]", "iban": "[iban]"}

# Every text is matched on its shadow (see `_shadow`): look-alike digits, spaces, dashes and '@' folded
# to ASCII, zero-width characters dropped, so the patterns below need only ASCII separators.
_EMAIL = re.compile(
    r"(?<![\w.%+-])(?:[^\W_](?:[\w.%+'-]{0,62}[\w%+-])?|\"[^\"\r\n@]{1,62}\")"
    r"@(?:(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,24}|xn--[a-z0-9-]{1,59})"
    r"|\[[0-9A-Fa-f.:]{3,45}\]|[^\W\d_][\w-]{0,62})(?![\w-])"
)
_IBAN_COUNTRIES = (
    "AD|AE|AL|AT|AZ|BA|BE|BG|BH|BI|BR|BY|CH|CR|CY|CZ|DE|DJ|DK|DO|EE|EG|ES|FI|FK|FO|FR|GB|GE|GI|"
    "GL|GR|GT|HR|HU|IE|IL|IQ|IS|IT|JO|KW|KZ|LB|LC|LI|LT|LU|LV|LY|MC|MD|ME|MK|MN|MR|MT|MU|NI|NL|"
    "NO|OM|PK|PL|PS|PT|QA|RO|RS|RU|SA|SC|SD|SE|SI|SK|SM|SO|ST|SV|TL|TN|TR|UA|VA|VG|XK|YE"
)
# Country, two check digits, then 11-30 letters or digits: unbroken or in groups of four (any case).
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])(?i:" + _IBAN_COUNTRIES + r")\d{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?:[\x20\-.]{0,2}[A-Za-z0-9]{4}){2,7}(?:[\x20\-.]{0,2}[A-Za-z0-9]{1,3})?)"
    r"(?![A-Za-z0-9])"
)
# 13-19 digits, unbroken or in groups split by up to two spaces, dashes or dots (layout checked below).
_CARD = re.compile(r"(?<![\w.,+-])\d(?:[\x20\-.]{0,2}\d){12,18}(?![\w-]|[.,]\d)")

# Shapes that are numbers but not personal data; masked before phones are looked for.
_KEEP = re.compile(
    r"""
      (?<![\d\-./])\d{4}-\d{2}-\d{2}(?:[T\x20]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)? # ISO
    | \d{4}/\d{1,2}/\d{1,2}                                                                       # 2026/11/24
    | (?<![\d./\-])\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})(?!\d|[.\-/]\d)                         # 24.11.2026
    | (?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)                                                       # 07:00
    | (?<![\d+])(?<!\d[\x20./\-])[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?(?!\d|[\x20.\-]\d)              # 1,234,567
    | (?<![\d+])(?<!\d[\x20./\-])[1-9]\d{0,2}(?:[.\x20]\d{3})+(?:,\d+)?(?!\d|[\x20.\-/]\d)        # 1.234.567
    | (?<![\d.])\d+[.,]\d{1,2}(?!\d|[.,]\d)                                                       # 1234.50
    | (?<![\d.])(?:0|[1-9]\d*)\.\d{3,}(?:[eE][+-]?\d+)?(?!\d|\.\d)                                # 0.0412345
    | \d+(?:[.,]\d+)?\x20?%                                                                       # 12 %
    """,
    re.VERBOSE,
)
_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)\d[\d\x20\-./()]{4,22}\d(?![\w])")
_NATIONAL = re.compile(r"(?<![\w+\-./])\(?\d[\d\x20\-./()]{5,20}\d(?![\w]|[\-./]\d)")
_GROUP = re.compile(r"\d+")
_NOT_DIGIT = re.compile(r"\D")
_DIGITS_DROP = str.maketrans("", "", "0123456789")
_MASK = "\x00"
# A bare ten-digit run labelled as a count or an id, or followed by what it counts, is not a phone.
_COUNT_BEFORE = re.compile(r"(?:count|total|sum|id|ts|unix|rows|events|n)\s*[:=#]?\s*$", re.IGNORECASE)
_COUNT_AFTER = re.compile(
    r"^\s*(?:rows|events|records|customers|profiles|users|sends|messages|orders|items|visits|clicks|"
    r"views|impressions|times|bytes|ms|seconds)\b",
    re.IGNORECASE,
)

# Characters folded to ASCII in the shadow text (one character for one, or dropped when zero-width).
_ZERO_WIDTH = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_DOTS = frozenset("\u3002\uff0e\uff61")


@functools.lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """The ASCII stand-in of one non-ASCII character, or the character itself ('' when zero-width)."""
    if ch in _ZERO_WIDTH:
        return ""
    if ch in _DASHES:
        return "-"
    if ch in _DOTS:
        return "."
    digit = unicodedata.digit(ch, None)
    if digit is not None:
        return str(digit)
    if unicodedata.category(ch) == "Zs":  # NBSP, narrow NBSP, figure space, ideographic space, ...
        return " "
    nfkc = unicodedata.normalize("NFKC", ch)
    return nfkc if len(nfkc) == 1 else ch  # full-width letters and '＠'; ligatures stay as they are


def _shadow(text: str) -> tuple[str, list[int] | None]:
    """`text` with look-alikes folded, and where each of its characters came from in `text`.

    Each character maps to one character or none, so a span found in the shadow maps back to the
    original text exactly; an ASCII text is its own shadow (positions None).
    """
    if text.isascii():
        return text, None
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        folded = ch if ch < "\x80" else _fold(ch)
        if folded:
            out.append(folded)
            where.append(i)
    where.append(len(text))
    return "".join(out), where


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_layout_ok(raw: str) -> bool:
    """Unbroken, or groups of four or more digits (the last may be shorter), one kind of separator."""
    groups = _GROUP.findall(raw)
    if any(len(g) < 4 for g in groups[:-1]):
        return False
    seps = set(_GROUP.split(raw)[1:-1])
    return len(seps) <= 1 and not ("." in raw and len(groups) < 3)


def _card_end(raw: str) -> int:
    """Length of the card number `raw` starts with (0 if none): a match may run into the next number."""
    for group in reversed(list(_GROUP.finditer(raw))):
        head = raw[: group.end()]
        digits = _NOT_DIGIT.sub("", head)
        if len(digits) < 13:
            return 0
        if len(digits) <= 19 and _card_layout_ok(head) and _luhn(digits):
            return len(head)
    return 0


def _iban_ok(raw: str) -> bool:
    code = re.sub(r"[ \-.]", "", raw).upper()
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _iban_end(raw: str) -> int:
    """Length of the valid IBAN `raw` starts with (0 if none): a match may run into the next word."""
    while raw:
        if _iban_ok(raw):
            return len(raw)
        cut = max(raw.rfind(" "), raw.rfind("-"), raw.rfind("."))
        if cut < 15:
            return 0
        raw = raw[:cut].rstrip(" -.")
    return 0


def _international_ok(raw: str) -> bool:
    digits = _NOT_DIGIT.sub("", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15:
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse("+" + digits, None))
    except phonenumbers.NumberParseException:
        return False


def _layout_ok(sizes: list[int], first: str) -> bool:
    """Whether digit groups of these sizes are laid out like a national phone number.

    With a trunk zero: nine digits or more, an area code of up to 6 digits, then groups of 2-8; with
    an area code in brackets, eight or more. Without: a North American or
    southern European layout (an optional leading 1, a group of three, then groups of 2-4 ending in
    four digits, or 3-2-2-2). Runs of one- and two-digit groups (age bands, hours, codes), four-digit
    groups (ranges, splits) and order numbers are not phone numbers.
    """
    if first == "0":
        rest = 3 if sizes[0] == 1 else 2  # a lone trunk zero: "0-7946-095812"
        return sum(sizes) >= 9 and sizes[0] <= 6 and all(rest <= s <= 8 for s in sizes[1:])
    if first == "(":  # an area code in brackets: "(11) 96123-4506", "(415) 555-2671"
        return sum(sizes) >= 8 and sizes[0] <= 5 and all(2 <= s <= 8 for s in sizes[1:])
    if sizes[0] == 1 and first == "1" and len(sizes) > 2:
        sizes = sizes[1:]
    if sizes[0] != 3 or not all(2 <= s <= 4 for s in sizes[1:]):
        return False
    return sizes[-1] == 4 or sizes == [3, 2, 2, 2]


def _national_ok(raw: str) -> bool:
    """A national number: a trunk zero, parentheses or separated groups; a bare run only if valid."""
    digits = _NOT_DIGIT.sub("", raw)
    if not 7 <= len(digits) <= 13:
        return False
    if raw.count("(") != raw.count(")"):
        return False
    sizes = [len(g) for g in _GROUP.findall(raw)]
    if len(sizes) > 1 or raw.startswith("("):
        return _layout_ok(sizes, "(" if raw.startswith("(") and digits[0] != "0" else digits[0])
    if digits[0] == "0" and len(digits) >= 9:
        return True
    if len(digits) == 10:  # a bare run is an id or a count unless libphonenumber knows the number
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(digits, "US"))
        except phonenumbers.NumberParseException:
            return False
    return False


def _national_parts(raw: str) -> list[tuple[int, int]]:
    """The phone numbers inside one run of digits and separators, as (start, end) offsets in it.

    The whole run first; if it is not laid out like a number (an age band before a number, say), the
    longest acceptable runs of whole groups inside it, left to right.
    """
    if raw.startswith("(") and ")" not in raw:  # an opening bracket of the sentence, not the number
        return [(s + 1, e + 1) for s, e in _national_parts(raw[1:])]
    if _national_ok(raw):
        return [(0, len(raw))]
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(raw)]
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            if start and raw[start - 1] == "(" and ")" in raw[start:end]:
                start -= 1
            if j - i < len(groups) and _national_ok(raw[start:end]) and _NOT_DIGIT.search(raw[start:end]):
                found.append((start, end))
                i = j
                break
        else:
            i += 1
    return found


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Where personal data sits in `text`: (start, end, kind), sorted, not overlapping."""
    shadow, where = _shadow(text)
    found: list[tuple[int, int, str]] = []
    work = shadow

    def take(start: int, end: int, kind: str) -> None:
        nonlocal work
        found.append((start, end, kind))
        work = work[:start] + _MASK * (end - start) + work[end:]

    if "@" in work:
        for m in _EMAIL.finditer(work):
            take(m.start(), m.end(), "email")
    for m in list(_IBAN.finditer(work)):
        end = _iban_end(m.group(0))
        if end:
            take(m.start(), m.start() + end, "iban")
    for m in list(_CARD.finditer(work)):
        end = _card_end(m.group(0))
        if end:
            take(m.start(), m.start() + end, "card")
    for m in list(_INTERNATIONAL.finditer(work)):
        if _international_ok(m.group(0)):
            take(m.start(), m.end(), "phone")
    if _NATIONAL.search(work) is not None:  # most texts: no number shaped like a phone, nothing to mask
        masked = _KEEP.sub(lambda k: _MASK * len(k.group(0)), work)
        for m in list(_NATIONAL.finditer(masked)):
            for s, e in _national_parts(m.group(0)):
                start, end = m.start() + s, m.start() + e
                raw = masked[start:end]
                if (
                    raw.isdigit()
                    and not raw.startswith("0")
                    and (
                        _COUNT_BEFORE.search(masked[max(0, start - 12) : start])
                        or _COUNT_AFTER.match(masked[end : end + 16])
                    )
                ):
                    continue
                take(start, end, "phone")
    if where is not None:
        found = [(where[s], where[e - 1] + 1, kind) for s, e, kind in found]
    return sorted(found)


def find_pii(text: str) -> list[tuple[str, str]]:
    """Each piece of personal data in `text` as (kind, matched text); used by tests and benchmarks."""
    if not _may_hold_pii(text):
        return []
    return [(kind, text[s:e]) for s, e, kind in _spans(text)]


def _may_hold_pii(text: str) -> bool:
    # Cheap gate: every kind needs an '@' or at least seven digits (look-alikes only outside ASCII).
    return not text.isascii() or "@" in text or len(text) - len(text.translate(_DIGITS_DROP)) >= 7


def redact(text: str) -> str:
    """`text` with every email, phone number, card number and IBAN replaced by its placeholder."""
    if not isinstance(text, str) or not _may_hold_pii(text):
        return text
    spans = _spans(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end, kind in spans:
        out.append(text[last:start])
        out.append(PLACEHOLDERS[kind])
        last = end
    out.append(text[last:])
    return "".join(out)


def redact_value(value: Any) -> Any:
    """`value` with every string in it, dict keys included, redacted; numbers and the shape untouched."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {(redact(k) if isinstance(k, str) else k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    return value


def redact_json_text(text: str) -> str:
    """Redact a text that may be JSON: string by string, so JSON stays JSON and numbers stay numbers.

    A text with nothing to redact comes back as it was, byte for byte (recorded model calls match on
    the request body). A text that is not JSON is redacted as plain text.
    """
    if not isinstance(text, str) or not _may_hold_pii(text):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact(text)
    clean = redact_value(parsed)
    return text if clean == parsed else json.dumps(clean, ensure_ascii=False)
