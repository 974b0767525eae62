"""Each run's settings (the whole `Context` as JSON), so a resumed run continues as it was started."""

from __future__ import annotations


def migrate(db) -> None:
    db.execute("ALTER TABLE runs ADD COLUMN settings TEXT CHECK (settings IS NULL OR json_valid(settings))")
