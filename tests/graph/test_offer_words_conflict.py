"""From the words of two objectives to `conflicting_offer` decisions.

Each pair of objectives names contradicting offers in different words ("last chance" / "welcome
offer", "final hours" / "welcome gift", ...). Run one after the other through the graph on one seeded
CDP, the second campaign's gate must stop customers who hold the first offer, and nobody may hold both
live offers (counted in SQL)."""

from __future__ import annotations

import pytest

from cdp.vocabulary import OFFER_KINDS
from tests.graph.helpers import campaign_of, compile_graph, rows, run, scalar
from tests.seeded import seeded_copy

PAIRS = [
    ("last chance sale for new customers by email", "welcome offer for new customers by email", "kind"),
    ("final hours deal for new customers by email", "welcome gift for new customers by email", "kind"),
    ("sneak peek for new customers by email", "last call for new customers by email", "kind"),
    ("win back new customers with 15% off by email", "Welcome Offer for new customers by email", "kind"),
    ("10% off shoes for new customers by email", "20% off shoes for new customers by email", "discount"),
]


def _both_live(path, first: str, second: str) -> int:
    return scalar(
        path,
        """SELECT count(*) FROM (SELECT a.profile_id FROM sends a JOIN sends b ON b.profile_id = a.profile_id
           WHERE a.campaign_id = ? AND b.campaign_id = ?
             AND a.status IN ('scheduled', 'delivered') AND b.status IN ('scheduled', 'delivered'))""",
        [first, second],
    )


@pytest.mark.parametrize(("first", "second", "conflict"), PAIRS, ids=[p[0].split(" for ")[0] for p in PAIRS])
def test_two_objectives_with_contradicting_offers(first, second, conflict, tmp_path):
    path = seeded_copy(tmp_path)
    graph = compile_graph()
    a = run(graph, first, path, "offer-a")
    b = run(graph, second, path, "offer-b")
    assert (a["status"], b["status"]) == ("completed", "completed"), (a.get("error"), b.get("error"))
    ca, cb = campaign_of(path, "offer-a"), campaign_of(path, "offer-b")
    assert {ca["offer_kind"], cb["offer_kind"]} <= set(OFFER_KINDS)
    first_sends = scalar(path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [ca["campaign_id"]])
    assert first_sends > 0
    found = rows(
        path,
        """SELECT json_extract(evidence, '$.conflict') AS conflict, count(*) AS n FROM decisions
           WHERE campaign_id = ? AND reason_code = 'conflicting_offer' GROUP BY 1""",
        [cb["campaign_id"]],
    )
    assert {r["conflict"]: r["n"] for r in found}.get(conflict, 0) > 0, [dict(r) for r in found]
    assert _both_live(path, ca["campaign_id"], cb["campaign_id"]) == 0
