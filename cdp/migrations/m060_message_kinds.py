"""Message kinds and default languages of campaigns, and the person-configured transactional kinds.

Whether a message is exempt from the marketing rules (frequency cap, open tickets, recent
complaints, suppression) is decided by code from the campaign's `message_kind` and the kinds a person
listed in `transactional_message_kinds` (only `cdp-agents message-kinds` writes it). The table starts
empty: until someone configures it, every campaign is marketing. `marketing` itself can never be
listed. A customer whose language is missing or unsupported is written to in `default_language`.
"""

from __future__ import annotations

# Frozen copies of the vocabularies at the time of this migration (a later kind needs a new one).
MESSAGE_KINDS = (
    "marketing",
    "order_confirmation",
    "shipping_update",
    "password_reset",
    "receipt",
    "service_notice",
)
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "ja", "pl", "sv", "da")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


STATEMENTS = [
    f"""ALTER TABLE campaigns ADD COLUMN message_kind TEXT NOT NULL DEFAULT 'marketing'
        CHECK (message_kind IN {_in(MESSAGE_KINDS)})""",
    f"""ALTER TABLE campaigns ADD COLUMN default_language TEXT NOT NULL DEFAULT 'en'
        CHECK (default_language IN {_in(LANGUAGES)})""",
    f"""CREATE TABLE transactional_message_kinds (
        kind TEXT PRIMARY KEY CHECK (kind IN {_in(MESSAGE_KINDS[1:])}),
        configured_by TEXT NOT NULL,
        configured_at TEXT NOT NULL,
        note TEXT
    ) WITHOUT ROWID""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
