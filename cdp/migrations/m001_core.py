"""Core CDP schema: profiles, identities, events, consents, traits, tickets and the clock.

Aggregates that `customer_360` shows (orders, lifetime value, last purchase, consent flags, open
tickets ...) are kept on the `profiles` row by triggers on `events`, `consents` and `tickets`, so an
event ingested now changes what the view shows now, from any SQLite client, and an audience count
over a million profiles is a scan of one table, not a join.
"""

from __future__ import annotations

EVENT_TYPES = (
    "purchase",
    "page_view",
    "email_open",
    "email_click",
    "sms_click",
    "push_open",
    "support_ticket",
    "complaint",
    "unsubscribe",
)
ENGAGEMENT_TYPES = ("page_view", "email_open", "email_click", "sms_click", "push_open")
CHANNELS = ("email", "sms", "push")
TIERS = ("standard", "premium", "vip")
IDENTITY_KINDS = ("email", "phone", "crm_id", "device_id", "cookie")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


STATEMENTS = [
    # The single clock row: NULL means wall-clock time.
    """CREATE TABLE cdp_clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        now TEXT
    )""",
    "INSERT INTO cdp_clock (id, now) VALUES (1, NULL)",
    f"""CREATE TABLE profiles (
        profile_id TEXT PRIMARY KEY,
        first_name TEXT,
        last_name TEXT,
        country TEXT,
        city TEXT,
        language TEXT,
        tier TEXT NOT NULL DEFAULT 'standard' CHECK (tier IN {_in(TIERS)}),
        signup_at TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        -- aggregates maintained by triggers; recomputed from events after identity merges
        orders_count INTEGER NOT NULL DEFAULT 0,
        lifetime_value REAL NOT NULL DEFAULT 0,
        first_purchase_at TEXT,
        last_purchase_at TEXT,
        favorite_category TEXT,
        engagement_events INTEGER NOT NULL DEFAULT 0,
        last_engagement_at TEXT,
        complaints_count INTEGER NOT NULL DEFAULT 0,
        last_complaint_at TEXT,
        open_tickets INTEGER NOT NULL DEFAULT 0,
        consent_email INTEGER NOT NULL DEFAULT 0,
        consent_sms INTEGER NOT NULL DEFAULT 0,
        consent_push INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX idx_profiles_tier ON profiles (tier)",
    "CREATE INDEX idx_profiles_country ON profiles (country)",
    "CREATE INDEX idx_profiles_ltv ON profiles (lifetime_value)",
    f"""CREATE TABLE identities (
        kind TEXT NOT NULL CHECK (kind IN {_in(IDENTITY_KINDS)}),
        value TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        source TEXT,
        first_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (kind, value)
    ) WITHOUT ROWID""",
    "CREATE INDEX idx_identities_profile ON identities (profile_id)",
    # Merged profiles disappear from `profiles`; this table explains where each one went and why.
    """CREATE TABLE profile_merges (
        merged_profile_id TEXT PRIMARY KEY,
        master_profile_id TEXT NOT NULL,
        via_kind TEXT,
        via_value_hash TEXT,
        merged_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_profile_merges_master ON profile_merges (master_profile_id)",
    # Links the resolver refused to merge (cap reached): flagged for a person instead.
    """CREATE TABLE identity_flags (
        flag_id INTEGER PRIMARY KEY,
        profile_id TEXT NOT NULL,
        other_profile_id TEXT NOT NULL,
        via_kind TEXT,
        reason TEXT NOT NULL,
        flagged_at TEXT NOT NULL,
        UNIQUE (profile_id, other_profile_id, reason)
    )""",
    f"""CREATE TABLE events (
        event_id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        profile_id TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN {_in(EVENT_TYPES)}),
        ts TEXT NOT NULL,
        properties TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(properties)),
        received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    )""",
    "CREATE INDEX idx_events_profile_ts ON events (profile_id, ts)",
    "CREATE INDEX idx_events_type_ts ON events (type, ts)",
    f"""CREATE TABLE consents (
        profile_id TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN {_in(CHANNELS)}),
        status TEXT NOT NULL CHECK (status IN ('granted', 'denied', 'revoked')),
        updated_at TEXT NOT NULL,
        source TEXT,
        PRIMARY KEY (profile_id, channel)
    ) WITHOUT ROWID""",
    # Every consent change, kept so a decision can cite the consent state at its moment.
    """CREATE TABLE consent_history (
        history_id INTEGER PRIMARY KEY,
        profile_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        source TEXT
    )""",
    "CREATE INDEX idx_consent_history_profile ON consent_history (profile_id, channel, updated_at)",
    """CREATE TABLE traits (
        profile_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT,
        source TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, name)
    ) WITHOUT ROWID""",
    "CREATE INDEX idx_traits_name_value ON traits (name, value)",
    """CREATE TABLE tickets (
        ticket_id TEXT PRIMARY KEY,
        profile_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        subject TEXT,
        body TEXT
    )""",
    "CREATE INDEX idx_tickets_profile_status ON tickets (profile_id, status)",
    """CREATE TABLE profile_categories (
        profile_id TEXT NOT NULL,
        category TEXT NOT NULL,
        orders INTEGER NOT NULL DEFAULT 0,
        amount REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (profile_id, category)
    ) WITHOUT ROWID""",
    # --- triggers that keep the profile aggregates current -------------------------------------
    """CREATE TRIGGER events_purchase AFTER INSERT ON events WHEN NEW.type = 'purchase'
    BEGIN
        UPDATE profiles SET
            orders_count = orders_count + 1,
            lifetime_value = round(lifetime_value + COALESCE(json_extract(NEW.properties, '$.amount'), 0), 2),
            first_purchase_at = CASE WHEN first_purchase_at IS NULL OR NEW.ts < first_purchase_at
                                     THEN NEW.ts ELSE first_purchase_at END,
            last_purchase_at = CASE WHEN last_purchase_at IS NULL OR NEW.ts > last_purchase_at
                                    THEN NEW.ts ELSE last_purchase_at END
        WHERE profile_id = NEW.profile_id;
        INSERT INTO profile_categories (profile_id, category, orders, amount)
        SELECT NEW.profile_id, json_extract(NEW.properties, '$.category'), 1,
               COALESCE(json_extract(NEW.properties, '$.amount'), 0)
        WHERE json_extract(NEW.properties, '$.category') IS NOT NULL
        ON CONFLICT (profile_id, category) DO UPDATE SET
            orders = orders + 1, amount = amount + excluded.amount;
        UPDATE profiles SET favorite_category = (
            SELECT category FROM profile_categories WHERE profile_id = NEW.profile_id
            ORDER BY orders DESC, amount DESC, category LIMIT 1)
        WHERE profile_id = NEW.profile_id AND json_extract(NEW.properties, '$.category') IS NOT NULL;
    END""",
    f"""CREATE TRIGGER events_engagement AFTER INSERT ON events WHEN NEW.type IN {_in(ENGAGEMENT_TYPES)}
    BEGIN
        UPDATE profiles SET
            engagement_events = engagement_events + 1,
            last_engagement_at = CASE WHEN last_engagement_at IS NULL OR NEW.ts > last_engagement_at
                                      THEN NEW.ts ELSE last_engagement_at END
        WHERE profile_id = NEW.profile_id;
    END""",
    """CREATE TRIGGER events_complaint AFTER INSERT ON events WHEN NEW.type = 'complaint'
    BEGIN
        UPDATE profiles SET
            complaints_count = complaints_count + 1,
            last_complaint_at = CASE WHEN last_complaint_at IS NULL OR NEW.ts > last_complaint_at
                                     THEN NEW.ts ELSE last_complaint_at END
        WHERE profile_id = NEW.profile_id;
    END""",
    # A support_ticket event opens or updates a ticket (properties: ticket_id, status, subject, body).
    """CREATE TRIGGER events_ticket AFTER INSERT ON events WHEN NEW.type = 'support_ticket'
    BEGIN
        INSERT INTO tickets (ticket_id, profile_id, status, opened_at, updated_at, subject, body)
        VALUES (
            COALESCE(json_extract(NEW.properties, '$.ticket_id'), NEW.message_id),
            NEW.profile_id,
            CASE WHEN json_extract(NEW.properties, '$.status') = 'closed' THEN 'closed' ELSE 'open' END,
            NEW.ts, NEW.ts,
            json_extract(NEW.properties, '$.subject'),
            json_extract(NEW.properties, '$.body'))
        ON CONFLICT (ticket_id) DO UPDATE SET
            status = CASE WHEN excluded.updated_at >= tickets.updated_at THEN excluded.status
                          ELSE tickets.status END,
            updated_at = max(tickets.updated_at, excluded.updated_at),
            subject = COALESCE(tickets.subject, excluded.subject),
            body = COALESCE(tickets.body, excluded.body);
    END""",
    # An unsubscribe event revokes consent for its channel (email unless the event says otherwise).
    f"""CREATE TRIGGER events_unsubscribe AFTER INSERT ON events WHEN NEW.type = 'unsubscribe'
    BEGIN
        INSERT INTO consents (profile_id, channel, status, updated_at, source)
        SELECT NEW.profile_id, COALESCE(json_extract(NEW.properties, '$.channel'), 'email'), 'revoked',
               NEW.ts, 'unsubscribe_event'
        WHERE COALESCE(json_extract(NEW.properties, '$.channel'), 'email') IN {_in(CHANNELS)}
        ON CONFLICT (profile_id, channel) DO UPDATE SET
            status = 'revoked', updated_at = excluded.updated_at, source = excluded.source
        WHERE excluded.updated_at >= consents.updated_at;
    END""",
    """CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets
    BEGIN
        UPDATE profiles SET open_tickets = (
            SELECT count(*) FROM tickets WHERE profile_id = NEW.profile_id AND status = 'open')
        WHERE profile_id = NEW.profile_id;
    END""",
    """CREATE TRIGGER tickets_count_update AFTER UPDATE ON tickets
    BEGIN
        UPDATE profiles SET open_tickets = (
            SELECT count(*) FROM tickets WHERE profile_id = profiles.profile_id AND status = 'open')
        WHERE profile_id IN (NEW.profile_id, OLD.profile_id);
    END""",
]

for _ch in CHANNELS:
    STATEMENTS.append(
        f"""CREATE TRIGGER consents_{_ch}_insert AFTER INSERT ON consents WHEN NEW.channel = '{_ch}'
        BEGIN
            UPDATE profiles SET consent_{_ch} = (NEW.status = 'granted') WHERE profile_id = NEW.profile_id;
            INSERT INTO consent_history (profile_id, channel, status, updated_at, source)
            VALUES (NEW.profile_id, NEW.channel, NEW.status, NEW.updated_at, NEW.source);
        END"""
    )
    STATEMENTS.append(
        f"""CREATE TRIGGER consents_{_ch}_update AFTER UPDATE ON consents WHEN NEW.channel = '{_ch}'
        BEGIN
            UPDATE profiles SET consent_{_ch} = (NEW.status = 'granted') WHERE profile_id = NEW.profile_id;
            INSERT INTO consent_history (profile_id, channel, status, updated_at, source)
            SELECT NEW.profile_id, NEW.channel, NEW.status, NEW.updated_at, NEW.source
            WHERE NEW.status IS NOT OLD.status OR NEW.updated_at IS NOT OLD.updated_at;
        END"""
    )


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
