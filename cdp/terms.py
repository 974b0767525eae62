"""What the CDP actually holds, by name: the countries, cities, languages, tiers and categories.

Planning reads this once per objective, so "customers in Sweden" on a CDP without Swedish customers
becomes a question instead of an empty campaign, and a typo ("germny") can be answered with the
nearest real value. It is one grouped read over indexed columns of `profiles` and one over
`profile_categories`; the counts let checks warn about an empty or oversized audience.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

TERMS_TAG = "cdp_terms"


@dataclass(frozen=True)
class CdpTerms:
    """Distinct values the CDP's customers have, with how many customers have each."""

    customers: int = 0
    countries: dict[str, int] = field(default_factory=dict)
    cities: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def prompt_block(self) -> str:
        """The terms as the tagged block planning prompts carry (`<cdp_terms>{json}</cdp_terms>`)."""
        return f"<{TERMS_TAG}>{self.to_json()}</{TERMS_TAG}>"

    @classmethod
    def from_json(cls, text: str) -> CdpTerms:
        data: dict[str, Any] = json.loads(text)
        return cls(
            customers=int(data.get("customers") or 0),
            **{
                k: {str(n): int(c) for n, c in (data.get(k) or {}).items()}
                for k in ("countries", "cities", "languages", "tiers", "categories")
            },
        )

    @classmethod
    def from_prompt(cls, text: str) -> CdpTerms | None:
        """The terms block found in a prompt, or None when the prompt has none (or a broken one)."""
        start, end = text.find(f"<{TERMS_TAG}>"), text.find(f"</{TERMS_TAG}>")
        if start < 0 or end < start:
            return None
        try:
            return cls.from_json(text[start + len(TERMS_TAG) + 2 : end])
        except (ValueError, TypeError, AttributeError):
            return None


def read_terms(db) -> CdpTerms:
    """One cheap read of the CDP's vocabulary (a merged profile leaves `profiles`, so it is not counted)."""
    conn = db.conn if hasattr(db, "conn") else db
    counts: dict[str, dict[str, int]] = {}
    for column, key in (
        ("country", "countries"),
        ("city", "cities"),
        ("language", "languages"),
        ("tier", "tiers"),
    ):
        rows = conn.execute(
            f"SELECT {column}, COUNT(*) FROM profiles WHERE {column} IS NOT NULL "
            f"AND {column} <> '' GROUP BY {column}"
        ).fetchall()
        counts[key] = {str(v): int(c) for v, c in rows}
    rows = conn.execute("SELECT category, COUNT(*) FROM profile_categories GROUP BY category").fetchall()
    counts["categories"] = {str(v): int(c) for v, c in rows}
    total = conn.execute("SELECT COUNT(*) FROM profiles").fetchone()[0]
    return CdpTerms(customers=int(total), **counts)
