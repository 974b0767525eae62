"""The contact-policy gate: the one place that turns send requests into sends, or stops them with a reason.

Whatever an agent or a model asks for, a customer only gets a message the gate allows. It decides every
undecided request of a campaign step in one `BEGIN IMMEDIATE` transaction (concurrent processes queue up,
and signals written a moment ago are read), entirely in SQL set operations over temp tables.

Precedence (each stopped request gets exactly one reason, the first that applies):

1. ``invalid_channel``   the channel is not email, sms or push;
2. ``unknown_profile``   no such profile (evidence names the master when it was merged away);
3. ``holdout``           in the campaign's control group (hash of campaign and profile, see below);
4. ``no_consent``        the channel's consent is not ``granted`` now (revoked, denied or absent);
5. ``open_ticket``       promotional and the customer has an open support ticket;
6. ``recent_complaint``  promotional and a complaint within ``complaint_window_days`` before now;
7. ``service_suppression`` promotional and trait ``suppress_promotions`` = '1' (customer service);
8. ``quiet_hours``       SMS or push with no instant (within 3 days) outside the quiet hours in every
                         zone the customer may be in; always so when no local time is known;
9. ``conflicting_offer`` the campaign's offer contradicts another live offer the customer holds;
10. ``frequency_cap``    promotional and ``frequency_cap`` promotional sends already fall within
                         ``frequency_window_days`` before or after the scheduled time;
11. ``over_budget``      the campaign budget cannot pay this send at the channel's cost.

One touch per campaign step: a customer gets at most one message per (campaign, step). When several
channels are requested for the same customer and step, the gate keeps one (a consented channel first,
then the cheaper, then by name) and marks the others ``superseded`` (reason ``duplicate_request``), as
it does for a request whose customer-step was already decided by an earlier run. Every request row
records its outcome (`send_requests.outcome`: scheduled, held_out, suppressed, superseded); each stopped
or held-out customer-step gets one `decisions` row with the rule and the evidence used; each allowed one
gets one `sends` row (rule 'allowed', consent at that moment, thread/task/agent).

Definitions the rules rely on:

* promotional: every campaign, unless a person listed its `message_kind` as transactional
  (`transactional_message_kinds`, written only by `cdp-agents message-kinds`), its row says
  `promotional = 0` and it carries no offer (offer_kind or discount_pct). The kind list decides; the
  row's flag and an offer can only make a message promotional, never exempt it. A campaign planned from
  an objective is always `marketing`, so nothing a model writes can switch the marketing rules off.
* frequency window: a send at t is allowed only when fewer than `frequency_cap` live promotional sends
  (status scheduled or delivered, any campaign, agent or channel, this run's earlier steps included)
  lie strictly within `frequency_window_days` of t, before or after. That is every window that could
  hold t together with them, so no rolling window ever holds more than the cap, whatever order sends
  are scheduled in (a later step scheduled earlier, a future send decided first).
* live offer: a send with status scheduled or delivered of a campaign with an offer, live from its
  `scheduled_for` until the campaign's `offer_expires_at`, or `offer_live_days` (default 14) after
  `scheduled_for` when it has none. Two offers conflict when their live periods overlap and either both
  carry a discount_pct that differs while their categories overlap (same category, or either has no
  category = store-wide), or their kinds contradict (`offer_kind_conflicts`: last_chance/welcome,
  welcome/winback, last_chance/early_access). The offer being decided now is the later one: it loses.
* quiet hours: SMS and push are only scheduled at an instant outside the quiet hours (`quiet_hours_start`
  to `quiet_hours_end`, local) in EVERY zone the customer may be in (`customer_zones`, data in
  `cdp.zones`): the city's zone when the profile's (country, city) is listed, else all zones of the
  country (the US spans New York to Honolulu). A send that falls in the quiet hours somewhere moves to the
  earliest instant allowed everywhere (past DST gaps) and counts as deferred. A missing or unknown country
  means no local time is known: the whole world's zones apply, where no instant is ever outside quiet
  hours, so the request is stopped (`quiet_hours`, evidence "no local time known"). Times are computed in
  Python once per distinct (country, city, requested time), never per customer, and joined in SQL. A
  requested time in the past means now.
* holdout: bucket = a pure-SQL hash of profile_id (a weighted sum of its last 16 and first 8 bytes, read
  4 at a time as the decimal digits of hex(hex(bytes)), and its length, mod 2^31-1), mixed with salts
  derived from sha256(campaign_id) through two rounds of x -> x^2 + s*x mod 2^31-1, mod 10000. A
  customer is held out when bucket < holdout_pct x 100 (the campaign's holdout_pct, else the policy's).
  It needs no custom SQL function and no stored column, is the same in every process and run, differs
  per campaign, and `holdout_bucket_sql` lets any analysis recompute it. Holdout is decided before
  consent, so the control group is drawn from the same audience as the treated group.
* budget: spend is counted in micro-units (no float drift at the boundary); the campaign's live sends
  (all steps) are paid first, then the remaining candidates in order of lifetime value (highest first),
  then profile_id; the first that does not fit and everyone after it are cut.

The write path is closed twice: no module but this one writes `sends` (a test scans the code base), and
the trigger `sends_gate_only` (migration m020) refuses any row without a staged request, with a stopping
decision, or without granted consent for its channel at insert time, whoever writes it.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cdp import clock
from cdp.db import sqlite_connection
from cdp.errors import CdpError, UnknownCampaignError
from cdp.migrations.m001_core import CHANNELS
from cdp.policy import ContactPolicy
from cdp.zones import CITY_ZONES, COUNTRY_ALIASES, COUNTRY_ZONES, WORLD_ZONES

__all__ = [
    "CHANNELS",
    "COUNTRY_TIMEZONES",
    "PRECEDENCE",
    "GateError",
    "GateResult",
    "UnknownCampaignError",
    "customer_zones",
    "decide",
    "discard_campaign",
    "holdout_bucket_sql",
    "immediate_transaction",
    "local_timezone",
    "next_allowed_time",
    "run_gate",
]

QUIET_CHANNELS = ("sms", "push")
# The city a slot is keyed by: only SMS and push need it (quiet hours), so email slots stay per country.
_SLOT_CITY = "CASE WHEN {t}.channel IN ('sms', 'push') THEN COALESCE({p}.city, '') ELSE '' END"
LIVE_STATUSES = ("scheduled", "delivered")
SUPPRESSION_TRAIT = "suppress_promotions"
DEFAULT_OFFER_LIVE_DAYS = 14
BUCKETS = 10_000
_PRIME = 2_147_483_647  # 2^31 - 1: products of two residues stay inside SQLite's 64-bit integers
_MICROS = 1_000_000

PRECEDENCE = (
    "invalid_channel",
    "unknown_profile",
    "holdout",
    "no_consent",
    "open_ticket",
    "recent_complaint",
    "service_suppression",
    "quiet_hours",
    "conflicting_offer",
    "frequency_cap",
    "over_budget",
)
#: How far ahead the gate looks for an instant outside the quiet hours in every zone.
QUIET_SEARCH_DAYS = 3
DUPLICATE = "duplicate_request"

# One main IANA zone per country (the most populous zone where a country has several): for showing
# local times only. Quiet hours use every zone the customer may be in (`customer_zones`).
COUNTRY_TIMEZONES: dict[str, str] = {
    "US": "America/New_York",
    "CA": "America/Toronto",
    "MX": "America/Mexico_City",
    "BR": "America/Sao_Paulo",
    "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago",
    "CO": "America/Bogota",
    "PE": "America/Lima",
    "GB": "Europe/London",
    "UK": "Europe/London",
    "IE": "Europe/Dublin",
    "PT": "Europe/Lisbon",
    "ES": "Europe/Madrid",
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "NL": "Europe/Amsterdam",
    "LU": "Europe/Luxembourg",
    "DE": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "IT": "Europe/Rome",
    "DK": "Europe/Copenhagen",
    "NO": "Europe/Oslo",
    "SE": "Europe/Stockholm",
    "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "HU": "Europe/Budapest",
    "RO": "Europe/Bucharest",
    "GR": "Europe/Athens",
    "TR": "Europe/Istanbul",
    "UA": "Europe/Kyiv",
    "RU": "Europe/Moscow",
    "IL": "Asia/Jerusalem",
    "AE": "Asia/Dubai",
    "SA": "Asia/Riyadh",
    "EG": "Africa/Cairo",
    "ZA": "Africa/Johannesburg",
    "NG": "Africa/Lagos",
    "KE": "Africa/Nairobi",
    "MA": "Africa/Casablanca",
    "IN": "Asia/Kolkata",
    "PK": "Asia/Karachi",
    "BD": "Asia/Dhaka",
    "TH": "Asia/Bangkok",
    "VN": "Asia/Ho_Chi_Minh",
    "ID": "Asia/Jakarta",
    "MY": "Asia/Kuala_Lumpur",
    "SG": "Asia/Singapore",
    "PH": "Asia/Manila",
    "CN": "Asia/Shanghai",
    "HK": "Asia/Hong_Kong",
    "TW": "Asia/Taipei",
    "KR": "Asia/Seoul",
    "JP": "Asia/Tokyo",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
}

# The pure-SQL profile hash reads the id's bytes 4 at a time: hex(hex(bytes)) is all decimal digits
# (each byte becomes 4 of them), so CAST(... AS INTEGER) turns 4 bytes into a 16-digit number with no
# custom function. Chunks: the last 16 bytes and the first 8 (where ids differ), plus the length.
# The weights are fixed forever: changing them would reshuffle every campaign's control group.
_HASH_CHUNKS = (
    (-4, 9_913_271),
    (-8, 4_486_453),
    (-12, 12_582_917),
    (-16, 7_340_033),
    (1, 15_485_863),
    (5, 2_750_159),
)
_LENGTH_WEIGHT = 3_571_427


class GateError(CdpError, ValueError):
    """The gate cannot run as asked (bad step, open transaction on the connection ...)."""


@dataclass
class GateResult:
    """What one gate run decided, for the whole audience: counts by outcome and reason code.

    `requested` = `scheduled` + `held_out` + sum(`suppressed`) + `superseded`; `deferred` counts the
    scheduled sends that quiet hours moved to a later time (they are still in `scheduled`).
    """

    campaign_id: str
    step: int
    requested: int = 0
    scheduled: int = 0
    deferred: int = 0
    held_out: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    superseded: int = 0
    cost: float = 0.0
    budget_remaining: float | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["suppressed"] = dict(sorted(self.suppressed.items()))
        return data


# --- helpers shared with requests, explain and analysis ----------------------------------------------


@contextmanager
def immediate_transaction(conn: sqlite3.Connection, *, rollback: bool = False) -> Iterator[None]:
    """`BEGIN IMMEDIATE` ... COMMIT (or ROLLBACK when `rollback`, or on any error).

    IMMEDIATE takes the write lock up front, so gate runs in several processes queue on the busy
    timeout instead of failing with "database is locked" when a read transaction tries to upgrade,
    and everything read inside is the latest committed state.
    """
    if conn.in_transaction:
        raise GateError(
            "the contact-policy gate needs its own transaction: commit or roll back the connection's "
            "open transaction first"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    if rollback:
        conn.rollback()
    else:
        conn.commit()


def _campaign_salts(campaign_id: str) -> tuple[int, int, int, int]:
    digest = hashlib.sha256(campaign_id.encode("utf-8")).digest()
    parts = [int.from_bytes(digest[i : i + 8], "big") % (_PRIME - 1) + 1 for i in range(0, 32, 8)]
    return parts[0], parts[1], parts[2], parts[3]


def profile_hash_sql(column: str = "profile_id") -> str:
    """A deterministic 31-bit hash of a text column in plain SQL (no custom function needed)."""
    raw = f"CAST({column} AS BLOB)"
    terms = [
        f"(CAST(hex(hex(substr({raw}, {start}, 4))) AS INTEGER) % {_PRIME}) * {weight}"
        for start, weight in _HASH_CHUNKS
    ]
    return f"(({' + '.join(terms)} + length({raw}) * {_LENGTH_WEIGHT}) % {_PRIME})"


def _bucket_from_key_sql(key: str, campaign_id: str) -> str:
    s1, s2, s3, s4 = _campaign_salts(campaign_id)
    x = f"(({key} * {s1} + {s2}) % {_PRIME})"
    y = f"((({x} * {x}) % {_PRIME} + {x} * {s3}) % {_PRIME})"
    z = f"((({y} * {y}) % {_PRIME} + {y} * {s4}) % {_PRIME})"
    return f"({z} % {BUCKETS})"


def holdout_bucket_sql(campaign_id: str, column: str = "profile_id") -> str:
    """SQL expression giving the holdout bucket (0..9999) of `column` in `campaign_id`'s audience."""
    return _bucket_from_key_sql(profile_hash_sql(column), campaign_id)


def local_timezone(country: str | None, city: str | None = None) -> ZoneInfo:
    """A zone to show the customer's local time in: the city's, else the country's main one, else UTC.

    Display only: quiet hours hold in every zone the customer may be in (`customer_zones`).
    """
    zones = customer_zones(country, city)
    if len(zones) == 1:
        return zone_info(zones[0])
    return zone_info(COUNTRY_TIMEZONES.get((country or "").strip().upper(), "UTC"))


def customer_zones(country: str | None, city: str | None = None) -> tuple[str, ...]:
    """Every IANA zone the customer may be in; () when no local time is known (no or unknown country).

    The city's zone when (country, city) is listed in `cdp.zones.CITY_ZONES`, else all of the country's.
    """
    code = (country or "").strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    zones = COUNTRY_ZONES.get(code, ())
    if not zones:
        return ()
    city_zone = CITY_ZONES.get((code, (city or "").strip().lower()))
    return (city_zone,) if city_zone else zones


def _in_quiet_hours(hour: int, start: int, end: int) -> bool:
    if start == end:
        return False
    if start > end:  # wraps midnight, e.g. 21 -> 8
        return hour >= start or hour < end
    return start <= hour < end


def quiet_zone(when: datetime, zones: tuple[str, ...], policy: ContactPolicy) -> ZoneInfo | None:
    """The first of `zones` (every zone of the world when empty) where `when` is in the quiet hours."""
    start, end = policy.quiet_hours_start, policy.quiet_hours_end
    for key in zones or WORLD_ZONES:
        tz = zone_info(key)
        if _in_quiet_hours(when.astimezone(tz).hour, start, end):
            return tz
    return None


def next_allowed_time(
    when: datetime, country: str | None, policy: ContactPolicy, city: str | None = None
) -> datetime | None:
    """The earliest instant from `when` outside the quiet hours in every zone the customer may be in.

    None when there is none within `QUIET_SEARCH_DAYS` (always so when no local time is known and quiet
    hours are on: some zone of the world is always inside them).
    """
    return _next_allowed(
        clock.parse_ts(when), customer_zones(country, city), policy.quiet_hours_start, policy.quiet_hours_end
    )


@functools.cache
def zone_info(key: str) -> ZoneInfo:
    """`ZoneInfo(key)`, kept: zoneinfo's own cache holds only a few zones strongly, and the gate asks
    for every zone of the world for a customer without a known local time."""
    return ZoneInfo(key)


@functools.lru_cache(maxsize=4096)
def _next_allowed(when: datetime, zones: tuple[str, ...], start: int, end: int) -> datetime | None:
    """Cached: a batch asks this for many customers with the same instant and the same zones."""
    if start == end:
        return when
    tzs = [zone_info(key) for key in zones or WORLD_ZONES]

    def allowed(t: datetime) -> bool:
        return not any(_in_quiet_hours(t.astimezone(tz).hour, start, end) for tz in tzs)

    if allowed(when):
        return when
    # The earliest allowed instant is where the last zone leaves its quiet hours: `end:00` local in some
    # zone. Inside a DST gap `end:00` does not exist; fold 0 maps it to the instant the clocks jump (or
    # just after), and every candidate is checked in all zones, so none lands in quiet hours anywhere.
    candidates = set()
    for tz in tzs:
        local_day = when.astimezone(tz).date()
        for days in range(-1, QUIET_SEARCH_DAYS + 1):
            day = local_day + timedelta(days=days)
            t = clock.parse_ts(datetime(day.year, day.month, day.day, end, tzinfo=tz))
            if when < t <= when + timedelta(days=QUIET_SEARCH_DAYS):
                candidates.add(t)
    return next((t for t in sorted(candidates) if allowed(t)), None)


def _quiet_stop_note(country: str, zones: tuple[str, ...]) -> str:
    """Why no instant was allowed: evidence for a `quiet_hours` decision."""
    if not zones:
        shown = repr(country) if country else "missing"
        return f"no local time known (country {shown}): no instant is outside the quiet hours everywhere"
    return (
        f"no instant within {QUIET_SEARCH_DAYS} days is outside the quiet hours in all {len(zones)} "
        f"zones of {country.upper()}"
    )


def _micros(value: float | None) -> int:
    return round(float(value or 0) * _MICROS)


# --- the gate ------------------------------------------------------------------------------------------


def run_gate(
    db,
    campaign_id: str,
    *,
    step: int = 0,
    policy: ContactPolicy | None = None,
    dry_run: bool = False,
) -> GateResult:
    """Decide every undecided send request of (`campaign_id`, `step`) in one transaction.

    Writes sends for allowed requests, a `decisions` row per stopped or held-out customer, and each
    request's outcome; `dry_run` computes the same result and rolls everything back (approval previews).
    Running it again decides only requests staged since: no duplicate send, no second decision.
    """
    conn = sqlite_connection(db)
    with immediate_transaction(conn, rollback=dry_run):
        return decide(conn, campaign_id, step=step, policy=policy, dry_run=dry_run)


def decide(
    conn: sqlite3.Connection,
    campaign_id: str,
    *,
    step: int = 0,
    policy: ContactPolicy | None = None,
    dry_run: bool = False,
) -> GateResult:
    """The gate's work inside a transaction the caller holds (see `run_gate`, `requests.preview`)."""
    policy = policy or ContactPolicy()
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise GateError(f"step must be a non-negative integer, got {step!r}")
    cur = conn.execute(
        """SELECT promotional, offer_kind, offer_category, discount_pct, offer_expires_at, budget,
                  holdout_pct, EXISTS (SELECT 1 FROM transactional_message_kinds t
                                       WHERE t.kind = campaigns.message_kind)
           FROM campaigns WHERE campaign_id = ?""",
        [campaign_id],
    )
    row = cur.fetchone()
    if row is None:
        raise UnknownCampaignError(f"unknown campaign {campaign_id!r}: create it before asking the gate")
    (
        promo_flag,
        offer_kind,
        _offer_category,
        discount_pct,
        offer_expires_at,
        budget,
        holdout_pct,
        exempt_kind,
    ) = row
    if offer_expires_at:
        try:
            offer_expires_at = clock.normalize_ts(offer_expires_at)
        except ValueError as exc:
            raise GateError(
                f"campaign {campaign_id!r} has offer_expires_at {offer_expires_at!r}, not an ISO timestamp"
            ) from exc
    has_offer = offer_kind is not None or discount_pct is not None or campaign_has_offer(conn, campaign_id)
    promotional = bool(promo_flag) or has_offer or not exempt_kind
    holdout = float(policy.holdout_pct if holdout_pct is None else holdout_pct)
    holdout_cut = max(0, min(BUCKETS, round(holdout * BUCKETS / 100)))
    now = clock.now(conn)
    now_iso = clock.iso(now)
    costs = {ch: _micros(policy.channel_costs.get(ch, 0.0)) for ch in CHANNELS}
    params: dict[str, Any] = {
        "cid": campaign_id,
        "step": step,
        "now": now_iso,
        "cost_email": costs["email"],
        "cost_sms": costs["sms"],
        "cost_push": costs["push"],
        "trait": SUPPRESSION_TRAIT,
    }

    for name in ("g_req", "g_slot", "g_conf"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")

    # 1. Scheduled time (quiet hours), frequency window and offer end per distinct (country, city, time),
    #    computed in Python once per slot, never per customer (the city only matters for SMS and push).
    pending = """FROM send_requests r LEFT JOIN profiles p ON p.profile_id = r.profile_id
                 WHERE r.campaign_id = :cid AND r.step = :step AND r.outcome IS NULL"""
    slots = conn.execute(
        f"""SELECT DISTINCT COALESCE(p.country, ''), {_SLOT_CITY.format(t="r", p="p")},
                   CASE WHEN r.send_at > :now THEN r.send_at ELSE :now END,
                   r.channel IN {QUIET_CHANNELS} {pending}""",
        params,
    ).fetchall()
    window = timedelta(days=policy.frequency_window_days)
    live_days = timedelta(days=getattr(policy, "offer_live_days", DEFAULT_OFFER_LIVE_DAYS))
    slot_rows: list[tuple[Any, ...]] = []
    for country, city, send_at, quiet in slots:
        requested = clock.parse_ts(send_at)
        zones = customer_zones(country, city)
        when = next_allowed_time(requested, country, policy, city) if quiet else requested
        if when is None:
            slot_rows.append(
                (country, city, send_at, quiet, None, None, None, None, _quiet_stop_note(country, zones))
            )
            continue
        end = offer_expires_at if offer_expires_at else clock.iso(when + live_days)
        slot_rows.append(
            (
                country,
                city,
                send_at,
                quiet,
                clock.iso(when),
                clock.iso(when - window),
                clock.iso(when + window),
                end,
                None,
            )
        )
    conn.execute(
        """CREATE TEMP TABLE g_slot (country TEXT, city TEXT, send_at TEXT, quiet INTEGER,
           scheduled_for TEXT, win_lo TEXT, win_hi TEXT, offer_end TEXT, quiet_stop TEXT,
           PRIMARY KEY (country, city, send_at, quiet))"""
    )
    conn.executemany("INSERT INTO g_slot VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", slot_rows)

    # One touch per customer-step: rank a customer's channels only when someone asked for several, and
    # look for earlier outcomes of this step only when the step already has some (both are rare).
    several = conn.execute(
        """SELECT 1 FROM send_requests WHERE campaign_id = :cid AND step = :step AND outcome IS NULL
           GROUP BY profile_id HAVING count(*) > 1 LIMIT 1""",
        params,
    ).fetchone()
    pick = (
        "ROW_NUMBER() OVER (PARTITION BY base.profile_id ORDER BY base.consent_status = 'granted' DESC,"
        " base.cost_micros, base.channel)"
        if several
        else "1"
    )
    decided_before = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM sends WHERE campaign_id = :cid AND step = :step)
               OR EXISTS (SELECT 1 FROM decisions WHERE campaign_id = :cid AND step = :step)""",
        params,
    ).fetchone()[0]
    step_decided = (
        """(EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = r.campaign_id
                      AND s.profile_id = r.profile_id AND s.step = r.step)
            OR EXISTS (SELECT 1 FROM decisions d WHERE d.campaign_id = r.campaign_id
                      AND d.profile_id = r.profile_id AND d.step = r.step))"""
        if decided_before
        else "0"
    )

    # 2. The undecided requests with everything the rules read, read now inside the transaction.
    conn.execute(
        f"""CREATE TEMP TABLE g_req AS
        WITH base AS (
            SELECT r.profile_id, r.channel, COALESCE(r.variant, 'default') AS variant,
                   CASE WHEN r.send_at > :now THEN r.send_at ELSE :now END AS send_at,
                   r.thread_id, r.task_id, r.agent,
                   p.profile_id IS NOT NULL AS known,
                   p.country, {_SLOT_CITY.format(t="r", p="p")} AS slot_city,
                   COALESCE(p.lifetime_value, 0) AS ltv,
                   p.open_tickets, p.last_complaint_at,
                   c.status AS consent_status, c.updated_at AS consent_updated_at,
                   c.source AS consent_source,
                   t.value AS sup_value, t.source AS sup_source, t.updated_at AS sup_updated_at,
                   CASE r.channel WHEN 'email' THEN :cost_email WHEN 'sms' THEN :cost_sms
                                  WHEN 'push' THEN :cost_push ELSE 0 END AS cost_micros,
                   {step_decided} AS step_decided
            FROM send_requests r
            LEFT JOIN profiles p ON p.profile_id = r.profile_id
            LEFT JOIN consents c ON c.profile_id = r.profile_id AND c.channel = r.channel
            LEFT JOIN traits t ON t.profile_id = r.profile_id AND t.name = :trait
            WHERE r.campaign_id = :cid AND r.step = :step AND r.outcome IS NULL
        )
        SELECT base.*,
               {profile_hash_sql("base.profile_id")} AS hkey,
               {pick} AS pick,
               CAST(NULL AS TEXT) AS reason,
               sl.scheduled_for, sl.win_lo, sl.win_hi, sl.offer_end, sl.quiet_stop,
               CAST(NULL AS INTEGER) AS bucket,
               CAST(NULL AS INTEGER) AS n_window,
               CAST(NULL AS TEXT) AS conflict_send,
               CAST(NULL AS INTEGER) AS spent_before
        FROM base LEFT JOIN g_slot sl
          ON sl.country = COALESCE(base.country, '') AND sl.city = base.slot_city
         AND sl.send_at = base.send_at AND sl.quiet = (base.channel IN {QUIET_CHANNELS})""",
        params,
    )
    conn.execute("CREATE INDEX temp.g_req_key ON g_req (profile_id, channel)")
    conn.execute(f"UPDATE g_req SET reason = '{DUPLICATE}' WHERE step_decided OR pick > 1")

    # 3. The rules, in precedence order; each only looks at requests no earlier rule stopped.
    conn.execute(
        f"UPDATE g_req SET reason = 'invalid_channel' WHERE reason IS NULL AND channel NOT IN {CHANNELS}"
    )
    conn.execute("UPDATE g_req SET reason = 'unknown_profile' WHERE reason IS NULL AND NOT known")
    if holdout_cut > 0:
        conn.execute(
            f"UPDATE g_req SET bucket = {_bucket_from_key_sql('hkey', campaign_id)} WHERE reason IS NULL"
        )
        conn.execute("UPDATE g_req SET reason = 'holdout' WHERE reason IS NULL AND bucket < ?", [holdout_cut])
    conn.execute(
        "UPDATE g_req SET reason = 'no_consent' WHERE reason IS NULL AND consent_status IS NOT 'granted'"
    )
    if promotional:
        if policy.suppress_open_tickets:
            conn.execute("UPDATE g_req SET reason = 'open_ticket' WHERE reason IS NULL AND open_tickets > 0")
        complaint_lo = clock.iso(now - timedelta(days=policy.complaint_window_days))
        conn.execute(
            "UPDATE g_req SET reason = 'recent_complaint' WHERE reason IS NULL AND last_complaint_at > ?",
            [complaint_lo],
        )
        conn.execute(
            "UPDATE g_req SET reason = 'service_suppression' WHERE reason IS NULL AND sup_value = '1'"
        )
    conn.execute("UPDATE g_req SET reason = 'quiet_hours' WHERE reason IS NULL AND quiet_stop IS NOT NULL")
    if has_offer:
        _conflicting_offers(conn, campaign_id, live_days)
    else:
        conn.execute(
            """CREATE TEMP TABLE g_conf (campaign_id TEXT, offer_expires_at TEXT, offer_kind TEXT,
               offer_category TEXT, discount_pct REAL, kinds TEXT, conflict TEXT)"""
        )
    if promotional:
        conn.execute(
            f"""UPDATE g_req SET n_window = (
                    SELECT count(*) FROM sends s
                    WHERE s.profile_id = g_req.profile_id AND s.scheduled_for > g_req.win_lo
                      AND s.scheduled_for < g_req.win_hi AND s.promotional = 1
                      AND s.status IN {LIVE_STATUSES})
                WHERE reason IS NULL"""
        )
        conn.execute(
            "UPDATE g_req SET reason = 'frequency_cap' WHERE reason IS NULL AND n_window >= ?",
            [policy.frequency_cap],
        )
    spent = conn.execute(
        f"""SELECT COALESCE(sum(CAST(round(cost * {_MICROS}) AS INTEGER)), 0) FROM sends
            WHERE campaign_id = ? AND status IN {LIVE_STATUSES}""",
        [campaign_id],
    ).fetchone()[0]
    budget_micros = _micros(budget) if budget is not None else None
    if (
        budget_micros is not None
        and conn.execute(
            "SELECT COALESCE(sum(cost_micros), 0) > ? FROM g_req WHERE reason IS NULL",
            [budget_micros - spent],
        ).fetchone()[0]
    ):
        conn.execute(
            """UPDATE g_req SET spent_before = w.before,
                   reason = CASE WHEN w.before + g_req.cost_micros > :left THEN 'over_budget' END
               FROM (SELECT rowid AS rid,
                            COALESCE(sum(cost_micros) OVER (
                                ORDER BY ltv DESC, profile_id
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                     FROM g_req WHERE reason IS NULL) w
               WHERE g_req.rowid = w.rid""",
            {"left": budget_micros - spent},
        )

    # 4. Write: sends for the allowed, decisions for the stopped, an outcome on every request.
    expected = conn.execute("SELECT count(*) FROM g_req WHERE reason IS NULL").fetchone()[0]
    inserted = conn.execute(
        f"""INSERT OR IGNORE INTO sends (send_id, campaign_id, profile_id, channel, variant, status,
                idempotency_key, step, scheduled_for, requested_for, promotional, cost, thread_id,
                task_id, agent, rule, consent_status, consent_updated_at, created_at)
            SELECT :cid || ':' || profile_id || ':' || channel || ':' || :step, :cid, profile_id, channel,
                   variant, 'scheduled', :cid || ':' || profile_id || ':' || channel || ':' || :step, :step,
                   scheduled_for, send_at, :promo, cost_micros / {float(_MICROS)}, thread_id, task_id,
                   agent, 'allowed', consent_status, consent_updated_at, :now
            FROM g_req WHERE reason IS NULL""",
        {**params, "promo": int(promotional)},
    ).rowcount
    if inserted != expected:
        raise GateError(
            f"gate inconsistency: {expected} sends allowed but {inserted} written for campaign "
            f"{campaign_id!r} step {step}; nothing was committed"
        )
    rules = _rule_texts(policy, holdout, budget)
    rule_case = " ".join(
        "WHEN '{}' THEN '{}'".format(reason, text.replace("'", "''")) for reason, text in rules.items()
    )
    conn.execute(
        f"""INSERT OR IGNORE INTO decisions (campaign_id, profile_id, channel, step, outcome, reason_code,
                rule, evidence, thread_id, task_id, agent, created_at)
            SELECT :cid, profile_id, channel, :step,
                   CASE reason WHEN 'holdout' THEN 'holdout' ELSE 'suppressed' END, reason,
                   CASE reason {rule_case} END,
                   {_evidence_sql()}, thread_id, task_id, agent, :now
            FROM g_req WHERE reason IS NOT NULL AND reason != '{DUPLICATE}'""",
        {
            **params,
            "cap": policy.frequency_cap,
            "window_days": policy.frequency_window_days,
            "complaint_days": policy.complaint_window_days,
            "holdout_pct": holdout,
            "budget": budget,
            "quiet_start": policy.quiet_hours_start,
            "quiet_end": policy.quiet_hours_end,
        },
    )
    conn.execute(
        f"""UPDATE send_requests SET
                outcome = CASE WHEN g.reason IS NULL THEN 'scheduled'
                               WHEN g.reason = 'holdout' THEN 'held_out'
                               WHEN g.reason = '{DUPLICATE}' THEN 'superseded'
                               ELSE 'suppressed' END,
                reason_code = g.reason, decided_at = :now
            FROM g_req g
            WHERE send_requests.campaign_id = :cid AND send_requests.step = :step
              AND send_requests.profile_id = g.profile_id AND send_requests.channel = g.channel""",
        params,
    )

    result = _summarise(conn, campaign_id, step, dry_run, budget_micros, spent)
    for name in ("g_req", "g_slot", "g_conf"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    return result


#: The far future an unreadable other campaign's expiry is read as: never expires (the stricter reading).
NEVER_EXPIRES = "9999-12-31T23:59:59Z"


def offer_kinds_sql(cid: str) -> str:
    """SQL set of a campaign's offer kinds: the plan's declared kind UNION what its copy names.

    `campaign_offer_kinds` is written in code when content is saved, so a model that leaves the
    kind out of the plan cannot remove a kind the customer will read.
    """
    return f"""(SELECT lower(offer_kind) AS kind FROM campaigns WHERE campaign_id = {cid} AND offer_kind IS NOT NULL
               UNION SELECT kind FROM campaign_offer_kinds WHERE campaign_id = {cid})"""


def offer_discounts_sql(cid: str) -> str:
    """SQL set of a campaign's discounts: the plan's `discount_pct` UNION the percentages its copy names."""
    return f"""(SELECT discount_pct AS pct FROM campaigns WHERE campaign_id = {cid} AND discount_pct IS NOT NULL
               UNION SELECT discount_pct FROM campaign_offer_kinds
                     WHERE campaign_id = {cid} AND discount_pct IS NOT NULL)"""


def _category_sql(cid: str) -> str:
    return f"(SELECT NULLIF(lower(trim(offer_category)), '') FROM campaigns WHERE campaign_id = {cid})"


def offer_conflict_sql(ours: str, theirs: str) -> str:
    """The one definition of two contradicting offers, as SQL over two campaign id expressions.

    'discount' when both offer discounts that differ on overlapping categories (no category =
    store-wide, overlaps every category), 'kind' when any of their kinds contradict
    (`offer_kind_conflicts`), else NULL. The gate and the delivery re-check both use it.
    """
    cat_a, cat_b = _category_sql(ours), _category_sql(theirs)
    return f"""CASE
        WHEN EXISTS (SELECT 1 FROM {offer_discounts_sql(ours)} AS da, {offer_discounts_sql(theirs)} AS db
                     WHERE da.pct != db.pct)
             AND ({cat_a} IS NULL OR {cat_b} IS NULL OR {cat_a} = {cat_b}) THEN 'discount'
        WHEN EXISTS (SELECT 1 FROM offer_kind_conflicts k
                     WHERE k.kind_a IN {offer_kinds_sql(ours)} AND k.kind_b IN {offer_kinds_sql(theirs)})
             THEN 'kind'
        END"""


def offer_end_sql(expires: str, start: str, live_days: int) -> str:
    """SQL end of an offer: its expiry in canonical UTC, else `start` + the live days.

    Expiry text with an offset ('2026-11-24T10:00:00-05:00') is converted by strftime; text that
    does not parse never expires (stricter than comparing it as raw text).
    """
    return f"""CASE WHEN {expires} IS NULL OR trim({expires}) = ''
                    THEN strftime('%Y-%m-%dT%H:%M:%SZ', {start}, '+{int(live_days)} days')
                    ELSE COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', {expires}), '{NEVER_EXPIRES}') END"""


def campaign_has_offer(conn: sqlite3.Connection, campaign_id: str) -> bool:
    """True when the plan or the saved copy gives the campaign an offer (kind or discount)."""
    row = conn.execute(
        f"SELECT EXISTS {offer_kinds_sql(':cid')} OR EXISTS {offer_discounts_sql(':cid')}",
        {"cid": campaign_id},
    ).fetchone()
    return bool(row[0])


def _conflicting_offers(conn: sqlite3.Connection, campaign_id: str, live_days: timedelta) -> None:
    """Stop requests whose offer would overlap a contradicting live offer the customer already holds."""
    conn.execute(
        f"""CREATE TEMP TABLE g_conf AS
        SELECT campaign_id, offer_expires_at, offer_kind, offer_category, discount_pct, kinds, conflict
        FROM (SELECT c2.campaign_id, c2.offer_expires_at, c2.offer_category,
                     (SELECT group_concat(kind, ',') FROM {offer_kinds_sql("c2.campaign_id")})
                         AS offer_kind,
                     (SELECT max(pct) FROM {offer_discounts_sql("c2.campaign_id")}) AS discount_pct,
                     (SELECT json_group_array(kind) FROM {offer_kinds_sql("c2.campaign_id")}) AS kinds,
                     {offer_conflict_sql(":cid", "c2.campaign_id")} AS conflict
              FROM campaigns c2 WHERE c2.campaign_id != :cid)
        WHERE conflict IS NOT NULL""",
        {"cid": campaign_id},
    )
    if not conn.execute("SELECT 1 FROM g_conf LIMIT 1").fetchone():
        return
    conn.execute(
        f"""UPDATE g_req SET conflict_send = (
                SELECT s.send_id FROM sends s JOIN g_conf k ON k.campaign_id = s.campaign_id
                WHERE s.profile_id = g_req.profile_id AND s.status IN {LIVE_STATUSES}
                  AND s.scheduled_for < g_req.offer_end
                  AND g_req.scheduled_for < {offer_end_sql("k.offer_expires_at", "s.scheduled_for", live_days.days)}
                ORDER BY s.scheduled_for, s.send_id LIMIT 1)
            WHERE reason IS NULL"""
    )
    conn.execute(
        "UPDATE g_req SET reason = 'conflicting_offer' WHERE reason IS NULL AND conflict_send IS NOT NULL"
    )


def _rule_texts(policy: ContactPolicy, holdout: float, budget: float | None) -> dict[str, str]:
    """The rule each reason code enforces, with the limit used (stored on every decision)."""
    return {
        "invalid_channel": "channel must be email, sms or push",
        "unknown_profile": "a send needs an existing profile",
        "holdout": f"holdout {holdout:g}% by hash of campaign and profile",
        "no_consent": "channel consent must be granted at decision time",
        "open_ticket": "no promotion while a support ticket is open",
        "recent_complaint": f"no promotion within {policy.complaint_window_days} days of a complaint",
        "service_suppression": f"no promotion while trait {SUPPRESSION_TRAIT} = 1",
        "quiet_hours": (
            f"no SMS or push between {policy.quiet_hours_start}:00 and {policy.quiet_hours_end}:00 local "
            "time in any zone the customer may be in"
        ),
        "conflicting_offer": "no two contradicting live offers",
        "frequency_cap": (
            f"at most {policy.frequency_cap} promotional messages per {policy.frequency_window_days} days"
        ),
        "over_budget": f"campaign spend within budget {budget if budget is not None else 'none'}",
    }


def _evidence_sql() -> str:
    """JSON evidence per decision: the consent state always, plus what the deciding rule read.

    One `json_object` per reason (no json_patch: re-parsing JSON per row costs a third of the insert).
    """
    common = (
        "'channel', g_req.channel, 'requested_for', g_req.send_at, 'scheduled_for', g_req.scheduled_for,"
        " 'consent', json_object('status', COALESCE(g_req.consent_status, 'absent'),"
        " 'updated_at', g_req.consent_updated_at, 'source', g_req.consent_source)"
    )
    return f"""CASE reason
        WHEN 'unknown_profile' THEN json_object({common}, 'merged_into',
            (SELECT master_profile_id FROM profile_merges WHERE merged_profile_id = g_req.profile_id))
        WHEN 'holdout' THEN json_object({common}, 'holdout_pct', :holdout_pct, 'bucket', bucket,
            'buckets', {BUCKETS})
        WHEN 'open_ticket' THEN json_object({common}, 'open_tickets', open_tickets,
            'oldest_open_ticket_at', (SELECT min(opened_at) FROM tickets
                                      WHERE profile_id = g_req.profile_id AND status = 'open'),
            'open_ticket_ids', (SELECT json_group_array(ticket_id) FROM tickets
                                WHERE profile_id = g_req.profile_id AND status = 'open'))
        WHEN 'recent_complaint' THEN json_object({common}, 'last_complaint_at', last_complaint_at,
            'complaint_window_days', :complaint_days)
        WHEN 'service_suppression' THEN json_object({common}, 'trait', :trait, 'value', sup_value,
            'source', sup_source, 'updated_at', sup_updated_at)
        WHEN 'quiet_hours' THEN json_object({common}, 'local_time', 'unknown', 'timezone', quiet_stop,
            'quiet_hours_start', :quiet_start, 'quiet_hours_end', :quiet_end)
        WHEN 'conflicting_offer' THEN (
            SELECT json_object({common}, 'conflicting_campaign_id', s.campaign_id,
                'conflicting_send_id', s.send_id, 'their_scheduled_for', s.scheduled_for,
                'their_offer_kind', k.offer_kind, 'their_offer_category', k.offer_category,
                'their_discount_pct', k.discount_pct, 'their_offer_expires_at', k.offer_expires_at,
                'their_offer_kinds', json(k.kinds),
                'our_offer_kinds', (SELECT json_group_array(kind) FROM {offer_kinds_sql(":cid")}),
                'conflict', k.conflict, 'our_offer_end', g_req.offer_end)
            FROM sends s JOIN g_conf k ON k.campaign_id = s.campaign_id
            WHERE s.send_id = g_req.conflict_send)
        WHEN 'frequency_cap' THEN json_object({common}, 'sends_in_window', n_window, 'cap', :cap,
            'window_days', :window_days, 'window_start', win_lo, 'window_end', win_hi)
        WHEN 'over_budget' THEN json_object({common}, 'budget', :budget,
            'spent_before', spent_before / {float(_MICROS)}, 'cost', cost_micros / {float(_MICROS)})
        ELSE json_object({common}) END"""


def _summarise(
    conn: sqlite3.Connection,
    campaign_id: str,
    step: int,
    dry_run: bool,
    budget_micros: int | None,
    spent: int,
) -> GateResult:
    result = GateResult(campaign_id=campaign_id, step=step, dry_run=dry_run)
    for reason, count, deferred, cost in conn.execute(
        """SELECT reason, count(*), sum(reason IS NULL AND scheduled_for > send_at),
                  sum(CASE WHEN reason IS NULL THEN cost_micros ELSE 0 END)
           FROM g_req GROUP BY reason"""
    ):
        result.requested += count
        if reason is None:
            result.scheduled = count
            result.deferred = int(deferred or 0)
            result.cost = round((cost or 0) / _MICROS, 6)
        elif reason == "holdout":
            result.held_out = count
        elif reason == DUPLICATE:
            result.superseded = count
        else:
            result.suppressed[reason] = count
    if budget_micros is not None:
        result.budget_remaining = round((budget_micros - spent - round(result.cost * _MICROS)) / _MICROS, 6)
    return result


def discard_campaign(db, campaign_id: str) -> dict[str, int]:
    """Remove a campaign's requests, scheduled sends and decisions (drafts, benchmarks, test runs).

    Refuses when any of its sends was delivered: history that counts toward other campaigns'
    frequency caps and offers is never rewritten. Lives here because only the gate writes `sends`.
    """
    conn = sqlite_connection(db)
    with immediate_transaction(conn):
        delivered = conn.execute(
            "SELECT count(*) FROM sends WHERE campaign_id = ? AND status != 'scheduled'", [campaign_id]
        ).fetchone()[0]
        if delivered:
            raise GateError(
                f"campaign {campaign_id!r} has {delivered} sends past 'scheduled'; delivered history is kept"
            )
        counts = {
            table: conn.execute(f"DELETE FROM {table} WHERE campaign_id = ?", [campaign_id]).rowcount
            for table in ("sends", "decisions", "send_requests")
        }
    return counts
