"""Checks every value must pass before it enters the CDP, whichever path brings it in.

Files, the ingestion API and the row models share them, so a value refused by `cdp-agents import` is
refused by `ingest_events` too. Text that would be harmless in the CDP can still hurt where it goes
next: control characters and bidi overrides disguise names in a terminal or a report, and a cell that
starts with `=` runs as a formula when an export is opened in a spreadsheet. Timestamps later than
the CDP clock are refused, because a consent dated in the future would otherwise outrank every real
unsubscribe until that date.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from cdp import clock

#: Longest text accepted in one field (a CSV cell, a JSON string): names and subjects are far shorter.
MAX_FIELD_CHARS = 65_536
#: The longest objective a run accepts (the planner, the offline reader and the runs table agree).
MAX_OBJECTIVE_CHARS = 4_000
#: Deepest nesting of JSON accepted in event properties and JSONL lines.
MAX_JSON_DEPTH = 32
#: How far ahead of the CDP clock a timestamp may be (clocks of sending systems drift a little).
FUTURE_SKEW = timedelta(minutes=5)
#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_BIDI = "\u202a-\u202e\u2066-\u2069"
# Every Unicode format character (category Cf) but the zero-width joiner and non-joiner, which
# emoji and Indic or Persian names need: marks (LRM, RLM, ALM), zero-width space, word joiner,
# invisible operators, a BOM inside the text, interlinear annotations, tag characters, and the
# line and paragraph separators (Zl, Zp). None is visible, so each can disguise a name or split a
# word a filter looks for. A test checks this list against `unicodedata` for every code point.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u2028\u2029\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# C0 (NUL, ESC ...), DEL, C1, the bidi embeddings, overrides and isolates, and the format characters.
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_FORMAT}]")
# The same, but tab is allowed: a line of a file (tab-separated files, tabs inside quoted cells).
_CONTROL_LINE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_BIDI}{_FORMAT}]")
# The same, but tab, line feed and carriage return are allowed (free text such as a ticket body).
_CONTROL_MULTILINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_FORMAT}]")
# What a spreadsheet skips before it looks for a formula's first character.
_LEADING_BLANK = re.compile(r"^\s*")
_FORMULA_FIRST = frozenset(p[0] for p in FORMULA_PREFIXES)
_C0_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL"}


def describe_char(ch: str) -> str:
    """`U+001B (ESC)`, `U+202E (RIGHT-TO-LEFT OVERRIDE)`: how an error names a refused character."""
    code = ord(ch)
    name = _C0_NAMES.get(code) or unicodedata.name(ch, "control character")
    return f"U+{code:04X} ({name})"


def control_char(text: str, *, multiline: bool = False) -> str | None:
    """The first refused control character in `text`, or None."""
    match = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    return match.group() if match else None


_CONTROL_BLOCK = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_FORMAT}]|\r(?!\n)")


_ASCII_ALLOWED = bytes([9, 10, 13, *range(32, 127)])


def lines_are_clean(block: str, raw: bytes | None = None) -> bool:
    """True if no line of `block` (lines ending in LF or CRLF) holds a refused control character.

    One search over many lines: a reader checks a whole block at once and looks at single lines
    only when this says one of them is refused. With the block's UTF-8 bytes `raw`, an ASCII block
    is checked by deleting every allowed byte, which is many times faster than a search.
    """
    if raw is not None and raw.isascii():
        return not raw.translate(None, _ASCII_ALLOWED) and raw.count(b"\r") == raw.count(b"\r\n")
    return _CONTROL_BLOCK.search(block) is None


def control_char_in_line(line: str) -> str | None:
    """The first refused control character of one line of a file (tabs allowed), or None."""
    match = _CONTROL_LINE.search(line)
    return match.group() if match else None


def visible(text: str) -> str:
    """`text` with every refused control character shown as `\\uXXXX`, for a terminal or a log.

    Data written past the checks (by another SQLite client) must not move the cursor, recolour a
    terminal or reverse a name when it is shown.
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def check_text(value: str, *, multiline: bool = False, formula: bool = True) -> str:
    """Return `value` if it may be stored as text, else ValueError saying why.

    `multiline` allows tab and line breaks (free text); `formula=False` allows a leading `+` or `-`
    where the value's own syntax needs it (a phone number's `+`).
    """
    if len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"text longer than {MAX_FIELD_CHARS:,} characters ({len(value):,})")
    bad = control_char(value, multiline=multiline)
    if bad is not None:
        raise ValueError(f"the control character {describe_char(bad)} is not allowed")
    if formula and starts_like_formula(value):
        first = value.lstrip()[:1] or value[:1]
        raise ValueError(
            f"text may not start with {first!r}: a spreadsheet would run it as a formula ({value[:20]!r})"
        )
    return value


def starts_like_formula(value: str) -> bool:
    """True if a spreadsheet would read `value` as a formula: a formula prefix, also after blanks
    (spaces, a no-break space, tabs or line breaks that a spreadsheet skips)."""
    if not value or not (value[0] in _FORMULA_FIRST or value[0].isspace()):
        return False  # the common case, decided on the first character
    return value.startswith(FORMULA_PREFIXES) or _LEADING_BLANK.sub("", value, count=1).startswith(
        FORMULA_PREFIXES
    )


def check_json(value: Any, *, strings: bool = True) -> Any:
    """Check the nesting, keys and strings of a decoded JSON value, without recursion.

    ValueError names the path of what is refused. `strings=False` checks the nesting only (the row
    models check the fields of a JSONL line themselves, each by its own rule).
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if not strings:
            if isinstance(item, dict | list):
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, path, depth + 1) for child in children)
            continue
        if isinstance(item, str):
            try:
                check_text(item, multiline=True)
            except ValueError as exc:
                raise ValueError(f"{path or 'value'}: {exc}") from None
        elif isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                try:
                    check_text(str(key))
                except ValueError as exc:
                    raise ValueError(f"key {where!r}: {exc}") from None
                stack.append((child, where, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose key appears twice is refused: which value was meant cannot be known."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key!r} appears more than once in one object")
            seen.add(key)
    return obj


def loads_json(text: str, *, strings: bool = True) -> Any:
    """`json.loads` + `check_json`; every failure (bad syntax, nesting too deep, a key given twice,
    a number too long to convert) is a ValueError with a message for the user."""
    try:
        return check_json(json.loads(text, object_pairs_hook=_unique_keys), strings=strings)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise ValueError("not valid JSON (a number with too many digits)") from None
        raise


def latest_allowed(now: datetime | None = None) -> str:
    """The latest timestamp accepted when the CDP clock reads `now` (default: `CDP_NOW` or wall time)."""
    return clock.iso((now or clock.now()) + FUTURE_SKEW)


def not_future(ts: str, latest: str) -> str:
    """Return the stored-form `ts` if it is not after `latest` (both in the stored form), else ValueError."""
    if ts > latest:
        raise ValueError(
            f"{ts} is in the future: the CDP clock allows at most {latest} "
            f"({int(FUTURE_SKEW.total_seconds() // 60)} minutes of clock skew)"
        )
    return ts
