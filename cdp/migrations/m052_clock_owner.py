"""Who pinned the CDP clock: NULL (CDP_NOW or a person) or 'simulation' (the lifecycle's simulator).

While a simulation owns the clock, opening the CDP with an earlier `CDP_NOW` does not rewind it, so
every process (an agent's tool, a resumed run, the Studio server) reads the simulated instant.
"""

from __future__ import annotations


def migrate(db) -> None:
    db.execute("ALTER TABLE cdp_clock ADD COLUMN pinned_by TEXT")
