"""The preset tables: the fields a mapping fills and how a table's TOML is read.

`cdp/presets/<name>.toml` is one preset; `cdp/presets/_values.toml` holds the value maps they share.
`cdp.mapping` interprets the tables; this module only reads and checks them, so a mistake in a
table (an unknown field or option, a missing value map) fails when it loads, not on some row.

A table:

    name, description       the preset's name (its file name) and one line for --help
    required = [columns]    columns its rules read, checked in the header
    [fields]                FIELD = spec, read on every row
    [[rules]]               the first rule whose `when` holds (a rule without one always does)
      when = {...}          either skips the row, counted by `skip = "reason"`, or reads its
      [rules.fields]        own fields over the base ones
    [values.NAME]           a value map of this preset

A spec is a column, a list of columns (the first non-blank one is read) or a table of: column,
const, values (a map's name), unknown (error, skip or keep a value the map lacks), reason (the
skip reason; `{value}` quotes the value), format (strptime formats tried before ISO 8601), strip
(leading characters to drop, such as Shopify's apostrophe), prefix, part (first word or the rest),
required (the column must be in the header), and for profile_id derive and derive_prefix.
`when` holds when all of its tests do: blank = [columns], filled = [columns] and
is = {column = value or [values]} (compared trimmed and case-insensitively).
"""

from __future__ import annotations

import collections.abc as cabc
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from cdp.errors import CdpError

PROFILE_FIELDS = ("first_name", "last_name", "country", "city", "language", "tier", "signup_at")
IDENTIFIER_FIELDS = ("email", "phone", "crm_id", "device_id", "cookie")
CONSENT_FIELDS = {"consent.email": "email", "consent.sms": "sms", "consent.push": "push"}
#: Event fields with a place of their own in the event row or its properties.
EVENT_FIELDS = (
    "event.type",
    "event.ts",
    "event.message_id",
    "event.amount",
    "event.category",
    "event.currency",
)

TARGET_FIELDS: dict[str, str] = {
    "profile_id": "the customer's id in the CDP (derived from an identifier when the source has none)",
    "first_name": "given name",
    "last_name": "family name",
    "country": "country (ISO 3166 alpha-2 code, e.g. DE)",
    "city": "city",
    "language": "language code, e.g. en or pt-BR",
    "tier": "standard, premium or vip",
    "signup_at": "when the customer signed up (date and time)",
    "email": "email address (an identity)",
    "phone": "phone number (an identity)",
    "crm_id": "id in a CRM (an identity)",
    "device_id": "mobile device id (an identity)",
    "cookie": "browser cookie or anonymous id (an identity)",
    "consent.email": "email marketing consent: granted, denied or revoked (yes/no, true/false ...)",
    "consent.sms": "SMS marketing consent",
    "consent.push": "push notification consent",
    "consent_at": "when those consents were given or withdrawn",
    "source": "the system the row comes from (stored with identities and consents)",
    "event.type": "event type: purchase, page_view, email_open, email_click, unsubscribe ...",
    "event.ts": "when the event happened",
    "event.message_id": "the event's id in the source (a re-import never doubles it)",
    "event.amount": "purchase amount: a plain decimal such as 1234.50 ($ and thousands commas allowed)",
    "event.category": "product category of a purchase",
    "event.currency": "currency code of a purchase, e.g. USD",
    "event.<name>": "any other event property, e.g. event.order_id",
}

DATETIME_FIELDS = frozenset({"signup_at", "consent_at", "event.ts"})
#: What a field mapped with `--map` reads when no preset says otherwise.
_DEFAULT_VALUES = {
    "consent.email": "consent",
    "consent.sms": "consent",
    "consent.push": "consent",
    "tier": "tier",
}
_DEFAULT_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_EXTRA_EVENT_FIELD = re.compile(r"^event\.[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SPEC_KEYS = frozenset(
    {"column", "const", "values", "unknown", "reason", "format", "strip", "prefix", "part", "required"}
    | {"derive", "derive_prefix"}
)


class MappingError(CdpError, ValueError):
    """A source row (or a `--map` entry, or a preset name) that cannot be mapped."""

    def __init__(self, column: str, message: str):
        super().__init__(f"{column}: {message}")
        self.column = column
        self.message = message


@dataclass(frozen=True)
class FieldSpec:
    """How one target field is read: from the first non-blank column, or a constant."""

    columns: tuple[str, ...] = ()
    const: Any = None
    values: dict[str, str] | None = None  # value map, keys case-folded; "" maps to no value
    unknown: Literal["error", "skip", "keep"] = "error"
    reason: str = "value has no mapping"
    formats: tuple[str, ...] = ()
    strip: str = ""
    prefix: str = ""
    part: Literal["first", "rest"] | None = None
    required: bool = False
    derive: tuple[str, ...] = ()  # profile_id only: identifiers to derive it from when blank
    derive_prefix: str = ""


@dataclass(frozen=True)
class Condition:
    """All of: these columns blank, these filled, these equal to one of the values (case-folded)."""

    blank: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    equals: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """When `when` holds (or always, without one): skip the row, or read these fields instead."""

    when: Condition | None
    skip: str | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)


def value_key(value: Any) -> str:
    """How a value is looked up in a value map or compared in a condition."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


def presets_dir():
    return resources.files("cdp").joinpath("presets")


def preset_names() -> tuple[str, ...]:
    names = (p.name.removesuffix(".toml") for p in presets_dir().iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(n for n in names if not n.startswith("_")))


PRESETS: tuple[str, ...] = preset_names()


@cache
def shared_values() -> dict[str, dict[str, str]]:
    data = tomllib.loads(presets_dir().joinpath("_values.toml").read_text(encoding="utf-8"))
    return {name: value_map(name, table) for name, table in data.items()}


def value_map(name: str, table: Any) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError(f"value map {name!r} must map text to text")
    return {value_key(k): v for k, v in table.items()}


def texts(value: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"{what} must be a column name or a list of them")
    return tuple(items)


def check_field(name: str) -> None:
    if "<" in name or (name not in TARGET_FIELDS and not _EXTRA_EVENT_FIELD.match(name)):
        known = [f for f in TARGET_FIELDS if "<" not in f]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"the fields are {', '.join(TARGET_FIELDS)}"
        raise MappingError(name, f"not a target field; {hint}")


def parse_spec(name: str, raw: Any, maps: dict[str, dict[str, str]]) -> FieldSpec:
    """A field's spec from its TOML form: a column, a list of columns, or a table of options."""
    check_field(name)
    if isinstance(raw, str | list):
        raw = {"column": raw}
    if not isinstance(raw, dict) or not set(raw) <= _SPEC_KEYS:
        raise ValueError(f"field {name!r}: a column, a list of columns or a table of {sorted(_SPEC_KEYS)}")
    values = raw.get("values", _DEFAULT_VALUES.get(name))
    if isinstance(values, str):
        if values not in maps:
            raise ValueError(f"field {name!r}: no value map {values!r}")
        values = maps[values]
    elif values is not None:
        values = value_map(name, values)
    formats = raw.get("format", _DEFAULT_FORMATS if name in DATETIME_FIELDS else ())
    spec = FieldSpec(
        columns=texts(raw["column"], f"field {name!r}") if "column" in raw else (),
        const=raw.get("const"),
        values=None if "const" in raw else values,
        unknown=raw.get("unknown", "error"),
        reason=raw.get("reason", FieldSpec.reason),
        formats=(formats,) if isinstance(formats, str) else tuple(formats),
        strip=raw.get("strip", ""),
        prefix=raw.get("prefix", ""),
        part=raw.get("part"),
        required=bool(raw.get("required", False)),
        derive=tuple(raw.get("derive", ())),
        derive_prefix=raw.get("derive_prefix", ""),
    )
    # A typo in a table must fail when it loads (a test loads every preset), not on some row.
    if spec.unknown not in ("error", "skip", "keep") or spec.part not in (None, "first", "rest"):
        raise ValueError(f"field {name!r}: unknown must be error, skip or keep; part first or rest")
    if spec.derive and (name != "profile_id" or not set(spec.derive) <= set(IDENTIFIER_FIELDS)):
        raise ValueError(f"field {name!r}: only profile_id derives, from {', '.join(IDENTIFIER_FIELDS)}")
    if not spec.columns and spec.const is None and not spec.derive:
        raise ValueError(f"field {name!r} reads no column and has no constant")
    return spec


def parse_condition(raw: Any) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not set(raw) <= {"blank", "filled", "is"}:
        raise ValueError(f"a rule's `when` takes blank, filled and is, got {raw!r}")
    equals = {
        col: tuple(value_key(v) for v in ([want] if isinstance(want, str) else want))
        for col, want in raw.get("is", {}).items()
    }
    return Condition(texts(raw.get("blank", []), "blank"), texts(raw.get("filled", []), "filled"), equals)


def describe(
    specs: cabc.Iterable[tuple[str, FieldSpec]], ignored: cabc.Set[str] = frozenset()
) -> dict[str, str]:
    """Target field -> where it comes from, merged over the base fields and every rule."""
    sources: dict[str, list[str]] = {}
    for name, spec in specs:
        if spec.const is not None:
            where = [repr(spec.const)]
        else:
            where = [c for c in spec.columns if c not in ignored] + [f"derived from {k}" for k in spec.derive]
        for item in where:
            if item not in sources.setdefault(name, []):
                sources[name].append(item)
    return {name: " / ".join(where) for name, where in sources.items() if where}


def spec_pairs(specs: dict[str, FieldSpec], rules: cabc.Iterable[Rule]) -> list[tuple[str, FieldSpec]]:
    return [*specs.items(), *(item for rule in rules for item in rule.fields.items())]


def parse_table(data: dict[str, Any]) -> dict[str, Any]:
    """The parts of a `Mapping` a preset's TOML describes, checked (a typo fails at load, not on a row)."""
    maps = {**shared_values(), **{n: value_map(n, t) for n, t in data.get("values", {}).items()}}
    specs = {name: parse_spec(name, raw, maps) for name, raw in data.get("fields", {}).items()}
    rules = tuple(
        Rule(
            when=parse_condition(rule.get("when")),
            skip=rule.get("skip"),
            fields={name: parse_spec(name, raw, maps) for name, raw in rule.get("fields", {}).items()},
        )
        for rule in data.get("rules", [])
    )
    return {
        "name": data["name"],
        "description": data["description"],
        "fields": describe(spec_pairs(specs, rules)),
        "specs": specs,
        "rules": rules,
        "required": texts(data.get("required", []), "required"),
    }
