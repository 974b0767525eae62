"""Read the exports marketers already have (Shopify, Mailchimp, Stripe, Segment) as CDP rows.

A preset is a table (`cdp/presets/<name>.toml`), not code: which source column feeds which target
field, how the source writes its values (value maps, date formats, amounts) and which rows say
nothing the CDP keeps (an order's second line item, a refunded order). This module is the one
interpreter of those tables; `--map COLUMN=FIELD` edits a table or builds one from nothing.

One source row becomes several records in one pass: the profile it is about (always first, so the
profile every other record names exists), an identity per identifier, a consent per channel and at
most one event. A row that maps to nothing returns no records and `skip_reason` says why, so an
importer can count skipped rows by reason instead of failing on them.
"""

from __future__ import annotations

import collections.abc as cabc
import difflib
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Literal

from cdp import clock
from cdp.identity import normalize_identifier
from cdp.input_checks import visible
from cdp.mapping_tables import (
    CONSENT_FIELDS,
    DATETIME_FIELDS,
    EVENT_FIELDS,
    IDENTIFIER_FIELDS,
    PRESETS,
    PROFILE_FIELDS,
    TARGET_FIELDS,
    Condition,
    FieldSpec,
    MappingError,
    Rule,
    check_field,
    describe,
    parse_spec,
    parse_table,
    presets_dir,
    shared_values,
    spec_pairs,
    value_key,
)

ImportKind = Literal["profiles", "identities", "consents", "events"]

_IGNORE = ("-", "ignore")
_PLAIN_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
_THOUSANDS_AMOUNT = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_CURRENCY_MARKS = re.compile(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$|[$€£¥₹]|\s")


class _Skip(Exception):
    """A value the table says to skip the row on (a Segment event the CDP has no type for)."""

    def __init__(self, reason: str):
        self.reason = reason


@dataclass(frozen=True)
class Record:
    """One row for one of the importer's kinds, with where each of its fields came from."""

    kind: ImportKind
    row: dict[str, Any]
    columns: dict[str, str]
    key: tuple[str, str] | None = None


@dataclass(frozen=True)
class Mapping:
    """A mapping table: source columns to CDP records, with the rules that pick rows apart."""

    name: str
    description: str
    fields: dict[str, str]  # target field -> source column(s), for docs and --help
    specs: dict[str, FieldSpec] = field(default_factory=dict, repr=False)
    rules: tuple[Rule, ...] = field(default=(), repr=False)
    required: tuple[str, ...] = field(default=(), repr=False)  # columns the rules read
    ignored: frozenset[str] = field(default=frozenset(), repr=False)  # `--map COLUMN=-`

    def check_columns(self, columns: cabc.Sequence[str]) -> list[MappingError]:
        """Required columns missing from a header, each with the closest name it does have.

        Extra columns are not a problem: an export carries many the CDP does not keep.
        """
        present = set(columns)
        wanted: list[tuple[str, ...]] = [(c,) for c in self.required]
        for spec in self._all_specs():
            if spec.required and spec.columns:
                wanted.append(spec.columns)
        errors: list[MappingError] = []
        seen: set[tuple[str, ...]] = set()
        for options in wanted:
            options = tuple(c for c in options if c not in self.ignored)
            if not options or options in seen or any(_has_column(present, c) for c in options):
                continue
            seen.add(options)
            close = _closest(options[0], columns)
            hint = f"; did you mean {close!r}?" if close else ""
            errors.append(MappingError(options[0], f"the {self.name} layout needs this column{hint}"))
        return errors

    def records(self, row: cabc.Mapping[str, Any]) -> list[Record]:
        """The records of one source row (empty when the row is skipped); MappingError if it is bad."""
        return self._evaluate(row)[0]

    def skip_reason(self, row: cabc.Mapping[str, Any]) -> str | None:
        """Why `records(row)` is empty, or None when the row maps to records (or cannot be mapped)."""
        try:
            return self._evaluate(row)[1]
        except MappingError:
            return None

    # --- evaluation -------------------------------------------------------------------------

    def _all_specs(self) -> cabc.Iterator[FieldSpec]:
        yield from self.specs.values()
        for rule in self.rules:
            yield from rule.fields.values()

    def _evaluate(self, row: cabc.Mapping[str, Any]) -> tuple[list[Record], str | None]:
        specs = self.specs
        for rule in self.rules:
            if rule.when is None or _holds(rule.when, row, self.ignored):
                if rule.skip is not None:
                    return [], rule.skip
                specs = {**specs, **rule.fields}
                break
        values: dict[str, Any] = {}
        columns: dict[str, str] = {}
        try:
            for name, spec in specs.items():
                got = _read(name, spec, row, self.ignored, self.name)
                if got is not None:
                    values[name], columns[name] = got
        except _Skip as skip:
            return [], skip.reason
        return self._build(specs.get("profile_id"), values, columns), None

    def _build(self, id_spec: FieldSpec | None, values: dict[str, Any], cols: dict[str, str]) -> list[Record]:
        pid, pid_column, key = _profile_id(id_spec, values, cols)
        source = values.get("source")

        def record(kind: ImportKind, row: dict[str, Any], where: dict[str, str]) -> Record:
            row = {"profile_id": pid, **{k: v for k, v in row.items() if v is not None}}
            where = {"profile_id": pid_column, **{k: v for k, v in where.items() if k.split(".")[0] in row}}
            return Record(kind, row, where, key)

        out = [record("profiles", {f: values.get(f) for f in PROFILE_FIELDS}, cols)]
        from_source = {"source": cols.get("source", "")}
        for kind in IDENTIFIER_FIELDS:
            if kind in values:
                row = {"kind": kind, "value": values[kind], "source": source}
                out.append(record("identities", row, {"value": cols[kind], **from_source}))
        for name, channel in CONSENT_FIELDS.items():
            if name in values:
                row = {"channel": channel, "status": values[name], "updated_at": values.get("consent_at")}
                where = {"status": cols[name], "updated_at": cols.get("consent_at", ""), **from_source}
                out.append(record("consents", {**row, "source": source}, where))
        event_fields = [f for f in values if f.startswith("event.")]
        if "event.type" in values:
            out.append(record("events", *_event_row(values, cols)))
        elif event_fields:
            raise MappingError(cols[event_fields[0]], "an event needs a type, and event.type is blank")
        return out


def _event_row(values: dict[str, Any], cols: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    row: dict[str, Any] = {
        "type": values["event.type"],
        "ts": values.get("event.ts"),
        "message_id": values.get("event.message_id"),
    }
    where = {
        "type": cols["event.type"],
        "ts": cols.get("event.ts", ""),
        "message_id": cols.get("event.message_id", ""),
    }
    properties: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith("event.") and name not in ("event.type", "event.ts", "event.message_id"):
            properties[name.removeprefix("event.")] = value
            where[f"properties.{name.removeprefix('event.')}"] = cols[name]
    if properties:
        row["properties"] = properties
        where["properties"] = ", ".join(dict.fromkeys(cols[f"event.{k}"] for k in properties))
    return row, where


def _profile_id(
    spec: FieldSpec | None, values: dict[str, Any], cols: dict[str, str]
) -> tuple[str, str, tuple[str, str] | None]:
    """(profile_id, its column, key): the source's own id, else one derived from an identifier.

    A derived id is `derive_prefix` + the first 16 hex digits of sha256("kind:normalised value"),
    so the same customer gets the same id in every import; `key` lets the importer attach the row
    to a profile that already holds that identifier instead.
    """
    if "profile_id" in values:
        return values["profile_id"], cols["profile_id"], None
    derive, prefix = (spec.derive, spec.derive_prefix) if spec else ((), "")
    for kind in derive:
        if kind in values:
            try:
                normal = normalize_identifier(kind, values[kind])
            except ValueError as exc:
                raise MappingError(cols[kind], str(exc)) from None
            digest = hashlib.sha256(f"{kind}:{normal}".encode()).hexdigest()[:16]
            return f"{prefix}{digest}", cols[kind], (kind, values[kind])
    needs = [*(spec.columns if spec else ()), *derive] or ["profile_id"]
    raise MappingError(needs[0], f"no customer id: the row needs {' or '.join(needs)}")


# --- reading values -----------------------------------------------------------------------------


def _lookup(row: cabc.Mapping[str, Any], column: str) -> Any:
    """A CSV cell by name, or a JSON value by path (`traits.address.country`, `products.0.sku`)."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if isinstance(value, cabc.Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _has_column(present: set[str], column: str) -> bool:
    return column in present or column.split(".", 1)[0] in present


def _cell(row: cabc.Mapping[str, Any], column: str, ignored: frozenset[str]) -> Any:
    """The value of a column with blanks as None (empty or white-space text, JSON null)."""
    if column in ignored:
        return None
    value = _lookup(row, column)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _holds(cond: Condition, row: cabc.Mapping[str, Any], ignored: frozenset[str]) -> bool:
    if any(_cell(row, c, ignored) is not None for c in cond.blank):
        return False
    if any(_cell(row, c, ignored) is None for c in cond.filled):
        return False
    for column, options in cond.equals.items():
        value = _cell(row, column, ignored)
        if value_key(value) not in options:
            return False
    return True


def _read(
    name: str, spec: FieldSpec, row: cabc.Mapping[str, Any], ignored: frozenset[str], preset: str
) -> tuple[Any, str] | None:
    """(value, source column) of one field, or None when it is blank."""
    if spec.const is not None:
        return spec.const, f"{name} (constant of {preset})"
    for column in spec.columns:
        raw = _cell(row, column, ignored)
        if isinstance(raw, str) and spec.strip:
            raw = raw.lstrip(spec.strip).strip() or None
        if raw is not None:
            value = _convert(name, spec, raw, column)
            return None if value is None else (value, column)
    return None


def _convert(name: str, spec: FieldSpec, raw: Any, column: str) -> Any:
    if spec.part is not None and isinstance(raw, str):
        words = raw.split()
        raw = words[0] if spec.part == "first" else " ".join(words[1:])
        if not raw:
            return None
    if spec.values is not None:
        mapped = spec.values.get(value_key(raw))
        if mapped is None:
            shown = visible(str(raw))[:60]
            if spec.unknown == "skip":
                raise _Skip(spec.reason.replace("{value}", shown))
            if spec.unknown == "error":
                accepted = ", ".join(sorted(spec.values))
                raise MappingError(column, f"unknown value {shown!r}; accepted: {accepted}")
        else:
            raw = mapped or None
            if raw is None:
                return None
    if name in DATETIME_FIELDS:
        return _datetime(raw, spec.formats, column)
    if name == "event.amount":
        return _amount(raw, column)
    if name.startswith("event.") and name not in EVENT_FIELDS:
        return raw  # a property keeps its JSON type (numbers, lists, objects)
    if isinstance(raw, dict | list):
        raise MappingError(column, f"expected text for {name}, got a JSON {type(raw).__name__}")
    text = value_key(raw) if isinstance(raw, bool) else str(raw)
    return f"{spec.prefix}{text}"


def _datetime(raw: Any, formats: tuple[str, ...], column: str) -> str:
    """An ISO 8601 timestamp in the CDP's form; a naive time is UTC (the CDP's rule)."""
    if isinstance(raw, str):
        parsed: datetime | str | None = None
        for fmt in formats:
            try:
                parsed = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
        try:
            return clock.normalize_ts(parsed or raw)
        except ValueError as exc:
            if "accepted years" in str(exc):
                raise MappingError(column, str(exc)) from None
    example = datetime(2024, 1, 5, 10, 15, 23, tzinfo=timezone(timedelta(hours=-5)))
    expected = " or ".join([example.strftime(f) for f in formats] + ["ISO 8601"])
    raise MappingError(column, f"not a date and time: {visible(str(raw))[:40]!r} (expected {expected})")


def _amount(raw: Any, column: str) -> float:
    """A plain decimal, with currency marks and thousands commas allowed; anything ambiguous refused."""
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw) if abs(raw) < 1e300 else None
    elif isinstance(raw, str) and (
        _PLAIN_AMOUNT.match(text := _CURRENCY_MARKS.sub("", raw)) or _THOUSANDS_AMOUNT.match(text)
    ):
        value = float(text.replace(",", ""))
    if value is None or not math.isfinite(value):
        shown = visible(str(raw))[:40]
        raise MappingError(column, f"not an amount: {shown!r} (write plain decimals such as 1234.50)")
    return value


def _closest(name: str, options: cabc.Iterable[str]) -> str | None:
    options = list(options)
    for option in options:
        if option.casefold() == name.casefold():
            return option
    folded = {o.casefold(): o for o in options}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.5)
    return folded[close[0]] if close else None


# --- presets and --map ------------------------------------------------------------------------


@cache
def load_preset(name: str) -> Mapping:
    """The mapping table of a preset (`shopify-customers` ...); MappingError lists the names."""
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise MappingError("--from", f"unknown preset {name!r}{hint} (presets: {', '.join(PRESETS)})")
    text = presets_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")
    mapping = Mapping(**parse_table(tomllib.loads(text)))
    if mapping.name != name:
        raise ValueError(f"preset file {name}.toml names itself {mapping.name!r}")
    return mapping


def _adhoc() -> Mapping:
    """A mapping with no preset: every column named like a target field maps to that field."""
    maps = shared_values()
    specs = {name: parse_spec(name, name, maps) for name in TARGET_FIELDS if "<" not in name}
    specs["profile_id"] = replace(specs["profile_id"], derive=IDENTIFIER_FIELDS, derive_prefix="id-")
    description = "a file whose columns are named like the CDP's fields, plus --map COLUMN=FIELD"
    return Mapping(name="custom", description=description, fields=describe(specs.items()), specs=specs)


def _parse_entry(entry: str) -> tuple[str, str]:
    column, sep, target = entry.rpartition("=")
    column, target = column.strip(), target.strip()
    if not sep or not column or not target:
        raise MappingError(
            entry, "a --map entry is COLUMN=FIELD, e.g. --map 'E-mail=email' (FIELD - drops a column)"
        )
    if target not in _IGNORE:
        try:
            check_field(target)
        except MappingError as exc:
            raise MappingError(entry, exc.message) from None
    return column, target


def with_overrides(base: Mapping | None, maps: cabc.Sequence[str]) -> Mapping:
    """`base` with each `--map COLUMN=FIELD` applied in order (base None: no preset, see `_adhoc`).

    FIELD `-` or `ignore` makes the mapping ignore the column everywhere. Any other FIELD now reads
    COLUMN on every row (the rules' own sources for it included), keeping the preset's reading of
    values for that field (value map, date formats, prefix); the column must then be in the header.
    """
    mapping = base if base is not None else _adhoc()
    if not maps:
        return mapping
    specs, rules, ignored = dict(mapping.specs), list(mapping.rules), set(mapping.ignored)
    shared = shared_values()
    for entry in maps:
        column, target = _parse_entry(entry)
        if target in _IGNORE:
            ignored.add(column)
            continue
        ignored.discard(column)
        old = specs.get(target) or next((r.fields[target] for r in rules if target in r.fields), None)
        if old is None or old.const is not None:
            old = parse_spec(target, column, shared)
        specs[target] = replace(old, columns=(column,), const=None, required=True)
        rules = [replace(r, fields={k: v for k, v in r.fields.items() if k != target}) for r in rules]
    pairs = spec_pairs(specs, rules)
    names = {name for name, _ in pairs}
    if any(n.startswith("event.") for n in names) and "event.type" not in names:
        raise MappingError("--map", "event fields need an event type: map a column to event.type")
    return replace(
        mapping,
        fields=describe(pairs, ignored),
        specs=specs,
        rules=tuple(rules),
        ignored=frozenset(ignored),
    )


__all__ = (
    "PRESETS",
    "TARGET_FIELDS",
    "ImportKind",
    "Mapping",
    "MappingError",
    "Record",
    "load_preset",
    "with_overrides",
)
