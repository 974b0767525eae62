"""The fields of every kind of row the CDP takes in: one table for checking, documenting and templates.

Each field says whether it is required, what type it takes, what it means and an example, next to
the function that checks and normalises it. `cdp-agents import --help`, `--template KIND`, the
README's format tables and the row checks all read this table, so what is documented is what is
enforced. A row is checked field by field and every problem of the row is reported, each with the
column it is in, so a file with forty problems is fixed in one round.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cdp import clock, normalize
from cdp.identity import normalize_identifier
from cdp.ingest import ID_PATTERN, clean_properties
from cdp.input_checks import check_text, latest_allowed, loads_json, not_future, starts_like_formula
from cdp.migrations.m001_core import CHANNELS, EVENT_TYPES, IDENTITY_KINDS, TIERS

KINDS = ("profiles", "identities", "consents", "events", "tickets")
#: Columns of an events file that become one key of `properties` (`properties.amount` -> amount).
PROPERTY_PREFIX = "properties."


@dataclass(frozen=True)
class Context:
    """What checks need besides the value: the latest timestamp the CDP clock allows, a phone region."""

    latest: str
    region: str | None = None
    #: The rows come from lines already checked for control characters (all but tab): a CSV file.
    lines_checked: bool = False

    @classmethod
    def now(cls, db=None, region: str | None = None, *, lines_checked: bool = False) -> Context:
        return cls(latest_allowed(clock.now(db)), region, lines_checked)


Check = Callable[[Any, Context], Any]


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    type: str
    doc: str
    example: str
    check: Check


# --- checks --------------------------------------------------------------------------------------


def _text(limit: int) -> Check:
    def check(value: Any, ctx: Context) -> str:
        if value.__class__ is not str:
            raise ValueError(f"must be text, got {type(value).__name__}")
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters ({len(value):,})")
        if ctx.lines_checked and "\t" not in value and not starts_like_formula(value):
            return value  # its line was checked for control characters already
        return check_text(value)

    return check


_ID = re.compile(ID_PATTERN)


def _profile_id(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(
            "must be 1-100 letters, digits or . _ : @ - and start with a letter or digit, "
            f"got {str(value)[:20]!r}"
        )
    return value


def _one_of(choices: tuple[str, ...], what: str) -> Check:
    allowed = frozenset(choices)

    def check(value: Any, ctx: Context) -> str:
        word = value.lower() if isinstance(value, str) else value
        if word not in allowed:
            raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(choices)}")
        return word

    return check


@lru_cache(maxsize=65_536)
def _stored_ts(value: str) -> str:
    return clock.normalize_ts(value)


def _timestamp(value: Any, ctx: Context) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO timestamp, got {value!r}")
    try:
        stored = _stored_ts(value)
    except ValueError as exc:
        if "accepted years" in str(exc):
            raise
        raise ValueError(
            f"not an ISO timestamp: {value[:40]!r} (write 2026-01-31 or 2026-01-31T09:30:00Z)"
        ) from None
    return not_future(stored, ctx.latest)


@lru_cache(maxsize=4096)
def _country(value: str) -> str:
    return normalize.country_code(value)


@lru_cache(maxsize=4096)
def _language(value: str) -> str:
    return normalize.language_code(value)


def _cached(fn: Callable[[str], str]) -> Check:
    def check(value: Any, ctx: Context) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, got {type(value).__name__}")
        return fn(value)

    return check


def _properties(value: Any, ctx: Context) -> Any:
    if isinstance(value, str):
        value = loads_json(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def _raw(value: Any, ctx: Context) -> Any:
    return value


# --- the table -----------------------------------------------------------------------------------

_PID = Field("profile_id", True, "id", "the customer's id in your system", "c1001", _profile_id)
#: Every other kind names its customer the same way, by the same rule.
_CUSTOMER = Field("profile_id", True, "id", "the customer", "c1001", _profile_id)
_SOURCE = Field("source", False, "text <= 100", "where the row comes from", "crm", _text(100))

FIELDS: dict[str, tuple[Field, ...]] = {
    "profiles": (
        _PID,
        Field("first_name", False, "text <= 100", "given name", "Ann", _text(100)),
        Field("last_name", False, "text <= 100", "family name", "Lee", _text(100)),
        Field(
            "country", False, "country", "ISO 3166 code or name: DE, UK, Deutschland", "DE", _cached(_country)
        ),
        Field("city", False, "text <= 100", "city", "Berlin", _text(100)),
        Field(
            "language",
            False,
            "language",
            "ISO 639-1 code or name: de, de-DE, German",
            "de",
            _cached(_language),
        ),
        Field(
            "tier",
            False,
            "one of " + "|".join(TIERS),
            "loyalty tier (default standard)",
            "premium",
            _one_of(TIERS, "tier"),
        ),
        Field(
            "signup_at", False, "timestamp", "when they signed up (default: now)", "2025-03-01", _timestamp
        ),
    ),
    "identities": (
        Field("profile_id", True, "id", "the profile the identifier belongs to", "c1001", _profile_id),
        Field(
            "kind",
            True,
            "one of " + "|".join(IDENTITY_KINDS),
            "what the identifier is",
            "email",
            _one_of(IDENTITY_KINDS, "identifier kind"),
        ),
        Field(
            "value",
            True,
            "identifier",
            "the identifier (emails lower-cased, phones E.164)",
            "ann@example.com",
            _raw,
        ),
        _SOURCE,
        Field(
            "seen_at", False, "timestamp", "when it was first seen (default: now)", "2025-03-01", _timestamp
        ),
    ),
    "consents": (
        _CUSTOMER,
        Field(
            "channel",
            True,
            "one of " + "|".join(CHANNELS),
            "the channel",
            "email",
            _one_of(CHANNELS, "channel"),
        ),
        Field(
            "status",
            True,
            "granted|denied|revoked",
            "only granted allows contact",
            "granted",
            _one_of(("granted", "denied", "revoked"), "consent status"),
        ),
        Field(
            "updated_at",
            False,
            "timestamp",
            "when it was given or withdrawn (default: now)",
            "2025-03-01T10:00:00Z",
            _timestamp,
        ),
        _SOURCE,
    ),
    "events": (
        Field(
            "message_id",
            False,
            "text <= 200",
            "the event's unique id (default: from its content)",
            "evt-1",
            _text(200),
        ),
        _CUSTOMER,
        Field(
            "type",
            True,
            "one of " + "|".join(EVENT_TYPES),
            "what happened",
            "purchase",
            _one_of(EVENT_TYPES, "event type"),
        ),
        Field("ts", False, "timestamp", "when (default: now)", "2025-03-02T12:00:00Z", _timestamp),
        Field(
            "properties",
            False,
            "JSON object",
            "details; a purchase needs amount and category (or columns properties.amount, ...)",
            '{"amount": 42.5, "category": "toys"}',
            _properties,
        ),
    ),
    "tickets": (
        Field("ticket_id", True, "text <= 100", "the ticket's id in your help desk", "T-5001", _text(100)),
        _CUSTOMER,
        Field(
            "status",
            False,
            "open|closed",
            "open blocks promotions (default open)",
            "open",
            _one_of(("open", "closed"), "ticket status"),
        ),
        Field("subject", False, "text <= 200", "the ticket's subject", "Late delivery", _text(200)),
        Field(
            "opened_at",
            False,
            "timestamp",
            "when it was opened or last changed (default: now)",
            "2025-03-03T08:00:00Z",
            _timestamp,
        ),
        Field(
            "message_id",
            False,
            "text <= 200",
            "the update's unique id (default: from its content)",
            "tk-1",
            _text(200),
        ),
    ),
}
_BY_NAME = {kind: {f.name: f for f in fields} for kind, fields in FIELDS.items()}


def names(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS[kind])


def required(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS[kind] if f.required)


def unknown_columns(kind: str, columns: list[str]) -> list[str]:
    """Columns of a file that are not fields of `kind` (events also take `properties.KEY`)."""
    known = _BY_NAME[kind]
    return [c for c in columns if c not in known and not (kind == "events" and c.startswith(PROPERTY_PREFIX))]


class RowProblems(ValueError):
    """Every problem of one row, as (column, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{c}: {m}" if c else m for c, m in problems))
        self.problems = problems


def check_row(
    kind: str, row: Mapping[str, Any], ctx: Context, *, checked_keys: bool = False
) -> dict[str, Any]:
    """The row's stored values, every field checked and normalised; RowProblems lists all that fail.

    Text is stripped; an empty value is absent. Unknown keys are refused (a misspelt column would
    otherwise be dropped in silence); `checked_keys` says the caller already checked them (a CSV
    header), and only `properties.KEY` columns are then looked for. Values that repeat across rows
    (countries, tiers, languages, dates) are checked once and remembered.
    """
    spec = _BY_NAME[kind]
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    extra: dict[str, Any] = {}
    if not checked_keys or kind == "events":
        for key in sorted(row.keys() - spec.keys()):
            raw = row[key]
            if kind == "events" and key.startswith(PROPERTY_PREFIX):
                if raw is not None and raw != "":
                    extra[key.removeprefix(PROPERTY_PREFIX)] = _scalar(raw)
            else:
                problems.append((key, f"not a field of {kind}; fields are {', '.join(spec)}"))
    get = row.get
    for name, field in spec.items():
        raw = get(name)
        if raw.__class__ is str:
            raw = raw.strip()
        if raw is None or raw == "":
            if field.required:
                problems.append((name, "required"))
            out[name] = None
            continue
        try:
            out[name] = field.check(raw, ctx)
        except ValueError as exc:
            problems.append((name, str(exc).removeprefix(f"{name}: ")))
    if not problems and kind in _CROSS:
        _cross_checks(kind, out, extra, ctx, problems)
    if problems:
        raise RowProblems(problems)
    return out


_CROSS = frozenset({"identities", "events", "tickets"})


def _scalar(text: Any) -> Any:
    """A `properties.KEY` cell: a number when it reads as one, else the text."""
    if not isinstance(text, str):
        return text
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() and "." not in text else number


def _cross_checks(
    kind: str, out: dict[str, Any], extra: dict[str, Any], ctx: Context, problems: list[tuple[str, str]]
) -> None:
    """Checks that need two fields: an identifier by its kind, a purchase's amount, a ticket."""
    try:
        if kind == "identities":
            value = normalize_identifier(out["kind"], out["value"], ctx.region)
            # Only a phone's own syntax starts with "+"; any other identifier is text a spreadsheet
            # must not run.
            out["value"] = value if out["kind"] == "phone" else check_text(value)
        elif kind == "events":
            props = {**(out["properties"] or {}), **extra}
            out["properties"] = clean_properties(out["type"], props)
        elif kind == "tickets":
            props = {"ticket_id": out["ticket_id"], "status": out["status"] or "open"}
            if out["subject"]:
                props["subject"] = out["subject"]
            out["properties"] = clean_properties("support_ticket", props)
    except ValueError as exc:
        column = {"identities": "value", "events": "properties", "tickets": "ticket_id"}[kind]
        problems.append((column, str(exc).removeprefix("properties: ")))


def template(kind: str) -> str:
    """An example CSV of `kind`: the header and one row of example values."""
    import io

    from cdp.csvsafe import write_csv

    out = io.StringIO()
    write_csv(out, names(kind), [[f.example for f in FIELDS[kind]]])
    return out.getvalue().replace("\r\n", "\n")


def describe(kind: str) -> list[tuple[str, str, str, str]]:
    """(column, required or optional, type, meaning) for each field of `kind`."""
    return [(f.name, "required" if f.required else "optional", f.type, f.doc) for f in FIELDS[kind]]


def markdown() -> str:
    """The README's format tables: one per kind, from this table (a test keeps the README equal)."""
    out = []
    for kind in KINDS:
        out.append(f"**{kind}** (`cdp-agents import --template {kind}`)\n")
        out.append("| column | | type | meaning | example |\n|---|---|---|---|---|")
        for f in FIELDS[kind]:
            example = f.example.replace("|", "\\|")
            out.append(
                f"| `{f.name}` | {'required' if f.required else 'optional'} | {f.type.replace('|', ', ')} "
                f"| {f.doc} | `{example}` |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"
