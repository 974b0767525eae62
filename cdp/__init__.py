"""The customer data platform: one SQLite file of resolved profiles, events, consent and traits."""

from cdp.db import default_db_path, memory_cdp, open_cdp

__all__ = ["default_db_path", "memory_cdp", "open_cdp"]
