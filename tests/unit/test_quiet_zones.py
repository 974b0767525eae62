"""Quiet hours hold in every zone a customer may be in: the city's, else all of the country's, else none."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from cdp import clock
from cdp.delivery import deliver_due
from cdp.gate import _next_allowed, customer_zones, next_allowed_time, run_gate
from cdp.policy import ContactPolicy
from cdp.requests import stage_requests
from cdp.seed import COUNTRIES
from cdp.zones import CITY_ZONES, COUNTRY_ZONES
from tests.invariants import _in_quiet_hours as _checker_quiet
from tests.invariants import promise_violations
from tests.unit.test_gate import NO_HOLDOUT, NOW, add_campaign, add_profile, decision, gate

QUIET = ContactPolicy(holdout_pct=0, frequency_cap=21)


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    return cdp_db


def _local_quiet_counts(conn, policy: ContactPolicy) -> dict[str, int]:
    """Delivered SMS per seed city inside the quiet hours of the city's own zone (counted in SQL per slot)."""
    out: dict[str, int] = {}
    for country, city, at, n in conn.execute(
        """SELECT p.country, p.city, s.delivered_at, count(*) FROM sends s JOIN profiles p USING (profile_id)
           WHERE s.channel = 'sms' AND s.status = 'delivered' AND p.city IS NOT NULL GROUP BY 1, 2, 3"""
    ):
        hour = clock.parse_ts(at).astimezone(ZoneInfo(CITY_ZONES[(country, city.lower())])).hour
        if hour >= policy.quiet_hours_start or hour < policy.quiet_hours_end:
            out[city] = out.get(city, 0) + n
    return out


def test_west_coast_customers_get_no_sms_before_8_local(seeded_cdp):
    """An SMS flash sale to everyone at 12:00Z (07:00 New York, 04:00 Seattle) on the default seed."""
    db = seeded_cdp
    add_campaign(db, "flash")
    pids = [r[0] for r in db.execute("SELECT profile_id FROM profiles")]
    stage_requests(db, "flash", [{"profile_id": p, "channel": "sms", "send_at": NOW} for p in pids])
    run_gate(db, "flash", policy=QUIET)
    deliver_due(db, until="2026-11-27T00:00:00Z", policy=QUIET)
    west = db.execute(
        """SELECT count(*) FROM sends s JOIN profiles p USING (profile_id) WHERE s.status = 'delivered'
           AND s.channel = 'sms' AND p.city IN ('Seattle', 'Los Angeles', 'Vancouver', 'Calgary')"""
    ).fetchone()[0]
    assert west > 50  # they do get the SMS, just not at night
    # One SMS schedule per city zone: 08:00 local in Seattle is 16:00Z.
    assert {
        r[0]
        for r in db.execute(
            """SELECT DISTINCT s.scheduled_for FROM sends s JOIN profiles p USING (profile_id)
               WHERE s.channel = 'sms' AND p.city = 'Seattle'"""
        )
    } == {"2026-11-24T16:00:00Z"}
    assert _local_quiet_counts(db.conn, QUIET) == {}
    assert promise_violations(db, QUIET) == {}
    # Profiles without a city (web and app duplicates) wait until it is day in all of their country's zones.
    for country, at in db.execute(
        """SELECT DISTINCT p.country, s.delivered_at FROM sends s JOIN profiles p USING (profile_id)
           WHERE s.channel = 'sms' AND s.status = 'delivered' AND p.city IS NULL"""
    ):
        for zone in COUNTRY_ZONES[country]:
            assert 8 <= clock.parse_ts(at).astimezone(ZoneInfo(zone)).hour < 21, (country, at, zone)


def test_every_seed_city_has_one_zone_of_its_country():
    for country, _, _, cities in COUNTRIES:
        for city in cities:
            zone = CITY_ZONES[(country, city.lower())]
            assert zone in COUNTRY_ZONES[country]
            assert customer_zones(country, f" {city.upper()} ") == (zone,)


def test_a_multi_zone_country_without_a_city_waits_for_day_everywhere(db):
    add_profile(db, "us", country="US", consents={"sms": "granted"})
    add_campaign(db, "c1")
    result = gate(db, "c1", ["us"], "sms", send_at="2026-11-24T14:00:00Z")  # 09:00 New York, 04:00 Honolulu
    assert (result.scheduled, result.deferred) == (1, 1)
    (sched,) = db.execute("SELECT scheduled_for FROM sends WHERE campaign_id = 'c1'").fetchone()
    assert sched == "2026-11-24T18:00:00Z"  # 08:00 in Honolulu and Adak, 13:00 in New York


def test_unknown_or_missing_country_gets_no_sms_or_push(db):
    add_profile(db, "xx", country="XX", consents={"sms": "granted", "push": "granted", "email": "granted"})
    add_profile(db, "none", country=None, consents={"sms": "granted", "email": "granted"})
    add_profile(db, "cr", country="CR", consents={"sms": "granted"})
    add_campaign(db, "c1")
    result = gate(
        db, "c1", ["xx", "none", "cr"], "sms", send_at="2026-11-24T08:00:00Z"
    )  # 02:00 in Costa Rica
    assert (result.scheduled, result.suppressed) == (1, {"quiet_hours": 2})
    assert db.execute("SELECT scheduled_for FROM sends WHERE profile_id = 'cr'").fetchone()[0] == (
        "2026-11-24T14:00:00Z"
    )  # 08:00 in Costa Rica
    d = decision(db, "c1", "xx")
    assert d["reason_code"] == "quiet_hours"
    evidence = d["evidence"] if isinstance(d["evidence"], dict) else json.loads(d["evidence"])
    assert "no local time known" in evidence["timezone"]
    assert (
        db.execute(
            "SELECT count(*) FROM decisions WHERE campaign_id = 'c1' AND reason_code = 'quiet_hours'"
        ).fetchone()[0]
        == 2
    )
    add_campaign(db, "c2")  # email has no quiet hours
    assert gate(db, "c2", ["xx", "none"], "email", policy=NO_HOLDOUT).scheduled == 2
    # A country that becomes unknown after scheduling: cancelled at delivery.
    with db.conn:
        db.execute("UPDATE profiles SET country = 'ZZ' WHERE profile_id = 'cr'")
    out = deliver_due(db, until="2026-11-25T00:00:00Z", policy=NO_HOLDOUT)
    assert out.cancelled.get("quiet_hours") == 1
    assert db.execute("SELECT status FROM sends WHERE profile_id = 'cr'").fetchone()[0] == "cancelled"


def test_a_quiet_hours_end_inside_a_dst_gap_steps_past_it():
    policy = ContactPolicy(quiet_hours_start=22, quiet_hours_end=2)
    # 2026-03-08 02:00 does not exist in New York (clocks jump to 03:00 EDT at 07:00Z).
    got = next_allowed_time(clock.parse_ts("2026-03-08T04:00:00Z"), "US", policy, "New York")
    assert got == clock.parse_ts("2026-03-08T07:00:00Z")
    assert got.astimezone(ZoneInfo("America/New_York")).hour == 3
    # Europe, 2026-03-29 02:00 -> 03:00; quiet hours end at 02:00 in Paris.
    got = next_allowed_time(clock.parse_ts("2026-03-28T23:30:00Z"), "FR", policy)
    assert got is not None and got.astimezone(ZoneInfo("Europe/Paris")).hour == 3
    # Zones with DST changes at 00:00, 02:00, 03:00 or by 30 minutes; every quiet-hours end on change days.
    for end in range(24):
        policy = ContactPolicy(quiet_hours_start=(end - 3) % 24, quiet_hours_end=end)
        for day in ("2026-03-08", "2026-03-29", "2026-04-05", "2026-09-06", "2026-10-04", "2026-10-25"):
            base = clock.parse_ts(f"{day}T00:00:00Z")
            for step in range(-28, 48, 5):
                when = base + timedelta(minutes=30 * step)
                for zone in (
                    "America/New_York",
                    "Europe/Paris",
                    "America/Santiago",
                    "Australia/Lord_Howe",
                    "America/Asuncion",
                    "Pacific/Auckland",
                    "America/Havana",
                ):
                    got = _next_allowed(when, (zone,), policy.quiet_hours_start, end)
                    assert got is not None and when <= got <= when + timedelta(hours=26), (zone, when, end)
                    assert not _checker_quiet(got.astimezone(ZoneInfo(zone)).hour, policy), (zone, when, end)


def test_the_checker_sees_quiet_hours_in_the_city_zone_on_its_own(db):
    """Delivered at 13:00Z: 08:00 in New York but 05:00 in Seattle (the checker reads its own zone data)."""
    add_profile(db, "sea", country="US", consents={"sms": "granted"})
    add_profile(db, "nyc", country="US", consents={"sms": "granted"})
    with db.conn:
        db.execute("UPDATE profiles SET city = 'Seattle' WHERE profile_id = 'sea'")
        db.execute("UPDATE profiles SET city = 'New York' WHERE profile_id = 'nyc'")
    add_campaign(db, "c1")
    lax = ContactPolicy(holdout_pct=0, quiet_hours_start=1, quiet_hours_end=2)  # the gate lets 13:00Z through
    gate(db, "c1", ["sea", "nyc"], "sms", send_at="2026-11-24T13:00:00Z", policy=lax)
    assert deliver_due(db, until="2026-11-25T00:00:00Z", policy=lax).delivered == 2
    found = promise_violations(db, ContactPolicy())["quiet_hours_at_delivery"]
    assert [(r[1], r[6], r[7]) for r in found] == [("sea", "America/Los_Angeles", "05:00")]
