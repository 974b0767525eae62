"""Columns the orchestrator needs: variant review status and per-campaign audience caps."""

from __future__ import annotations


def migrate(db) -> None:
    db.execute("ALTER TABLE content_variants ADD COLUMN status TEXT NOT NULL DEFAULT 'approved'")
    db.execute("ALTER TABLE content_variants ADD COLUMN review_note TEXT")
    db.execute("ALTER TABLE campaigns ADD COLUMN max_audience INTEGER")
    db.execute("ALTER TABLE campaigns ADD COLUMN channels TEXT")
    db.execute("ALTER TABLE campaigns ADD COLUMN send_at TEXT")
