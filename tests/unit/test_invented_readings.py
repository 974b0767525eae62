"""Readings a small model fills in without words for them go back to it: channels, budget, offer.

Measured on a 1.5B model: it copied the prompt's example offer ("15% off shoes") into a win-back
objective that names neither an amount nor a category. Each case has a twin where the objective does
say it, which must pass.
"""

from __future__ import annotations

import pytest

from graph.plan import Interpretation
from graph.understanding import invented

AUDIENCE = {"text": "lapsed customers", "filter": {"segment": "lapsed"}}


def _reading(**parts) -> Interpretation:
    return Interpretation.model_validate({"audience": AUDIENCE, **parts})


CASES = [
    # (objective, reading, the words the repair must hold or None when nothing is invented)
    ("win back lapsed VIP customers in Germany by email",
     {"offer": {"kind": "discount", "value": 15, "unit": "percent", "category": "shoes"}, "channels": ["email"]},
     "no offer amount"),
    ("win back lapsed customers by email with 15% off",
     {"offer": {"kind": "discount", "value": 15, "unit": "percent"}, "channels": ["email"]}, None),
    ("win back lapsed customers by email with 15% off",
     {"offer": {"kind": "discount", "value": 15, "unit": "percent", "category": "shoes"}, "channels": ["email"]},
     "no product category"),
    ("win back lapsed sneaker buyers by email with 15% off sneakers",
     {"offer": {"kind": "discount", "value": 15, "unit": "percent", "category": "shoes"}, "channels": ["email"]},
     None),
    ("win back lapsed customers with 20% off shoes",
     {"offer": {"kind": "discount", "value": 20, "unit": "percent", "category": "shoes"}}, None),
    ("win back lapsed customers", {"channels": ["email", "sms"]}, "names no channel"),
    ("win back lapsed customers", {"budget": {"amount": 1000, "currency": "USD"}}, "no budget"),
    ("win back lapsed customers with a budget of 1000 USD", {"budget": {"amount": 1000, "currency": "USD"}}, None),
]  # fmt: skip


@pytest.mark.parametrize(("objective", "reading", "says"), CASES)
def test_a_reading_without_words_goes_back_to_the_model(objective, reading, says):
    problems = invented(objective, _reading(**reading))
    if says is None:
        assert problems == []
        return
    assert len(problems) == 1 and says in problems[0].message and problems[0].repair
