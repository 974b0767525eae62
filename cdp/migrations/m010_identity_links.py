"""Raw identifier observations (`identity_links`): which source saw which identifier on which profile.

`identities` holds one resolved owner per identifier; the links keep every observation, so two
profiles seen with the same email can be found and merged, and a merge can be explained.
"""

from __future__ import annotations

from cdp.migrations.m001_core import IDENTITY_KINDS

_KINDS = "(" + ", ".join(f"'{k}'" for k in IDENTITY_KINDS) + ")"

STATEMENTS = [
    f"""CREATE TABLE identity_links (
        kind TEXT NOT NULL CHECK (kind IN {_KINDS}),
        value TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        source TEXT,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (kind, value, profile_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX idx_identity_links_profile ON identity_links (profile_id)",
    # Identities written before this table existed are observations too.
    """INSERT OR IGNORE INTO identity_links (kind, value, profile_id, source, seen_at)
       SELECT kind, value, profile_id, source, first_seen_at FROM identities""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
