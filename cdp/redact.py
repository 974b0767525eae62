"""Redaction of personal data in free text before any model sees it.

One function, `redact(text)`, replaces email addresses, phone numbers, payment card numbers and IBANs
with typed placeholders (`[email]`, `[phone]`, `[card]`, `[iban]`). Everything a tool returns passes
through it (see `cdp.tools_base.json_safe`), and so does every other text the orchestrator puts into a
prompt (the objective, a task's inputs, the synthesizer's facts).

What it keeps matters as much: profile ids (`p0000123`), campaign and order ids, ISO dates and
timestamps, times, prices, counts with thousands separators and percentages are not personal data and
the agents need them. Those shapes are masked before numbers are looked at, so a date or an amount can
never be mistaken for a phone number.

Detection is a tight set of patterns with checks that reject look-alikes: the Luhn checksum for cards,
ISO 13616 mod-97 for IBANs, and Google's libphonenumber (`phonenumbers`) for the possible lengths of
international numbers and for the validity of bare ten-digit national numbers. `benchmarks/redaction.py`
measures its speed, recall and false positives against the alternatives.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import phonenumbers

__all__ = ["PLACEHOLDERS", "find_pii", "redact", "redact_json_text", "redact_value"]

PLACEHOLDERS: Final = {"email": "[email]", "phone": "[phone]", "card": "[card]", "iban": "[iban]"}

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+'-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
# Country, two check digits, then 11-30 capitals or digits: unbroken or in groups of four.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?:[\x20\-]?[A-Z0-9]{4}){2,7}(?:[\x20\-]?[A-Z0-9]{1,3})?)"
    r"(?![A-Za-z0-9])"
)
# 13-19 digits, single spaces or dashes between them.
_CARD = re.compile(r"(?<![\w.,+-])\d(?:[ \-]?\d){12,18}(?![\w-]|[.,]\d)")

# Shapes that are numbers but not personal data; masked before phones are looked for.
_KEEP = re.compile(
    r"""
      (?<![\d\-./])\d{4}-\d{2}-\d{2}(?:[T\x20]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)? # ISO
    | \d{4}/\d{1,2}/\d{1,2}                                                                       # 2026/11/24
    | (?<![\d./\-])\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})(?!\d|[.\-/]\d)                         # 24.11.2026
    | (?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)                                                       # 07:00
    | (?<![\d+])(?<!\d[\x20./\-])[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?(?!\d|[\x20.\-]\d)              # 1,234,567
    | (?<![\d+])(?<!\d[\x20./\-])[1-9]\d{0,2}(?:[.\x20\u00a0]\d{3})+(?:,\d+)?(?!\d|[\x20.\-/]\d)  # 1.234.567
    | (?<![\d.])\d+[.,]\d{1,2}(?!\d|[.,]\d)                                                       # 1234.50
    | (?<![\d.])(?:0|[1-9]\d*)\.\d{3,}(?:[eE][+-]?\d+)?(?!\d|\.\d)                                # 0.0412345
    | \d+(?:[.,]\d+)?\x20?%                                                                       # 12 %
    """,
    re.VERBOSE,
)
_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)\d[\d\x20\-./()]{4,22}\d(?![\w])")
_NATIONAL = re.compile(r"(?<![\w+\-./])\(?\d[\d\x20\-./()]{5,20}\d(?![\w]|[\-./]\d)")
_SEPARATED = re.compile(r"\d[\x20\-./()]+\d|^\(")
_NOT_DIGIT = re.compile(r"\D")
_DIGITS_DROP = str.maketrans("", "", "0123456789")
_MASK = "\x00"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(raw: str) -> bool:
    code = re.sub(r"[ \-]", "", raw).upper()
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _iban_end(raw: str) -> int:
    """Length of the valid IBAN `raw` starts with (0 if none): a match may run into the next word."""
    while raw:
        if _iban_ok(raw):
            return len(raw)
        cut = max(raw.rfind(" "), raw.rfind("-"))
        if cut < 15:
            return 0
        raw = raw[:cut]
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


def _national_ok(raw: str) -> bool:
    """A national number: a trunk zero, parentheses or separated groups; a bare run only if valid."""
    digits = _NOT_DIGIT.sub("", raw)
    if not 7 <= len(digits) <= 13:
        return False
    if raw.count("(") != raw.count(")"):
        return False
    if digits[0] == "0" and len(digits) >= 9:
        return True
    if _SEPARATED.search(raw):
        return len(digits) >= 7
    if len(digits) == 10:  # a bare run is an id or a count unless libphonenumber knows the number
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(digits, "US"))
        except phonenumbers.NumberParseException:
            return False
    return False


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Where personal data sits in `text`: (start, end, kind), sorted, not overlapping."""
    found: list[tuple[int, int, str]] = []
    work = text

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
        if _luhn(_NOT_DIGIT.sub("", m.group(0))):
            take(m.start(), m.end(), "card")
    for m in list(_INTERNATIONAL.finditer(work)):
        if _international_ok(m.group(0)):
            take(m.start(), m.end(), "phone")
    if _NATIONAL.search(work) is None:  # most texts: no number shaped like a phone, nothing to mask
        return sorted(found)
    masked = _KEEP.sub(lambda k: _MASK * len(k.group(0)), work)
    for m in _NATIONAL.finditer(masked):
        raw = m.group(0)
        start, end = m.start(), m.end()
        if raw.startswith("(") and ")" not in raw:  # an opening bracket of the sentence, not the number
            raw, start = raw[1:], start + 1
        if _national_ok(raw):
            take(start, end, "phone")
    return sorted(found)


def find_pii(text: str) -> list[tuple[str, str]]:
    """Each piece of personal data in `text` as (kind, matched text); used by tests and benchmarks."""
    if not _may_hold_pii(text):
        return []
    return [(kind, text[s:e]) for s, e, kind in _spans(text)]


def _may_hold_pii(text: str) -> bool:
    # Cheap gate: every kind needs an '@' or at least seven digits.
    return "@" in text or len(text) - len(text.translate(_DIGITS_DROP)) >= 7


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
