"""Customers with no language, or one the product does not write in, get the default language.

Before, the content task failed on such a CDP (a variant id 'lang-(unknown)', then StepBudgetExceeded)
and the campaign sent nothing."""

from __future__ import annotations

import sqlite3

import pytest

from cdp.vocabulary import SUPPORTED_LANGUAGES
from tests.graph.helpers import DEFAULT_OBJECTIVE, campaign_of, compile_graph, rows, run, scalar
from tests.seeded import seeded_copy

ODD = "(p.language IS NULL OR p.language NOT IN ({}))".format(
    ", ".join(f"'{c}'" for c in SUPPORTED_LANGUAGES)
)


def _blank_languages(path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE profiles SET language = NULL WHERE rowid % 7 = 0")
        conn.execute("UPDATE profiles SET language = 'xx' WHERE rowid % 7 = 1")
        conn.execute("UPDATE profiles SET language = 'tlh' WHERE rowid % 7 = 2")
    conn.close()


@pytest.mark.parametrize(
    "objective", [DEFAULT_OBJECTIVE, "last chance sale for new customers by email"], ids=["default", "new"]
)
def test_missing_and_unsupported_languages_get_the_default_language(objective, tmp_path):
    path = seeded_copy(tmp_path)
    _blank_languages(path)
    state = run(compile_graph(), objective, path, "lang-1")
    assert state["status"] == "completed", state.get("error") or state.get("escalations")
    campaign = campaign_of(path, "lang-1")
    default = campaign["default_language"]
    assert default == "en"
    odd = rows(
        path,
        f"""SELECT s.variant, v.language FROM sends s JOIN profiles p USING (profile_id)
            LEFT JOIN content_variants v ON v.campaign_id = s.campaign_id AND v.variant_id = s.variant
            WHERE s.campaign_id = ? AND {ODD}""",
        [campaign["campaign_id"]],
    )
    assert len(odd) > 0, "customers without a supported language must be messaged"
    assert [r for r in odd if r["language"] not in (None, default)] == []
    # Where the campaign has a variant in the default language, they get it as English speakers do.
    if scalar(
        path,
        "SELECT count(*) FROM content_variants WHERE campaign_id = ? AND language = ?",
        [campaign["campaign_id"], default],
    ):
        assert sum(r["language"] == default for r in odd) > 0
    assert (
        scalar(
            path,
            "SELECT count(*) FROM content_variants WHERE campaign_id = ? AND language IS NOT NULL "
            f"AND language NOT IN ({', '.join('?' for _ in SUPPORTED_LANGUAGES)})",
            [campaign["campaign_id"], *SUPPORTED_LANGUAGES],
        )
        == 0
    )
