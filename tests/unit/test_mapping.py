"""Import presets: each export, written to its tool's published layout, maps to the exact records.

The sample files in tests/data/exports carry the cases that break importers: an order of three
line items, a refunded and an unpaid order, an order with no customer, consents written "no",
blank cells, unicode names, national phone numbers, a country name where a code belongs, the four
files of a Mailchimp audience zip and Segment calls the CDP has no event type for.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import string
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.ingest import ConsentIn, EventIn, IdentityIn, ProfileIn
from cdp.mapping import (
    PRESETS,
    TARGET_FIELDS,
    Mapping,
    MappingError,
    Record,
    load_preset,
    with_overrides,
)

EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"
README = Path(__file__).resolve().parents[2] / "cdp" / "presets" / "README.md"
MODELS = {"profiles": ProfileIn, "identities": IdentityIn, "consents": ConsentIn, "events": EventIn}


def read_export(name: str) -> tuple[list[str], list[dict]]:
    """(header, rows) as the importer hands them over: CSV empty cells are None, JSONL decoded."""
    path = EXPORTS / name
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return sorted({k for row in rows for k in row}), rows
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
        return list(reader.fieldnames or []), rows


def run(mapping: Mapping, name: str) -> tuple[list[Record], Counter[str]]:
    header, rows = read_export(name)
    assert mapping.check_columns(header) == []
    records: list[Record] = []
    skipped: Counter[str] = Counter()
    for row in rows:
        got = mapping.records(row)
        reason = mapping.skip_reason(row)
        assert (got == []) == (reason is not None)
        records.extend(got)
        if reason:
            skipped[reason] += 1
    return records, skipped


def kinds(records: list[Record]) -> Counter[str]:
    return Counter(r.kind for r in records)


def rows_of(records: list[Record], kind: str) -> list[dict]:
    return [r.row for r in records if r.kind == kind]


def validate(record: Record, region: str | None = None) -> None:
    MODELS[record.kind].model_validate(record.row, context={"region": region} if region else None)


def validate_all(records: list[Record]) -> None:
    """Every record through its row model; phones read in their profile's country, as the importer does."""
    from cdp.normalize import country_code

    countries = {
        r.row["profile_id"]: country_code(r.row["country"])
        for r in records
        if r.kind == "profiles" and r.row.get("country")
    }
    for record in records:
        validate(record, countries.get(record.row.get("profile_id")))


def derived(prefix: str, kind: str, normalised: str) -> str:
    return prefix + hashlib.sha256(f"{kind}:{normalised}".encode()).hexdigest()[:16]


# --- the presets --------------------------------------------------------------------------------


def test_every_preset_loads_and_describes_itself():
    assert PRESETS == (
        "mailchimp-audience",
        "segment-jsonl",
        "shopify-customers",
        "shopify-orders",
        "stripe-customers",
    )
    for name in PRESETS:
        mapping = load_preset(name)
        assert mapping.name == name
        assert mapping.description and "\n" not in mapping.description
        assert set(mapping.fields) <= set(TARGET_FIELDS) | {
            f for f in mapping.fields if f.startswith("event.")
        }
        assert "profile_id" in mapping.fields


def test_an_unknown_preset_names_the_presets():
    with pytest.raises(MappingError) as err:
        load_preset("shopify-order")
    assert err.value.column == "--from"
    assert "did you mean shopify-orders" in err.value.message
    assert all(name in err.value.message for name in PRESETS)


def test_the_docs_table_names_every_column_each_preset_reads():
    text = README.read_text(encoding="utf-8")
    for name in PRESETS:
        assert f"`{name}`" in text
        for sources in load_preset(name).fields.values():
            for source in sources.split(" / "):
                if not source.startswith(("'", "derived from")):
                    assert f"`{source}`" in text or f"`{source.split('.')[-1]}`" in text, (name, source)


# --- Shopify --------------------------------------------------------------------------------------


def test_shopify_customers_export():
    records, skipped = run(load_preset("shopify-customers"), "shopify_customers_export.csv")
    assert kinds(records) == {"profiles": 4, "identities": 6, "consents": 7}
    assert not skipped
    profiles = rows_of(records, "profiles")
    assert profiles[0] == {
        "profile_id": "shopify-7210448301122",  # the export's leading apostrophe is dropped
        "first_name": "Teodoro",
        "last_name": "Villaseñor",
        "country": "US",
        "city": "Elko",
    }
    assert (profiles[2]["first_name"], profiles[2]["last_name"]) == ("美咲", "佐藤")
    assert profiles[3] == {"profile_id": "shopify-7210448301125"}
    identities = {(r["profile_id"], r["kind"]): r["value"] for r in rows_of(records, "identities")}
    assert identities[("shopify-7210448301122", "phone")] == "(775) 555-0154"
    assert identities[("shopify-7210448301123", "phone")] == "+46701234567"
    assert ("shopify-7210448301124", "phone") not in identities  # blank phone: no identity
    consents = {(r["profile_id"], r["channel"]): r["status"] for r in rows_of(records, "consents")}
    assert consents == {
        ("shopify-7210448301122", "email"): "denied",
        ("shopify-7210448301122", "sms"): "denied",
        ("shopify-7210448301123", "email"): "granted",
        ("shopify-7210448301123", "sms"): "granted",
        ("shopify-7210448301124", "email"): "granted",  # Accepts SMS Marketing blank: no SMS consent
        ("shopify-7210448301125", "email"): "denied",
        ("shopify-7210448301125", "sms"): "denied",
    }
    assert all(r.row["source"] == "shopify" for r in records if r.kind in ("identities", "consents"))
    assert all(r.key is None for r in records)
    validate_all(records)


def test_shopify_orders_export_one_purchase_per_paid_order():
    records, skipped = run(load_preset("shopify-orders"), "shopify_orders_export.csv")
    assert skipped == {
        "line item of an order already counted": 2,
        "refunded or voided order": 1,
        "order with no customer email or phone": 1,
        "order not paid": 1,
    }
    events = {e["message_id"]: e for e in rows_of(records, "events")}
    assert set(events) == {"shopify-order-#1001", "shopify-order-#1003", "shopify-order-#1005"}
    assert events["shopify-order-#1001"]["properties"] == {
        "amount": 184.97,
        "currency": "USD",
        "category": "Northpeak",
        "order": "#1001",
    }
    assert events["shopify-order-#1001"]["ts"] == "2026-03-02T15:15:23Z"  # Paid at, -0500 to UTC
    assert events["shopify-order-#1003"]["ts"] == "2026-04-10T12:03:00Z"  # no Paid at: Created at
    assert events["shopify-order-#1003"]["properties"]["category"] == "Down Parka - L"  # no Vendor
    assert events["shopify-order-#1003"]["properties"]["amount"] == 1234.5
    assert {e["type"] for e in events.values()} == {"purchase"}
    # No id of ours in the export: the id comes from the email, whatever its case.
    zoe = next(r for r in records if r.kind == "events" and r.row["message_id"] == "shopify-order-#1005")
    assert zoe.row["profile_id"] == derived("shopify-", "email", "zoe.angstrom@example.com")
    assert zoe.key == ("email", "ZOE.ANGSTROM@example.com")
    assert zoe.columns["properties.amount"] == "Total"
    consents = {r["profile_id"]: (r["status"], r["updated_at"]) for r in rows_of(records, "consents")}
    assert consents[zoe.row["profile_id"]] == ("denied", "2026-05-01T07:29:00Z")
    assert kinds(records) == {"profiles": 3, "identities": 4, "consents": 3, "events": 3}
    validate_all(records)


def write(db, records: list[Record]) -> None:
    """Write records with the CDP's own writers, kind by kind (profiles first), asserting none fails."""
    from cdp.ingest import add_identities, ingest_events, upsert_consents, upsert_profiles

    for kind, writer in (
        ("profiles", upsert_profiles),
        ("identities", lambda db, rows: add_identities(db, rows, region="US")),
        ("consents", upsert_consents),
    ):
        result = writer(db, rows_of(records, kind))
        assert result.rejected == 0, result.errors
    events = ingest_events(db, rows_of(records, "events"), create_missing=False)
    assert events.rejected == 0, events.errors


def test_shopify_customers_then_orders_land_on_one_customer(cdp_db):
    write(cdp_db, run(load_preset("shopify-customers"), "shopify_customers_export.csv")[0])
    write(cdp_db, run(load_preset("shopify-orders"), "shopify_orders_export.csv")[0])
    q = cdp_db.conn.execute
    assert q(
        "SELECT COUNT(*), ROUND(SUM(json_extract(properties, '$.amount')), 2) FROM events"
    ).fetchone() == (
        3,
        1509.37,
    )
    # The order's derived profile shared the customer's email, so identity resolution merged them.
    owner = q(
        "SELECT profile_id FROM identities WHERE kind = 'email' AND value = ?",
        ("teo.villasenor@example.com",),
    )
    buyer = q("SELECT profile_id FROM events WHERE message_id = 'shopify-order-#1001'")
    assert owner.fetchone() == buyer.fetchone()
    # The customer export's "no" is dated at the import, so the older checkbox of the order loses.
    status = q(
        "SELECT c.status FROM consents c JOIN identities i USING (profile_id) WHERE i.value = ? AND c.channel = 'email'",
        ("teo.villasenor@example.com",),
    ).fetchall()
    assert status == [("denied",)]


# --- Mailchimp ------------------------------------------------------------------------------------


def test_mailchimp_subscribed_file():
    records, skipped = run(load_preset("mailchimp-audience"), "mailchimp_subscribed_members.csv")
    assert kinds(records) == {"profiles": 3, "identities": 4, "consents": 3}
    assert not skipped
    anna = derived("mc-", "email", "anna.jansen@example.nl")
    assert rows_of(records, "profiles")[0] == {
        "profile_id": anna,
        "first_name": "Anna",
        "last_name": "Jansen",
        "country": "NL",
    }
    consents = [(r["status"], r["updated_at"]) for r in rows_of(records, "consents")]
    # CONFIRM_TIME, else OPTIN_TIME (a member imported by the account has only a confirm time)
    assert consents == [
        ("granted", "2025-02-03T09:12:40Z"),
        ("granted", "2024-11-20T17:45:00Z"),
        ("granted", "2025-07-07T07:07:07Z"),
    ]
    assert all(r.key is not None and r.key[0] == "email" for r in records)
    validate_all(records)


def test_mailchimp_unsubscribed_cleaned_and_nonsubscribed_files():
    mapping = load_preset("mailchimp-audience")
    unsub, _ = run(mapping, "mailchimp_unsubscribed_members.csv")
    assert kinds(unsub) == {"profiles": 2, "identities": 2, "consents": 2, "events": 2}
    assert [(r["status"], r["updated_at"]) for r in rows_of(unsub, "consents")] == [
        ("revoked", "2025-09-14T22:01:05Z"),
        ("revoked", "2025-10-01T06:30:00Z"),
    ]
    events = rows_of(unsub, "events")
    assert events[0]["type"] == "unsubscribe"
    assert events[0]["properties"] == {"channel": "email", "reason": "No longer interested"}
    # The same member in two files of the zip is the same profile.
    assert unsub[4].row["profile_id"] == derived("mc-", "email", "anna.jansen@example.nl")

    cleaned, _ = run(mapping, "mailchimp_cleaned_members.csv")
    assert kinds(cleaned) == {"profiles": 1, "identities": 1, "consents": 1}
    assert rows_of(cleaned, "consents")[0]["status"] == "revoked"

    nonsub, _ = run(mapping, "mailchimp_nonsubscribed_members.csv")
    assert kinds(nonsub) == {"profiles": 1, "identities": 1}  # never opted in: no consent at all
    for record in unsub + cleaned + nonsub:
        validate(record)


@pytest.mark.parametrize("order", [("subscribed", "unsubscribed"), ("unsubscribed", "subscribed")])
def test_mailchimp_an_unsubscribe_wins_in_either_import_order(cdp_db, order):
    for status in order:
        write(cdp_db, run(load_preset("mailchimp-audience"), f"mailchimp_{status}_members.csv")[0])
    anna = derived("mc-", "email", "anna.jansen@example.nl")
    rows = cdp_db.conn.execute(
        "SELECT status, updated_at FROM consents WHERE profile_id = ? AND channel = 'email'", (anna,)
    ).fetchall()
    assert rows == [("revoked", "2025-10-01T06:30:00Z")]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("subscribed", "granted"),
        ("Unsubscribed", "revoked"),
        ("cleaned", "revoked"),
        ("pending", "denied"),
        ("transactional", None),
        ("archived", None),
    ],
)
def test_mailchimp_status_column(status, expected):
    records = load_preset("mailchimp-audience").records({"Email Address": "x@example.com", "STATUS": status})
    consents = rows_of(records, "consents")
    assert [c["status"] for c in consents] == ([expected] if expected else [])
    assert len(rows_of(records, "events")) == (1 if status == "Unsubscribed" else 0)


# --- Stripe and Segment ---------------------------------------------------------------------------


def test_stripe_customers_export():
    records, skipped = run(load_preset("stripe-customers"), "stripe_customers.csv")
    assert kinds(records) == {"profiles": 4, "identities": 5}  # Stripe holds no consent
    assert not skipped
    profiles = {p["profile_id"]: p for p in rows_of(records, "profiles")}
    assert profiles["cus_R8xKpLmN3qWvTb"]["signup_at"] == "2025-04-22T17:34:00Z"
    assert (profiles["cus_R8xKpLmN3qWvTc"]["first_name"], profiles["cus_R8xKpLmN3qWvTc"]["last_name"]) == (
        "Jean-Luc",
        "Picard de la Barre",
    )
    assert profiles["cus_R8xKpLmN3qWvTd"] == {
        "profile_id": "cus_R8xKpLmN3qWvTd",
        "signup_at": "2025-05-01T08:00:00Z",
    }
    assert profiles["cus_R8xKpLmN3qWvTe"]["city"] == "München"
    validate_all(records)


def test_segment_calls():
    records, skipped = run(load_preset("segment-jsonl"), "segment.jsonl")
    assert skipped == {
        "track event 'Product Viewed' has no CDP event type": 1,
        "Segment alias or group call": 1,
    }
    assert kinds(records) == {"profiles": 7, "identities": 7, "consents": 3, "events": 5}
    events = {e["message_id"]: e for e in rows_of(records, "events")}
    assert events["ajs-next-1717236060000-2"]["type"] == "purchase"
    assert events["ajs-next-1717236060000-2"]["properties"] == {
        "amount": 27.5,  # total (what was paid), not revenue
        "category": "Games",  # from the first product
        "currency": "GBP",
        "order_id": "50314b8e9bcf000000000000",
    }
    assert events["esp-open-1"]["type"] == "email_open"
    assert events["esp-open-1"]["ts"] == "2026-06-02T07:15:00Z"  # no timestamp: originalTimestamp
    assert events["esp-unsub-7"]["type"] == "unsubscribe"
    assert events["ajs-next-4"]["type"] == events["ios-8"]["type"] == "page_view"
    identify = rows_of(records, "profiles")[0]
    assert identify["language"] == "en-GB" and identify["signup_at"] == "2025-01-15T09:30:00Z"
    assert identify["country"] == "United Kingdom"  # passed through: the row checks own country names
    consents = {(c["profile_id"], c["channel"]): c["status"] for c in rows_of(records, "consents")}
    visitor = derived("seg-", "cookie", "anon-99d1e0")
    assert consents == {
        ("u_1001", "email"): "granted",
        ("u_1001", "sms"): "denied",
        (visitor, "email"): "granted",
    }
    # An anonymous visitor's page view and later identify share one derived profile.
    anonymous = [r for r in records if r.key is not None]
    assert {r.row["profile_id"] for r in anonymous} == {visitor}
    assert {r.key for r in anonymous} == {("cookie", "anon-99d1e0")}
    for record in records:
        if record.row.get("country") == "United Kingdom":
            record = Record(record.kind, {k: v for k, v in record.row.items() if k != "country"}, {}, None)
        validate(record)


# --- errors -------------------------------------------------------------------------------------


def test_a_missing_required_column_suggests_the_closest_one():
    mapping = load_preset("mailchimp-audience")
    [error] = mapping.check_columns(["Email", "First Name", "Last Name"])
    assert error.column == "Email Address"
    assert "did you mean 'Email'" in error.message
    [error] = mapping.check_columns(["email address"])
    assert "did you mean 'email address'" in error.message
    header, _ = read_export("shopify_orders_export.csv")
    missing = load_preset("shopify-orders").check_columns(
        [c for c in header if c not in ("Total", "Financial Status")]
    )
    assert {e.column for e in missing} == {"Total", "Financial Status"}
    assert load_preset("shopify-orders").check_columns([*header, "Some App Column"]) == []
    assert load_preset("segment-jsonl").check_columns(["userId", "traits"])[0].column == "type"


def test_an_unknown_consent_value_lists_the_accepted_ones():
    row = {"Customer ID": "'1", "Email": "a@example.com", "Accepts Email Marketing": "maybe"}
    with pytest.raises(MappingError) as err:
        load_preset("shopify-customers").records(row)
    assert err.value.column == "Accepts Email Marketing"
    assert "'maybe'" in err.value.message and "no" in err.value.message and "yes" in err.value.message


def order_row(**cells) -> dict:
    return {
        "Name": "#2001",
        "Email": "a@example.com",
        "Financial Status": "paid",
        "Created at": "2026-01-05 10:15:23 -0500",
        "Total": "10.00",
        "Vendor": "Acme",
        **cells,
    }


@pytest.mark.parametrize(
    ("total", "amount"),
    [("1234.50", 1234.5), ("$1,234.50", 1234.5), ("USD 12.00", 12.0), ("12.00 EUR", 12.0), ("€ 7", 7.0)],
)
def test_amounts_the_exports_write(total, amount):
    [event] = rows_of(load_preset("shopify-orders").records(order_row(Total=total)), "events")
    assert event["properties"]["amount"] == amount


@pytest.mark.parametrize("total", ["1.234,50", "12,5", "12.5.0", "abc", "1e999", "$", "(12.00)", "1,23"])
def test_an_ambiguous_or_bad_amount_is_refused(total):
    with pytest.raises(MappingError) as err:
        load_preset("shopify-orders").records(order_row(Total=total))
    assert err.value.column == "Total"
    assert "not an amount" in err.value.message


def test_a_json_amount_must_be_a_finite_number():
    mapping = load_preset("segment-jsonl")
    call = {"type": "track", "event": "Order Completed", "userId": "u1", "properties": {"category": "x"}}
    assert (
        rows_of(mapping.records({**call, "properties": {"total": 3, "category": "x"}}), "events")[0][
            "properties"
        ]["amount"]
        == 3.0
    )
    for bad in (True, 10**400, "ten", [1]):
        with pytest.raises(MappingError):
            mapping.records({**call, "properties": {"total": bad, "category": "x"}})


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("05/01/2026 10:15", "not a date and time"),
        ("2026-13-01 10:00:00 +0000", "not a date and time"),
        ("yesterday", "not a date and time"),
        ("1900-01-01 00:00:00 +0000", "accepted years"),
    ],
)
def test_a_date_that_does_not_parse_is_refused(cell, problem):
    with pytest.raises(MappingError) as err:
        load_preset("shopify-orders").records(order_row(**{"Paid at": cell}))
    assert err.value.column == "Paid at"
    assert problem in err.value.message
    if problem.startswith("not"):
        assert "2024-01-05 10:15:23 -0500" in err.value.message  # the layout it expected


def test_an_invalid_email_cannot_derive_an_id_and_is_not_echoed():
    with pytest.raises(MappingError) as err:
        load_preset("mailchimp-audience").records({"Email Address": "jane.doe.example.com"})
    assert err.value.column == "Email Address"
    assert "jane.doe.example.com" not in str(err.value)


def test_a_row_with_no_id_at_all_is_an_error():
    with pytest.raises(MappingError) as err:
        load_preset("stripe-customers").records({"id": None, "Email": None, "Name": "Ghost"})
    assert err.value.column == "id"


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("Email", "COLUMN=FIELD"),
        ("=email", "COLUMN=FIELD"),
        ("Email=", "COLUMN=FIELD"),
        ("E-mail=emial", "did you mean email"),
        ("Opt in=consent_email", "consent.email"),
        ("Spend=event.<name>", "not a target field"),
    ],
)
def test_a_bad_map_entry_is_refused_with_close_field_names(entry, says):
    with pytest.raises(MappingError) as err:
        with_overrides(load_preset("shopify-customers"), [entry])
    assert err.value.column == entry
    assert says in err.value.message


def test_event_fields_need_an_event_type():
    with pytest.raises(MappingError, match="event type"):
        with_overrides(load_preset("shopify-customers"), ["Total Spent=event.amount"])
    with pytest.raises(MappingError) as err:
        with_overrides(None, []).records({"email": "a@example.com", "event.ts": "2026-01-01T00:00:00Z"})
    assert err.value.column == "event.ts"


# --- --map --------------------------------------------------------------------------------------


def test_map_adds_a_column_to_a_preset():
    base = load_preset("stripe-customers")
    mapping = with_overrides(base, ["tier (metadata)=tier"])
    records, _ = run(mapping, "stripe_customers.csv")
    assert {p["profile_id"]: p.get("tier") for p in rows_of(records, "profiles")} == {
        "cus_R8xKpLmN3qWvTb": "premium",
        "cus_R8xKpLmN3qWvTc": None,
        "cus_R8xKpLmN3qWvTd": None,
        "cus_R8xKpLmN3qWvTe": "vip",
    }
    assert mapping.fields["tier"] == "tier (metadata)"
    assert (
        "tier" not in base.fields and "tier" not in load_preset("stripe-customers").fields
    )  # base untouched
    [missing] = mapping.check_columns(["id", "Email", "Tier (metadata)"])
    assert "did you mean 'Tier (metadata)'" in missing.message
    with pytest.raises(MappingError, match="accepted: premium, standard, vip"):
        mapping.records({"id": "cus_1", "tier (metadata)": "gold"})


def test_map_replaces_and_drops_preset_columns():
    orders = with_overrides(load_preset("shopify-orders"), ["Lineitem name=event.category"])
    records, _ = run(orders, "shopify_orders_export.csv")
    assert rows_of(records, "events")[0]["properties"]["category"] == "Trail Runner 2 - 42 / Blue"

    customers = with_overrides(load_preset("shopify-customers"), ["Accepts SMS Marketing=-"])
    records, _ = run(customers, "shopify_customers_export.csv")
    assert {c["channel"] for c in rows_of(records, "consents")} == {"email"}
    assert "consent.sms" not in customers.fields

    # The documented way to read a file with no grant in it: ignore both opt-in times.
    strict = with_overrides(load_preset("mailchimp-audience"), ["CONFIRM_TIME=-", "OPTIN_TIME=-"])
    records, _ = run(strict, "mailchimp_subscribed_members.csv")
    assert kinds(records) == {"profiles": 3, "identities": 4}


def test_map_without_a_preset():
    mapping = with_overrides(
        None,
        [
            "E-Mail=email",
            "Vorname=first_name",
            "Newsletter=consent.email",
            "Bestellt am=event.ts",
            "Art=event.type",
            "Betrag=event.amount",
            "Kategorie=event.category",
            "Bestellnummer=event.message_id",
            "Filiale=event.store",
        ],
    )
    row = {
        "E-Mail": "Kim@Example.com",
        "Vorname": "Kim",
        "country": "DE",  # named like a field: maps to itself
        "Newsletter": "ja",
        "Bestellt am": "2026-02-01 09:00:00",
        "Art": "purchase",
        "Betrag": "19.90",
        "Kategorie": "books",
        "Bestellnummer": "B-17",
        "Filiale": "Köln",
    }
    with pytest.raises(MappingError, match="accepted"):
        mapping.records(row)
    records = mapping.records({**row, "Newsletter": "yes"})
    assert kinds(records) == {"profiles": 1, "identities": 1, "consents": 1, "events": 1}
    pid = derived("id-", "email", "kim@example.com")
    assert records[0].row == {"profile_id": pid, "first_name": "Kim", "country": "DE"}
    assert records[0].key == ("email", "Kim@Example.com")
    assert rows_of(records, "events")[0] == {
        "profile_id": pid,
        "type": "purchase",
        "ts": "2026-02-01T09:00:00Z",
        "message_id": "B-17",
        "properties": {"amount": 19.9, "category": "books", "store": "Köln"},
    }
    own_id = with_overrides(None, []).records({"profile_id": "p-1", "email": "a@example.com"})
    assert own_id[0].row == {"profile_id": "p-1"} and own_id[0].key is None
    validate_all(records)


def test_skip_rules_and_skip_reasons():
    customers = load_preset("shopify-customers")
    nobody = {"Customer ID": None, "Email": None, "Phone": None, "First Name": "Walk-in"}
    assert customers.records(nobody) == []
    assert customers.skip_reason(nobody) == "a customer with no id, email or phone"
    assert customers.skip_reason({"Customer ID": "'5", "Email": "a@example.com"}) is None
    orders = load_preset("shopify-orders")
    assert orders.skip_reason(order_row(**{"Cancelled at": "2026-01-06 00:00:00 +0000"})) == "cancelled order"
    assert orders.skip_reason(order_row(**{"Financial Status": "voided"})) == "refunded or voided order"
    assert orders.skip_reason(order_row(Total="abc")) is None  # an error, not a skip


# --- properties ---------------------------------------------------------------------------------


def columns_read(mapping: Mapping) -> list[str]:
    """Every source column or JSON path a mapping reads, in its fields and its rules' conditions."""
    found = list(mapping.required)
    for spec in [*mapping.specs.values(), *(s for rule in mapping.rules for s in rule.fields.values())]:
        found.extend(spec.columns)
    for rule in mapping.rules:
        if rule.when:
            found.extend([*rule.when.blank, *rule.when.filled, *rule.when.equals])
    return sorted(set(found))


NOISE = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.text(alphabet=string.ascii_letters + string.digits + "@.+-',: ", max_size=20),
    st.sampled_from(
        ["yes", "no", "true", "paid", "refunded", "cleaned", "track", "Order Completed", "a@b.co"]
    ),
    st.sampled_from(["2026-01-05 10:15:23 -0500", "2025-02-03 09:10:11", "2026-01-05T10:15:23Z", "1,234.50"]),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.booleans(),
)
SAMPLES = {
    "shopify-customers": ["shopify_customers_export.csv"],
    "shopify-orders": ["shopify_orders_export.csv"],
    "mailchimp-audience": [
        "mailchimp_subscribed_members.csv",
        "mailchimp_unsubscribed_members.csv",
        "mailchimp_cleaned_members.csv",
        "mailchimp_nonsubscribed_members.csv",
    ],
    "stripe-customers": ["stripe_customers.csv"],
    "segment-jsonl": ["segment.jsonl"],
}


@functools.cache
def sample_rows(name: str) -> list[str]:
    """The preset's sample rows as JSON text (each example decodes its own copy to mutate)."""
    return [json.dumps(row) for file in SAMPLES[name] for row in read_export(file)[1]]


def set_cell(row: dict, column: str, value, nested: bool) -> None:
    """Set a CSV cell (text or None), or for JSONL the value at a dotted path (objects made as needed)."""
    if not nested:
        row[column] = value if value is None else str(value)
        return
    node = row
    *parents, leaf = column.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


@pytest.mark.parametrize("name", PRESETS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mapped_row_only_holds_its_models_fields_and_maps_the_same_twice(name, data):
    """A real export row with cells blanked or replaced by noise: records or a MappingError, no other."""
    mapping = load_preset(name)
    row = json.loads(data.draw(st.sampled_from(sample_rows(name))))
    for column in columns_read(mapping):
        action = data.draw(st.sampled_from(["keep", "keep", "keep", "blank", "noise"]))
        if action != "keep":
            value = None if action == "blank" else data.draw(NOISE)
            set_cell(row, column, value, nested=name == "segment-jsonl")
    try:
        records = mapping.records(row)
    except MappingError as exc:
        assert exc.column and exc.message
        with pytest.raises(MappingError):
            mapping.records(row)
        return
    assert mapping.records(row) == records  # deterministic: same records, same derived id
    assert (records == []) == (mapping.skip_reason(row) is not None)
    if not records:
        return
    assert records[0].kind == "profiles"
    assert len({r.row["profile_id"] for r in records}) == 1
    assert len({r.key for r in records}) == 1
    assert sum(r.kind == "events" for r in records) <= 1
    for record in records:
        model = MODELS[record.kind]
        assert set(record.row) <= set(model.model_fields), (record.kind, record.row)
        assert set(record.columns) <= set(record.row) | {
            f"properties.{k}" for k in record.row.get("properties", {})
        }
        # A value the row checks refuse is the importer's line error, never another exception.
        with contextlib.suppress(ValueError):
            model.model_validate(record.row)
