"""The campaign lifecycle after launch: daily measurements against the holdout and the changes made.

* ``campaign_metrics``: one row per campaign, day, arm and cut, cumulative from launch to ``as_of``.
  ``day`` counts days since launch (1 = the end of the first day). ``arm`` is ``treated`` (customers
  with at least one delivered send) or ``holdout`` (the gate's control group). ``variant`` and
  ``channel`` are ``''`` for the whole arm, or name one cut of the treated arm. Counts are customers,
  not events: ``purchasers`` bought at least once since launch (attributed or not, so the two arms
  compare), ``unsubscribes`` revoked consent after a message of this campaign.
* ``campaign_results``: the daily headline the analytics agent reads: conversion of each arm (a
  proportion, 0..1), the lift (treated rate minus holdout rate, as a proportion: 0.021 = 2.1 points)
  with its 95% confidence interval (NULL while an arm is empty), and the unsubscribe rate of the
  treated arm.
* ``campaign_adjustments``: every change to a running campaign, when, why and by whom, with the
  figures it rested on and how many sends it touched. ``keep`` rows record a review that changed nothing.
* ``simulated_responses``: the engagement simulator's draws (see ``cdp.simulate``).
"""

from __future__ import annotations

ACTIONS = ("keep", "shift_variant", "shift_channel", "pause_variant", "pause_channel", "stop")

STATEMENTS = [
    """CREATE TABLE campaign_metrics (
        campaign_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        as_of TEXT NOT NULL,
        arm TEXT NOT NULL CHECK (arm IN ('treated', 'holdout')),
        variant TEXT NOT NULL DEFAULT '',
        channel TEXT NOT NULL DEFAULT '',
        customers INTEGER NOT NULL DEFAULT 0,
        delivered INTEGER NOT NULL DEFAULT 0,
        opens INTEGER NOT NULL DEFAULT 0,
        clicks INTEGER NOT NULL DEFAULT 0,
        purchasers INTEGER NOT NULL DEFAULT 0,
        unsubscribes INTEGER NOT NULL DEFAULT 0,
        revenue REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, day, arm, variant, channel)
    ) WITHOUT ROWID""",
    """CREATE TABLE campaign_results (
        campaign_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        as_of TEXT NOT NULL,
        treated_n INTEGER NOT NULL,
        treated_rate REAL NOT NULL,
        holdout_n INTEGER NOT NULL,
        holdout_rate REAL NOT NULL,
        lift REAL NOT NULL,
        ci_low REAL,
        ci_high REAL,
        unsubscribe_rate REAL NOT NULL,
        PRIMARY KEY (campaign_id, day)
    ) WITHOUT ROWID""",
    f"""CREATE TABLE campaign_adjustments (
        adjustment_id INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        thread_id TEXT,
        day INTEGER NOT NULL,
        at TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ({", ".join(f"'{a}'" for a in ACTIONS)})),
        target TEXT,
        reason TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(evidence)),
        decided_by TEXT NOT NULL,
        affected INTEGER NOT NULL DEFAULT 0,
        UNIQUE (campaign_id, day, action, target)
    )""",
    "CREATE INDEX idx_campaign_adjustments_campaign ON campaign_adjustments (campaign_id, day)",
    # The engagement simulator's draw for each delivered send, made once at delivery (seconds after
    # delivery of each response, NULL when the customer does not respond that way).
    """CREATE TABLE simulated_responses (
        send_id TEXT PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        variant TEXT NOT NULL,
        step INTEGER NOT NULL,
        t0 TEXT NOT NULL,
        engage_s INTEGER,
        click_lag INTEGER,
        buy_lag INTEGER,
        amount REAL NOT NULL,
        unsub_s INTEGER
    ) WITHOUT ROWID""",
    "CREATE INDEX idx_simulated_responses_campaign ON simulated_responses (campaign_id)",
    # How a running campaign allocates its next sends: paused variants and channels, a preferred
    # (winning) variant or channel, and whether it was stopped. JSON, written only by cdp.lifecycle.
    "ALTER TABLE campaigns ADD COLUMN allocation TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(allocation))",
    "ALTER TABLE campaigns ADD COLUMN launched_at TEXT",
]


def migrate(db) -> None:
    for sql in STATEMENTS:
        db.execute(sql)
