"""Traits: read them and write them for a whole segment (in SQL) or a short list of customers.

A trait one agent writes is visible to every agent at once: it lives in the shared `traits` table,
with the writing agent as its `source`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cdp.audience import safe_label, segment_row, write_transaction
from cdp.clock import now_iso
from cdp.filters import high_value_threshold
from cdp.gate import SUPPRESSION_TRAIT
from cdp.tools_base import ToolSession, cdp_tool
from cdp.vocabulary import SegmentVocabulary

TRAIT_NAME = r"^[a-z][a-z0-9_]{0,63}$"
MAX_VALUE = 200
MAX_PROFILES = 50
MAX_NAMES = 20
TOP_VALUES = 10
_VALUE = re.compile(r"[\w][\w .,&'/+-]*")
#: Traits the contact-policy gate reads. Only the service agent's pause tool writes them (and only to
#: switch a pause on): a generic trait write could otherwise lift a customer's suppression.
GATE_TRAITS = frozenset({SUPPRESSION_TRAIT})

Derivation = Literal["churn_band", "value_band", "engagement_band"]
#: Bands derived in SQL from `customer_360` columns (c.*). Thresholds are stated for the model.
DERIVATIONS: dict[str, str] = {
    "churn_band": "high when churn_risk >= 0.7, medium when >= 0.4, else low",
    "value_band": "high in the top 10% by lifetime_value (the high-value cut), medium at or above the "
    "median lifetime_value of customers who bought, else low",
    "engagement_band": "high when engagement_score >= 0.5, medium when >= 0.2, else low",
}


def check_value(value: str) -> str:
    """Trait values are short plain labels, so what one agent writes is safe for all to read."""
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE or not _VALUE.fullmatch(value):
        raise ValueError(
            f"trait value must be 1-{MAX_VALUE} characters of letters, digits, spaces and . , - _ & ' / +"
            f"; got {value!r:.80}"
        )
    return value


def check_name(name: str) -> str:
    """Trait names the gate reads are not for generic writers (see GATE_TRAITS)."""
    if name in GATE_TRAITS:
        raise ValueError(
            f"trait {name!r} is read by the contact-policy gate and cannot be written here; "
            "a customer-service pause is set with pause_customers"
        )
    return name


def _derivation_sql(db, name: str) -> tuple[str, list[Any]]:
    if name == "churn_band":
        return (
            "CASE WHEN c.churn_risk >= 0.7 THEN 'high' WHEN c.churn_risk >= 0.4 THEN 'medium' ELSE 'low' END",
            [],
        )
    if name == "engagement_band":
        return (
            "CASE WHEN c.engagement_score >= 0.5 THEN 'high' WHEN c.engagement_score >= 0.2 THEN 'medium'"
            " ELSE 'low' END",
            [],
        )
    if name == "value_band":
        top = high_value_threshold(db, SegmentVocabulary.from_env())
        median = db.execute(
            "SELECT lifetime_value FROM profiles WHERE lifetime_value > 0 ORDER BY lifetime_value"
            " LIMIT 1 OFFSET (SELECT (count(*) - 1) / 2 FROM profiles WHERE lifetime_value > 0)"
        ).fetchone()
        top = top if top != float("inf") else 1e308
        return (
            "CASE WHEN c.lifetime_value > 0 AND c.lifetime_value >= ? THEN 'high'"
            " WHEN c.lifetime_value > 0 AND c.lifetime_value >= ? THEN 'medium' ELSE 'low' END",
            [top, median[0] if median else 1e308],
        )
    raise ValueError(f"value_from must be one of {', '.join(DERIVATIONS)}; got {name!r}")


def _value_counts(db, segment_id: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per trait name: how many members have it and the most common values, in one query."""
    marks = ", ".join("?" for _ in names)
    rows = db.execute(
        f"""WITH v AS (
                SELECT t.name, t.value, count(*) AS n FROM segment_members m
                JOIN traits t ON t.profile_id = m.profile_id AND t.name IN ({marks})
                WHERE m.segment_id = ? GROUP BY t.name, t.value),
            r AS (SELECT name, value, n, row_number() OVER (PARTITION BY name ORDER BY n DESC, value) AS k
                  FROM v)
            SELECT name, CASE WHEN k <= ? THEN value END, CASE WHEN k <= ? THEN 0 ELSE 1 END, total(n)
            FROM r GROUP BY name, 2, 3""",
        [*names, segment_id, TOP_VALUES, TOP_VALUES],
    ).fetchall()
    out: dict[str, dict[str, Any]] = {n: {"with_trait": 0, "values": {}, "other_values": 0} for n in names}
    for name, value, is_other, n in rows:
        entry = out[name]
        entry["with_trait"] += int(n)
        if is_other:
            entry["other_values"] += int(n)
        else:
            label = safe_label(value, MAX_VALUE)
            entry["values"][label] = entry["values"].get(label, 0) + int(n)
    for entry in out.values():
        entry["values"] = dict(sorted(entry["values"].items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def read_traits(
    db, names: list[str], *, profile_ids: list[str] | None = None, segment_id: str | None = None
) -> dict[str, Any]:
    """Trait values for a few customers (per profile) or for a segment (counts per value)."""
    if (profile_ids is None) == (segment_id is None):
        raise ValueError("give either profile_ids or segment_id, not both and not neither")
    if segment_id is not None:
        head = segment_row(db, segment_id)
        members = db.execute(
            "SELECT count(*) FROM segment_members WHERE segment_id = ?", [segment_id]
        ).fetchone()[0]
        return {
            "segment_id": segment_id,
            "name": head["name"],
            "members": members,
            "traits": _value_counts(db, segment_id, names),
        }
    ids = list(dict.fromkeys(profile_ids or []))
    if not 1 <= len(ids) <= MAX_PROFILES:
        raise ValueError(f"profile_ids takes 1 to {MAX_PROFILES} ids; use segment_id for more")
    id_marks, name_marks = ", ".join("?" for _ in ids), ", ".join("?" for _ in names)
    known = {
        r[0] for r in db.execute(f"SELECT profile_id FROM profiles WHERE profile_id IN ({id_marks})", ids)
    }
    profiles: dict[str, dict[str, Any]] = {pid: dict.fromkeys(names) for pid in ids if pid in known}
    for pid, name, value, source in db.execute(
        f"SELECT profile_id, name, value, source FROM traits WHERE profile_id IN ({id_marks})"
        f" AND name IN ({name_marks})",
        [*ids, *names],
    ):
        if pid in profiles:
            profiles[pid][name] = {"value": safe_label(value, MAX_VALUE), "source": safe_label(source)}
    return {"profiles": profiles, "unknown_profile_ids": [safe_label(p, 128) for p in ids if p not in known]}


def write_segment_trait(
    db, segment_id: str, name: str, *, source: str, value: str | None = None, value_from: str | None = None
) -> dict[str, Any]:
    """Write one trait for every member of a segment in one statement: a fixed value or a band."""
    if (value is None) == (value_from is None):
        raise ValueError("give either value or value_from, not both and not neither")
    check_name(name)
    segment_row(db, segment_id)
    if value is not None:
        expr, expr_params = "?", [check_value(value)]
    else:
        expr, expr_params = _derivation_sql(db, str(value_from))
    with write_transaction(db.conn):
        cur = db.conn.execute(
            f"""INSERT INTO traits (profile_id, name, value, source, updated_at)
                SELECT c.profile_id, ?, {expr}, ?, ? FROM segment_members m
                JOIN customer_360 c ON c.profile_id = m.profile_id WHERE m.segment_id = ?
                ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value,
                    source = excluded.source, updated_at = excluded.updated_at""",
            [name, *expr_params, source, now_iso(db), segment_id],
        )
        written = cur.rowcount
    counts = _value_counts(db, segment_id, [name])[name]
    return {"segment_id": segment_id, "name": name, "written": written, "values": counts["values"]}


def write_traits(db, profile_ids: list[str], name: str, value: str, *, source: str) -> dict[str, Any]:
    """Write one trait value for a short list of customers; unknown ids are reported, not written."""
    ids = list(dict.fromkeys(profile_ids))
    if not 1 <= len(ids) <= MAX_PROFILES:
        raise ValueError(
            f"profile_ids takes 1 to {MAX_PROFILES} ids; save a segment and use write_segment_trait"
        )
    check_name(name)
    check_value(value)
    marks = ", ".join("?" for _ in ids)
    with write_transaction(db.conn):
        cur = db.conn.execute(
            f"""INSERT INTO traits (profile_id, name, value, source, updated_at)
                SELECT profile_id, ?, ?, ?, ? FROM profiles WHERE profile_id IN ({marks})
                ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value,
                    source = excluded.source, updated_at = excluded.updated_at""",
            [name, value, source, now_iso(db), *ids],
        )
        written = cur.rowcount
    known = {r[0] for r in db.execute(f"SELECT profile_id FROM profiles WHERE profile_id IN ({marks})", ids)}
    return {
        "name": name,
        "value": value,
        "written": written,
        "unknown_profile_ids": [safe_label(p, 128) for p in ids if p not in known],
    }


# --- tools -------------------------------------------------------------------------------------

# The tools below share these functions' names (the name is what the model sees).
_read_traits, _write_segment_trait, _write_traits = read_traits, write_segment_trait, write_traits

TraitName = Field(
    pattern=TRAIT_NAME, description="trait name: lowercase letters, digits, _ (e.g. churn_band)"
)
ProfileIds = Field(min_length=1, max_length=MAX_PROFILES, description=f"1 to {MAX_PROFILES} profile ids")


class ReadTraitsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] = Field(min_length=1, max_length=MAX_NAMES, description="trait names to read")
    profile_ids: list[str] | None = Field(None, max_length=MAX_PROFILES, description="up to 50 profile ids")
    segment_id: str | None = Field(
        None, max_length=64, description="a saved segment (instead of profile_ids)"
    )

    @model_validator(mode="after")
    def _check(self) -> ReadTraitsArgs:
        bad = [n for n in self.names if not re.fullmatch(TRAIT_NAME, n)]
        if bad:
            raise ValueError(f"invalid trait names {bad!r}: use lowercase letters, digits and _")
        if (self.profile_ids is None) == (self.segment_id is None):
            raise ValueError("give either profile_ids or segment_id")
        return self


class WriteSegmentTraitArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(min_length=1, max_length=64, description="id returned by save_segment")
    name: str = TraitName
    value: str | None = Field(None, max_length=MAX_VALUE, description="one value for every member")
    value_from: Derivation | None = Field(
        None,
        description="compute per member instead: " + "; ".join(f"{k}: {v}" for k, v in DERIVATIONS.items()),
    )


class WriteTraitsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile_ids: list[str] = ProfileIds
    name: str = TraitName
    value: str = Field(
        min_length=1, max_length=MAX_VALUE, description="short label, e.g. 'winback_candidate'"
    )


def trait_tools(session: ToolSession) -> list[BaseTool]:
    """Tools to read traits and to write them (as `session.agent`) for a segment or a few customers."""

    def read_traits(db, args: ReadTraitsArgs) -> dict[str, Any]:
        """Read traits (labels agents or jobs attached to customers, e.g. churn_band). With
        segment_id: per trait, how many members have it and the most common values with counts.
        With profile_ids (at most 50): each customer's value and which agent wrote it (null when
        unset). Use it to reuse what other agents already found instead of recomputing it."""
        return _read_traits(db, args.names, profile_ids=args.profile_ids, segment_id=args.segment_id)

    def write_segment_trait(db, args: WriteSegmentTraitArgs) -> dict[str, Any]:
        """Attach a trait to every member of a saved segment, visible to all agents at once. Give
        either value (the same label for all, e.g. "winback_q4") or value_from to compute a band
        per member: churn_band (high >= 0.7 churn_risk, medium >= 0.4, else low), value_band
        (high = top 10% lifetime value, medium >= median of buyers, else low) or engagement_band
        (high >= 0.5 engagement_score, medium >= 0.2, else low). Overwrites the same trait name.
        Returns how many were written and the count per value."""
        return _write_segment_trait(
            db, args.segment_id, args.name, source=session.agent, value=args.value, value_from=args.value_from
        )

    def write_traits(db, args: WriteTraitsArgs) -> dict[str, Any]:
        """Attach one trait value to a few customers (at most 50 ids; for more, save a segment and
        use write_segment_trait). Values are short labels: letters, digits, spaces and . , - _ & ' / +.
        Returns how many were written and any ids that do not exist."""
        return _write_traits(db, args.profile_ids, args.name, args.value, source=session.agent)

    return [
        cdp_tool(session, read_traits, ReadTraitsArgs),
        cdp_tool(session, write_segment_trait, WriteSegmentTraitArgs, write=True),
        cdp_tool(session, write_traits, WriteTraitsArgs, write=True),
    ]
