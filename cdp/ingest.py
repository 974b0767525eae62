"""Write data into the CDP: events, profiles, consents and identifiers, validated and batched.

Every path is idempotent: events are `INSERT OR IGNORE` on `message_id` (a re-sent event is never
doubled), profiles and consents are upserts, identifiers are links that resolution merges. Rows for a
profile that was merged away are written to its master (`profile_merges`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from cdp import clock
from cdp.event_owner import PROTECTIVE_TYPES, foreign_tickets, taken_message_ids
from cdp.identity import (
    IdentitySettings,
    ResolutionResult,
    masters_of,
    normalize_identifier,
    resolve_identities,
)
from cdp.input_checks import check_json, check_text, latest_allowed, loads_json, not_future
from cdp.migrations.m001_core import CHANNELS, EVENT_TYPES
from cdp.normalize import country_code, language_code

MAX_ERRORS = 20
MAX_PROPERTIES_BYTES = 16_384
#: Largest amount one purchase may carry: a typo or a hostile 1e300 would otherwise own every
#: lifetime-value ranking (and the high-value audience) for good.
MAX_PURCHASE_AMOUNT = 1_000_000
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,99}$"

EventType = Literal[
    "purchase",
    "page_view",
    "email_open",
    "email_click",
    "sms_click",
    "push_open",
    "support_ticket",
    "complaint",
    "unsubscribe",
]
Channel = Literal["email", "sms", "push"]
IdentityKind = Literal["email", "phone", "crm_id", "device_id", "cookie"]


@dataclass(frozen=True)
class IngestResult:
    """Outcome of an event ingestion: inserted + duplicates + rejected = rows offered."""

    inserted: int
    duplicates: int
    rejected: int
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a profile, consent or identity write."""

    written: int
    unchanged: int
    rejected: int
    errors: tuple[str, ...] = ()
    resolution: ResolutionResult | None = None


# --- validation shared by the fast ingest path and the pydantic models of the importer ----------


def clean_properties(event_type: str, properties: Any) -> str:
    """Validate an event's properties for its type and return them as compact JSON text.

    Purchases need a finite, non-negative numeric `amount` (rounded to cents, so lifetime values add
    up exactly) and a non-empty `category`.
    """
    if properties is None:
        props: dict[str, Any] = {}
    elif isinstance(properties, str):
        try:
            props = loads_json(properties) if properties.strip() else {}
        except ValueError as exc:
            raise ValueError(f"properties: {exc}") from None
    elif isinstance(properties, Mapping):
        try:
            props = check_json(dict(properties))
        except ValueError as exc:
            raise ValueError(f"properties: {exc}") from None
    else:
        raise ValueError(f"properties must be a JSON object, got {type(properties).__name__}")
    if not isinstance(props, dict):
        raise ValueError("properties must be a JSON object")
    if event_type == "purchase":
        amount = props.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
            raise ValueError(f"a purchase needs a numeric amount, got {amount!r}")
        if amount < 0:
            raise ValueError(f"a purchase amount cannot be negative, got {amount!r}")
        if amount > MAX_PURCHASE_AMOUNT:
            raise ValueError(f"a purchase amount may be at most {MAX_PURCHASE_AMOUNT:,}, got {amount!r}")
        props["amount"] = round(float(amount), 2)
        category = props.get("category")
        if not isinstance(category, str) or not category.strip():
            raise ValueError("a purchase needs a category")
        props["category"] = category.strip()
    elif event_type == "unsubscribe" and props.get("channel", "email") not in CHANNELS:
        raise ValueError(f"unsubscribe channel must be one of {', '.join(CHANNELS)}")
    elif event_type == "support_ticket":
        if props.get("status", "open") not in ("open", "closed"):
            raise ValueError("a support_ticket status must be open or closed")
        ticket_id = props.get("ticket_id")
        if ticket_id is not None and (not isinstance(ticket_id, str) or not ticket_id.strip()):
            raise ValueError(f"a support_ticket ticket_id must be non-empty text, got {ticket_id!r}")
    try:
        text = json.dumps(props, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"properties cannot be stored as JSON: {exc}") from None
    if len(text) > MAX_PROPERTIES_BYTES:
        raise ValueError(f"properties are larger than {MAX_PROPERTIES_BYTES} bytes")
    return text


def clean_ts(value: Any, what: str = "ts") -> str:
    """Any ISO timestamp (Z, offset or naive = UTC) in the stored form; ValueError names the field."""
    if not isinstance(value, str | datetime):
        raise ValueError(f"{what} must be an ISO timestamp, got {value!r}")
    try:
        return clock.normalize_ts(value)
    except ValueError as exc:
        if "accepted years" in str(exc):
            raise ValueError(f"{what}: {exc}") from None
        raise ValueError(f"{what} is not an ISO timestamp: {value!r}") from None


def derived_message_id(profile_id: str, event_type: str, ts: str, properties: str) -> str:
    """An id for an event sent without one: the same event re-sent gets the same id, so it dedupes."""
    digest = hashlib.sha256(f"{profile_id}|{event_type}|{ts}|{properties}".encode()).hexdigest()
    return f"h-{digest[:32]}"


_EVENT_TYPES = frozenset(EVENT_TYPES)


def _text_field(value: str, what: str, **kw: bool) -> str:
    try:
        return check_text(value, **kw)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def event_tuple(
    row: Mapping[str, Any], default_ts: str, latest: str | None = None
) -> tuple[str, str, str, str, str]:
    """(message_id, profile_id, type, ts, properties JSON) of a valid event row, else ValueError.

    A `ts` later than `latest` (the CDP clock plus a small skew; default: now) is refused.
    """
    event_type = row.get("type")
    if event_type not in _EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {', '.join(EVENT_TYPES)}")
    profile_id = row.get("profile_id")
    if not isinstance(profile_id, str) or not profile_id.strip():
        raise ValueError("profile_id is required")
    if len(profile_id) > 100:
        raise ValueError("profile_id must be text of at most 100 characters")
    _text_field(profile_id.strip(), "profile_id")
    raw_ts = row.get("ts")
    ts = default_ts if raw_ts is None or raw_ts == "" else clean_ts(raw_ts)
    try:
        not_future(ts, latest or latest_allowed())
    except ValueError as exc:
        raise ValueError(f"ts: {exc}") from None
    props = clean_properties(event_type, row.get("properties"))
    message_id = row.get("message_id")
    if message_id is None or message_id == "":
        message_id = derived_message_id(profile_id, event_type, ts, props)
    elif not isinstance(message_id, str) or len(message_id) > 200:
        raise ValueError("message_id must be text of at most 200 characters")
    else:
        _text_field(message_id, "message_id")
    return message_id, profile_id.strip(), event_type, ts, props


# --- pydantic row models (the importer validates files with these) ------------------------------


#: Fields that hold a timestamp: none may be later than the CDP clock (plus `FUTURE_SKEW`).
TIMESTAMP_FIELDS = ("ts", "signup_at", "updated_at", "seen_at")


class _Row(BaseModel):
    """A row from outside: text without control characters or formula prefixes, no future timestamps.

    Validate with `context=row_context(db)` so timestamps are checked against the CDP's own clock;
    without it, `CDP_NOW` or the wall clock is used.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name != "properties":  # JSON: `clean_properties`
            # An identifier's own syntax may start with "+" (a phone number): it is normalised instead.
            check_text(value, formula=info.field_name != "value")
        return value

    @model_validator(mode="after")
    def _not_future(self, info: ValidationInfo) -> Any:
        context = info.context if isinstance(info.context, dict) else {}
        latest = context.get("latest") or latest_allowed()
        for name in TIMESTAMP_FIELDS:
            value = getattr(self, name, None)
            if isinstance(value, str) and value:
                # A value that does not parse is refused here, never let through unchecked.
                stored = clean_ts(value, name)
                try:
                    not_future(stored, latest)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return self


class EventIn(_Row):
    message_id: str | None = Field(default=None, max_length=200)
    profile_id: str = Field(min_length=1, max_length=100)
    type: EventType
    ts: str | None = None
    properties: dict[str, Any] | str | None = None

    @model_validator(mode="after")
    def _check(self) -> EventIn:
        if self.ts:
            self.ts = clean_ts(self.ts)
        self.properties = clean_properties(self.type, self.properties)
        return self


class ProfileIn(_Row):
    profile_id: str = Field(pattern=ID_PATTERN)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    country: str | None = None
    city: str | None = Field(default=None, max_length=100)
    language: str | None = None
    tier: Literal["standard", "premium", "vip"] | None = None
    signup_at: str | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        """ISO 3166 alpha-2, from a code, an alias or a name ("UK", "Deutschland": GB, DE)."""
        return country_code(value) if value else None

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        """ISO 639-1, with a country if one is given ("English": en, "de_de": de-DE)."""
        return language_code(value) if value else None

    @field_validator("signup_at")
    @classmethod
    def _signup(cls, value: str | None) -> str | None:
        return clean_ts(value, "signup_at") if value else None


class ConsentIn(_Row):
    profile_id: str = Field(min_length=1, max_length=100)
    channel: Channel
    status: Literal["granted", "denied", "revoked"]
    updated_at: str | None = None
    source: str | None = Field(default=None, max_length=100)

    @field_validator("updated_at")
    @classmethod
    def _updated(cls, value: str | None) -> str | None:
        return clean_ts(value, "updated_at") if value else None


class IdentityIn(_Row):
    profile_id: str = Field(min_length=1, max_length=100)
    kind: IdentityKind
    value: str = Field(min_length=1)
    source: str | None = Field(default=None, max_length=100)
    seen_at: str | None = None

    @model_validator(mode="after")
    def _normalize(self, info: ValidationInfo) -> IdentityIn:
        context = info.context if isinstance(info.context, dict) else {}
        # A phone without a country code is read in the context's "region" (the file's default
        # country); without one it is refused rather than guessed.
        self.value = normalize_identifier(self.kind, self.value, context.get("region"))
        # Only a phone's own syntax starts with "+" (and normalisation leaves digits after it);
        # every other kind is text a spreadsheet must not run.
        if self.kind != "phone":
            _text_field(self.value, "value")
        if self.seen_at:
            self.seen_at = clean_ts(self.seen_at, "seen_at")
        return self


# --- helpers -------------------------------------------------------------------------------------


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def live_ids(conn, ids: Iterable[str]) -> tuple[dict[str, str], set[str]]:
    """(merged id -> master, ids that are live profiles), each looked up in one query per 900 ids."""
    wanted = list(dict.fromkeys(ids))
    merged = masters_of(conn, wanted)
    targets = list(dict.fromkeys(merged.get(p, p) for p in wanted))
    live: set[str] = set()
    for start in range(0, len(targets), 900):
        chunk = targets[start : start + 900]
        marks = ",".join("?" * len(chunk))
        live.update(
            r[0]
            for r in conn.execute(f"SELECT profile_id FROM profiles WHERE profile_id IN ({marks})", chunk)
        )
    return merged, live


def row_context(db, region: str | None = None) -> dict[str, str]:
    """The validation context of the row models for this CDP: the latest timestamp its clock allows,
    and the default country of phone numbers written without a country code (`region`, optional)."""
    context = {"latest": latest_allowed(clock.now(db))}
    if region:
        context["region"] = country_code(region)
    return context


def _as_models(
    rows: Iterable[Any], model: type[BaseModel], errors: list[str], db, region: str | None = None
) -> list[Any]:
    valid = []
    context = row_context(db, region)
    for n, row in enumerate(rows, start=1):
        try:
            valid.append(row if isinstance(row, model) else model.model_validate(row, context=context))
        except ValueError as exc:
            if len(errors) < MAX_ERRORS:
                errors.append(f"row {n}: {_first_error(exc)}")
    return valid


def _first_error(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)


# --- writers (the `_write_*` forms run inside the caller's transaction; the importer uses them) ---


def _note(errors: list[str], message: str) -> None:
    if len(errors) < MAX_ERRORS:
        errors.append(message)


def write_events(
    conn, valid: Sequence[tuple[str, str, str, str, str]], now: str, create_missing: bool, errors: list[str]
) -> tuple[int, int, int]:
    """Insert validated event tuples in the open transaction; returns (inserted, duplicates, rejected)."""
    merged, live = live_ids(conn, (v[1] for v in valid))
    mapped = [(m, merged.get(pid, pid), t, ts, props) for m, pid, t, ts, props in valid]
    taken = taken_message_ids(conn, mapped)
    for n in taken:  # an unsubscribe or complaint still counts, under an id of its own content
        message_id, pid, event_type, ts, props = mapped[n]
        if event_type in PROTECTIVE_TYPES:
            mapped[n] = (derived_message_id(pid, event_type, ts, props), pid, event_type, ts, props)
    foreign = foreign_tickets(conn, mapped)
    first_seen: dict[str, str] = {}
    ready = []
    rejected = 0
    for n, (message_id, pid, event_type, ts, props) in enumerate(mapped):
        reason = foreign.get(n) or (taken.get(n) if event_type not in PROTECTIVE_TYPES else None)
        if reason:
            rejected += 1
            _note(errors, f"event {message_id}: {reason}")
            continue
        if pid not in live:
            if not create_missing:
                rejected += 1
                _note(errors, f"event {message_id}: unknown profile {pid!r}")
                continue
            if pid not in first_seen or ts < first_seen[pid]:
                first_seen[pid] = ts
        ready.append((message_id, pid, event_type, ts, props, now))
    if first_seen:
        conn.executemany(
            "INSERT OR IGNORE INTO profiles (profile_id, signup_at, created_at) VALUES (?, ?, ?)",
            [(pid, ts, now) for pid, ts in first_seen.items()],
        )
    if not ready:
        return 0, 0, rejected
    # Profile order keeps consecutive inserts on neighbouring index pages (a stable sort, so events
    # with the same profile and time keep their order).
    ready.sort(key=lambda r: (r[1], r[3]))
    cur = conn.executemany(
        """INSERT OR IGNORE INTO events (message_id, profile_id, type, ts, properties, received_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        ready,
    )
    inserted = max(cur.rowcount, 0)
    return inserted, len(ready) - inserted, rejected


def ingest_events(
    db, rows: Iterable[Mapping[str, Any]], batch_size: int = 1000, *, create_missing: bool = True
) -> IngestResult:
    """Validate and insert events in batches (one transaction each); re-sent message_ids are ignored.

    Events for a merged profile go to its master. An event for an unknown profile creates a bare
    profile (signup at its first event), as a CDP does for a first-seen visitor, unless
    `create_missing=False`, which rejects it instead. A missing `ts` means now; a `ts` later than
    the CDP clock plus `FUTURE_SKEW` is rejected (it would outrank every real event until then); a
    missing `message_id` is derived from the event's content, so re-sending it still dedupes.
    """
    conn = db.conn
    now = clock.now_iso(db)
    latest = latest_allowed(clock.now(db))
    inserted = duplicates = rejected = 0
    errors: list[str] = []
    offset = 0
    for batch in _batches(rows, batch_size):
        valid: list[tuple[str, str, str, str, str]] = []
        for n, row in enumerate(batch, start=offset + 1):
            try:
                valid.append(event_tuple(row, now, latest))
            except (ValueError, TypeError, AttributeError) as exc:
                rejected += 1
                _note(errors, f"row {n}: {exc}")
        offset += len(batch)
        if valid:
            with conn:
                i, d, r = write_events(conn, valid, now, create_missing, errors)
            inserted, duplicates, rejected = inserted + i, duplicates + d, rejected + r
    return IngestResult(inserted, duplicates, rejected, tuple(errors))


def write_profiles(conn, rows: Sequence[Mapping[str, Any]], now: str) -> int:
    """Upsert validated profile rows (dicts of the profile fields) in the open transaction.

    Merged ids write to their master. A row changes a profile only where it brings a new value, and
    the count is of profiles that changed, so writing the same rows again writes nothing.
    """
    if not rows:
        return 0
    merged = masters_of(conn, (r["profile_id"] for r in rows))
    params = [
        (
            merged.get(r["profile_id"], r["profile_id"]),
            r.get("first_name"),
            r.get("last_name"),
            r.get("country"),
            r.get("city"),
            r.get("language"),
            r.get("tier"),
            r.get("signup_at"),
            now,
        )
        for r in rows
    ]
    cur = conn.executemany(
        # signup_day is written with the row, so the trigger that fills it has nothing left to do.
        """INSERT INTO profiles (profile_id, first_name, last_name, country, city, language, tier,
               signup_at, created_at, signup_day)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, 'standard'), COALESCE(?8, ?9), ?9,
               julianday(COALESCE(?8, ?9)))
           ON CONFLICT (profile_id) DO UPDATE SET
               first_name = COALESCE(excluded.first_name, first_name),
               last_name = COALESCE(excluded.last_name, last_name),
               country = COALESCE(excluded.country, country),
               city = COALESCE(excluded.city, city),
               language = COALESCE(excluded.language, language),
               tier = COALESCE(?7, tier),
               signup_at = COALESCE(?8, signup_at)
           WHERE (?2 IS NOT NULL AND ?2 IS NOT first_name) OR (?3 IS NOT NULL AND ?3 IS NOT last_name)
              OR (?4 IS NOT NULL AND ?4 IS NOT country) OR (?5 IS NOT NULL AND ?5 IS NOT city)
              OR (?6 IS NOT NULL AND ?6 IS NOT language) OR (?7 IS NOT NULL AND ?7 IS NOT tier)
              OR (?8 IS NOT NULL AND ?8 IS NOT signup_at)""",
        params,
    )
    return max(cur.rowcount, 0)


def upsert_profiles(db, rows: Iterable[Mapping[str, Any] | ProfileIn]) -> WriteResult:
    """Create profiles or update the attributes given (absent or empty fields keep their value)."""
    errors: list[str] = []
    models: list[ProfileIn] = _as_models(rows, ProfileIn, errors, db)
    rejected = len(errors)
    with db.conn:
        written = write_profiles(db.conn, [m.model_dump() for m in models], clock.now_iso(db))
    return WriteResult(written, len(models) - written, rejected, tuple(errors))


def _known(
    conn, rows: Sequence[Mapping[str, Any]], errors: list[str], what: str
) -> tuple[list[tuple[Mapping[str, Any], str]], int]:
    """(row, live profile id) for rows whose profile exists (merged ids map to the master)."""
    merged, live = live_ids(conn, (r["profile_id"] for r in rows))
    known = []
    rejected = 0
    for r in rows:
        pid = merged.get(r["profile_id"], r["profile_id"])
        if pid in live:
            known.append((r, pid))
        else:
            rejected += 1
            _note(errors, f"{what}: unknown profile {r['profile_id']!r}")
    return known, rejected


def _grant_time(status: str, updated_at: str, now: str) -> str:
    """A grant's stored time: never later than `now` (compared as instants, not as text)."""
    if status != "granted":
        return updated_at
    return min(updated_at, now, key=clock.parse_ts)


def write_consents(
    conn, rows: Sequence[Mapping[str, Any]], now: str, errors: list[str]
) -> tuple[int, int, int]:
    """Upsert consent rows in the open transaction; returns (written, unchanged or older, rejected).

    A row that repeats the stored consent (time, status and source) changes nothing, so a file
    imported again writes nothing new; a row without `updated_at` is dated now.
    """
    known, rejected = _known(conn, rows, errors, "consent")
    # A grant is never dated after the moment it is recorded (within the accepted clock skew it
    # would be); m064's triggers hold the same rule for any other writer.
    params = [
        (
            pid,
            r["channel"],
            r["status"],
            _grant_time(r["status"], r.get("updated_at") or now, now),
            r.get("source"),
        )
        for r, pid in known
    ]
    if not params:
        return 0, 0, rejected
    cur = conn.executemany(
        """INSERT INTO consents (profile_id, channel, status, updated_at, source) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (profile_id, channel) DO UPDATE SET
               status = excluded.status, updated_at = excluded.updated_at, source = excluded.source
           WHERE excluded.updated_at > consents.updated_at
              OR (excluded.updated_at = consents.updated_at
                  AND (excluded.status IS NOT consents.status OR excluded.source IS NOT consents.source))""",
        params,
    )
    written = max(cur.rowcount, 0)
    return written, len(params) - written, rejected


def upsert_consents(db, rows: Iterable[Mapping[str, Any] | ConsentIn]) -> WriteResult:
    """Record consent per profile and channel; an update older than the stored one is ignored.

    Absent consent means not granted, so only `granted` rows ever allow contact. A missing
    `updated_at` means now.
    """
    errors: list[str] = []
    models: list[ConsentIn] = _as_models(rows, ConsentIn, errors, db)
    invalid = len(errors)
    with db.conn:
        written, stale, rejected = write_consents(
            db.conn, [m.model_dump() for m in models], clock.now_iso(db), errors
        )
    return WriteResult(written, stale, rejected + invalid, tuple(errors))


def write_identities(
    conn, rows: Sequence[Mapping[str, Any]], now: str, errors: list[str]
) -> tuple[int, int, int, list[tuple[str, str]]]:
    """Insert identifier links in the open transaction; returns (new, known, rejected, keys written)."""
    known, rejected = _known(conn, rows, errors, "identity")
    params = [(r["kind"], r["value"], pid, r.get("source"), r.get("seen_at") or now) for r, pid in known]
    if not params:
        return 0, 0, rejected, []
    cur = conn.executemany(
        """INSERT OR IGNORE INTO identity_links (kind, value, profile_id, source, seen_at)
           VALUES (?, ?, ?, ?, ?)""",
        params,
    )
    written = max(cur.rowcount, 0)
    conn.executemany(
        """INSERT OR IGNORE INTO identities (kind, value, profile_id, source, first_seen_at)
           VALUES (?, ?, ?, ?, ?)""",
        params,
    )
    return written, len(params) - written, rejected, [(p[0], p[1]) for p in params]


def add_identities(
    db,
    rows: Iterable[Mapping[str, Any] | IdentityIn],
    *,
    resolve: bool = True,
    settings: IdentitySettings | None = None,
    region: str | None = None,
) -> WriteResult:
    """Link identifiers to profiles, then merge the profiles the new links connect (when `resolve`).

    Values are normalised first (emails trimmed and lower-cased, phones E.164, a number without a
    country code read in `region`), so `A@X.com` and `a@x.com` match, as do `+44 20 7946 0958` and
    `+442079460958`. The links and the merges they cause are written in one transaction.
    """
    errors: list[str] = []
    models: list[IdentityIn] = _as_models(rows, IdentityIn, errors, db, region)
    invalid = len(errors)
    conn = db.conn
    resolution = None
    with conn:
        written, unchanged, rejected, keys = write_identities(
            conn, [m.model_dump() for m in models], clock.now_iso(db), errors
        )
        if resolve and keys:
            resolution = resolve_identities(db, settings, keys=keys)
    return WriteResult(written, unchanged, rejected + invalid, tuple(errors), resolution)


__all__: Sequence[str] = (
    "ConsentIn",
    "EventIn",
    "IdentityIn",
    "IngestResult",
    "ProfileIn",
    "WriteResult",
    "add_identities",
    "clean_properties",
    "event_tuple",
    "ingest_events",
    "row_context",
    "upsert_consents",
    "upsert_profiles",
    "write_consents",
    "write_events",
    "write_identities",
    "write_profiles",
)
