"""Campaign-side tables: segments, campaigns, content, send requests, sends, decisions, messages, runs.

Audiences, variants and sends live here rather than in graph state, so a checkpoint stays a few KB
whether the audience is ten customers or a million.
"""

from __future__ import annotations

STATEMENTS = [
    """CREATE TABLE segments (
        segment_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT,
        filter_json TEXT NOT NULL CHECK (json_valid(filter_json)),
        size INTEGER NOT NULL DEFAULT 0,
        created_by TEXT NOT NULL,
        thread_id TEXT,
        task_id TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE segment_members (
        segment_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        PRIMARY KEY (segment_id, profile_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE campaigns (
        campaign_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        objective TEXT NOT NULL,
        goal TEXT,
        thread_id TEXT,
        segment_id TEXT,
        status TEXT NOT NULL DEFAULT 'draft',
        promotional INTEGER NOT NULL DEFAULT 1,
        offer_kind TEXT,
        offer_category TEXT,
        discount_pct REAL,
        offer_expires_at TEXT,
        budget REAL,
        currency TEXT,
        holdout_pct REAL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_campaigns_thread ON campaigns (thread_id)",
    """CREATE TABLE content_variants (
        campaign_id TEXT NOT NULL,
        variant_id TEXT NOT NULL,
        channel TEXT,
        language TEXT,
        category TEXT,
        tier TEXT,
        subject TEXT,
        body TEXT NOT NULL,
        personalization TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        PRIMARY KEY (campaign_id, variant_id)
    )""",
    # What agents ask for. Only the contact-policy gate turns a request into a send.
    """CREATE TABLE send_requests (
        campaign_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT 0,
        variant TEXT,
        send_at TEXT NOT NULL,
        thread_id TEXT,
        task_id TEXT,
        agent TEXT,
        requested_at TEXT NOT NULL,
        PRIMARY KEY (campaign_id, profile_id, channel, step)
    ) WITHOUT ROWID""",
    """CREATE TABLE sends (
        send_id TEXT PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        variant TEXT,
        status TEXT NOT NULL DEFAULT 'scheduled',
        idempotency_key TEXT NOT NULL UNIQUE,
        step INTEGER NOT NULL DEFAULT 0,
        scheduled_for TEXT NOT NULL,
        promotional INTEGER NOT NULL DEFAULT 1,
        cost REAL NOT NULL DEFAULT 0,
        thread_id TEXT,
        task_id TEXT,
        agent TEXT,
        rule TEXT,
        consent_status TEXT,
        consent_updated_at TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_sends_profile_time ON sends (profile_id, scheduled_for)",
    "CREATE INDEX idx_sends_campaign ON sends (campaign_id, status)",
    # One row per customer the gate stopped, held out or deferred, with the evidence it used.
    """CREATE TABLE decisions (
        decision_id INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        channel TEXT,
        step INTEGER NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL,
        reason_code TEXT NOT NULL,
        rule TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '{}',
        thread_id TEXT,
        task_id TEXT,
        agent TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (campaign_id, profile_id, step)
    )""",
    "CREATE INDEX idx_decisions_profile ON decisions (profile_id)",
    """CREATE TABLE agent_messages (
        message_id INTEGER PRIMARY KEY,
        thread_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('request', 'response', 'status', 'escalation')),
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        task_id TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        protocol TEXT,
        dedupe_key TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (thread_id, dedupe_key)
    )""",
    "CREATE INDEX idx_agent_messages_thread ON agent_messages (thread_id, message_id)",
    """CREATE TABLE runs (
        thread_id TEXT PRIMARY KEY,
        objective TEXT NOT NULL,
        status TEXT NOT NULL,
        protocol TEXT,
        model TEXT,
        campaign_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # Conflicts between agents' proposals and how each was resolved (rule, score or a person).
    """CREATE TABLE conflicts (
        conflict_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        decision_key TEXT NOT NULL,
        proposals TEXT NOT NULL,
        resolution TEXT,
        resolved_by TEXT,
        winner TEXT,
        reasons TEXT,
        created_at TEXT NOT NULL
    )""",
    # Shared notes for the blackboard protocol (task outputs agents read instead of messaging).
    """CREATE TABLE task_notes (
        thread_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (thread_id, task_id, key)
    )""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
