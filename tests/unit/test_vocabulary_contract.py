"""The typed vocabularies code validates against are exactly what the schema's CHECK constraints
accept, so an input the types allow is never refused by the database, nor the other way round."""

from __future__ import annotations

from typing import get_args

from cdp import gate, ingest
from cdp.migrations import m001_core


def test_ingest_types_match_the_schema():
    assert get_args(ingest.EventType) == m001_core.EVENT_TYPES
    assert get_args(ingest.Channel) == m001_core.CHANNELS
    assert get_args(ingest.IdentityKind) == m001_core.IDENTITY_KINDS


def test_the_gate_knows_the_schema_channels():
    assert gate.CHANNELS == m001_core.CHANNELS
