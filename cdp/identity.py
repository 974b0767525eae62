"""Identity resolution: profiles that share an identifier are one customer, as in Segment and Unomi.

Every observation "source S saw identifier (kind, value) on profile P" is a row of `identity_links`.
Profiles linked through any chain of shared identifiers form a cluster (union-find, so chains and
cycles need no special case). Each cluster keeps one master profile:

* **Master rule**: the profile with the earliest `signup_at`, then the smallest `profile_id`. The
  oldest record is the one other systems have known longest, and the rule needs no extra data, so a
  re-run on the same data always picks the same master.
* **Caps** (`IdentitySettings`): a cluster may hold at most `max_profiles` profiles and at most N
  distinct values per identifier kind (one `crm_id`: two CRM customers are two people whatever they
  share; a shop kiosk's device id must not fuse its visitors). A link that would break a cap is
  written to `identity_flags` for a person to review instead of merging.
* Links are applied strongest kind first (crm_id, email, phone, device_id, cookie), so when a cap
  bites it refuses the weakest evidence.

Merging moves events, tickets, traits, identities, consent history and campaign rows to the master,
keeps per channel the consent with the latest `updated_at` (the master's on a tie), records each
merged profile in `profile_merges` (identifier as a hash, never its value), deletes the merged rows
from `profiles` and recomputes the masters' aggregates set-based (`cdp.stats.recompute`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cdp import clock, stats
from cdp.delivery import recheck_merged
from cdp.migrations.m001_core import IDENTITY_KINDS
from cdp.normalize import compatible, email_address, phone_e164
from cdp.policy import ContactPolicy
from cdp.settings import whole

#: Order in which links are applied: strongest evidence first.
KIND_STRENGTH = ("crm_id", "email", "phone", "device_id", "cookie")
DEFAULT_KIND_LIMITS: dict[str, int] = {"crm_id": 1, "email": 3, "phone": 3, "device_id": 10, "cookie": 50}
TIER_RANK_SQL = "CASE {col} WHEN 'vip' THEN 2 WHEN 'premium' THEN 1 ELSE 0 END"
MAX_IDENTIFIER_LENGTH = 200
#: A cap of 0 would flag every customer; above 1,000 it no longer catches a shared identifier.
IDENTITY_LIMIT_BOUND = whole(1, 1000)


@dataclass(frozen=True)
class IdentitySettings:
    """Caps on what one resolved customer may hold.

    Environment overrides: CDP_IDENTITY_MAX_PROFILES and CDP_IDENTITY_MAX_<KIND> (e.g. ..._MAX_EMAIL).
    """

    max_profiles: int = 10
    kind_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_KIND_LIMITS))

    @classmethod
    def from_env(cls) -> IdentitySettings:
        limits = dict(DEFAULT_KIND_LIMITS)
        for kind in IDENTITY_KINDS:
            name = f"CDP_IDENTITY_MAX_{kind.upper()}"
            if raw := os.environ.get(name):
                limits[kind] = int(IDENTITY_LIMIT_BOUND.check(name, raw))
        raw_max = os.environ.get("CDP_IDENTITY_MAX_PROFILES")
        max_profiles = (
            int(IDENTITY_LIMIT_BOUND.check("CDP_IDENTITY_MAX_PROFILES", raw_max)) if raw_max else None
        )
        return cls(max_profiles=max_profiles or cls.max_profiles, kind_limits=limits)


@dataclass(frozen=True)
class ResolutionResult:
    """What one resolution pass did."""

    links_considered: int
    clusters: int
    merged: int
    flagged: int
    seconds: float
    masters: tuple[str, ...] = ()
    #: Scheduled sends the merge cancelled, by reason (duplicate_request, no_consent, frequency_cap).
    cancelled_sends: dict[str, int] = field(default_factory=dict)


def normalize_identifier(kind: str, value: object, region: str | None = None) -> str:
    """The stored form of an identifier: emails trimmed and lower-cased, phones in E.164.

    Every kind is first put in Unicode compatibility form (NFKC) and every decimal digit of any
    script becomes its ASCII digit, so a full-width `＋１５５５…` or Arabic-Indic digits match the
    ASCII number they stand for (otherwise one person would get two profiles and two caps). A phone
    is then read by `cdp.normalize.phone_e164`: one without a country code needs `region` (the
    file's default country), so "+44 20 7946 0958" and "020 7946 0958" in GB are one number, in an
    import and in a lookup alike. Raises ValueError naming the problem, so importers can report the line.
    """
    if kind not in IDENTITY_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {', '.join(IDENTITY_KINDS)}")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"{kind} must be text, got {type(value).__name__}")
    text = compatible(str(value))
    if kind == "email":
        text = email_address(text)
    elif kind == "phone":
        text = phone_e164(text, region)
    if not text:
        raise ValueError(f"{kind} is empty")
    if len(text) > MAX_IDENTIFIER_LENGTH:
        raise ValueError(f"{kind} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    return text


def hash_identifier(kind: str, value: str) -> str:
    """A stable hash that lets a merge be explained and matched without storing the identifier."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def masters_of(conn, profile_ids: Iterable[str]) -> dict[str, str]:
    """Map each id that was merged away to its current master (ids not merged are left out)."""
    ids = list(dict.fromkeys(profile_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        found.update(
            conn.execute(
                "SELECT merged_profile_id, master_profile_id FROM profile_merges"
                f" WHERE merged_profile_id IN ({marks})",
                chunk,
            ).fetchall()
        )
    return found


def master_of(db, profile_id: str) -> str | None:
    """The live profile id for `profile_id` (itself, or its master if merged); None if unknown."""
    conn = db.conn
    merged = masters_of(conn, [profile_id])
    pid = merged.get(profile_id, profile_id)
    row = conn.execute("SELECT 1 FROM profiles WHERE profile_id = ?", [pid]).fetchone()
    return pid if row else None


class _Clusters:
    """Union-find whose root is always the cluster's master, with the caps checked on each union."""

    def __init__(self, keys: dict[str, tuple[str, str]], sizes: dict[str, int], values, settings):
        self.parent = {p: p for p in keys}
        self.keys = keys
        self.sizes = sizes
        self.values: dict[str, dict[str, set[str]]] = values
        self.settings = settings
        self.via: dict[str, tuple[str, str]] = {}

    def find(self, p: str) -> str:
        parent = self.parent
        root = p
        while parent[root] != root:
            root = parent[root]
        while parent[p] != root:
            parent[p], p = root, parent[p]
        return root

    def refusal(self, a: str, b: str) -> str | None:
        if self.sizes[a] + self.sizes[b] > self.settings.max_profiles:
            return "cluster_cap"
        va, vb = self.values[a], self.values[b]
        for kind, limit in self.settings.kind_limits.items():
            sa, sb = va.get(kind), vb.get(kind)
            if sa and sb and len(sa) + len(sb) > limit and len(sa | sb) > limit:
                return f"kind_cap:{kind}"
        return None

    def union(self, a: str, b: str, kind: str, value: str) -> str | None:
        """Join the clusters of a and b; returns a refusal reason instead when a cap would break."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        reason = self.refusal(ra, rb)
        if reason:
            return reason
        root, child = (ra, rb) if self.keys[ra] <= self.keys[rb] else (rb, ra)
        self.parent[child] = root
        self.sizes[root] += self.sizes[child]
        for k, vals in self.values.pop(child).items():
            self.values[root].setdefault(k, set()).update(vals)
        self.via[child] = (kind, value)
        return None


def resolve_identities(
    db,
    settings: IdentitySettings | None = None,
    *,
    keys: Iterable[tuple[str, str]] | None = None,
    policy: ContactPolicy | None = None,
) -> ResolutionResult:
    """Merge every cluster of profiles that share identifiers; incremental (only shared ids are read).

    `keys` limits the pass to the given (kind, value) identifiers, e.g. the links just added: earlier
    clusters are already merged into one master each, so only new links can join them. Holds the
    write lock from the first read to the last write, so two resolvers never interleave; inside an
    open transaction it runs as part of it (the caller commits). `policy` is the contact policy
    the merge decides the masters' scheduled sends again with (the default limits when omitted).
    """
    started = time.perf_counter()
    settings = settings or IdentitySettings.from_env()
    conn = db.conn
    key_list = None if keys is None else list(keys)
    if conn.in_transaction:  # part of the caller's write (an import): its transaction, its commit
        return _resolve_locked(db, settings, started, key_list, policy)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = _resolve_locked(db, settings, started, key_list, policy)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return result


def _resolve_locked(
    db,
    settings: IdentitySettings,
    started: float,
    keys: list[tuple[str, str]] | None,
    policy: ContactPolicy | None = None,
) -> ResolutionResult:
    conn = db.conn
    if keys is None:
        shared = conn.execute(
            """SELECT l.kind, l.value, l.profile_id FROM identity_links AS l
               JOIN (SELECT kind, value FROM identity_links GROUP BY kind, value HAVING count(*) > 1) AS g
                 ON g.kind = l.kind AND g.value = l.value"""
        ).fetchall()
    else:
        conn.execute("DROP TABLE IF EXISTS temp._ir_keys")
        conn.execute(
            "CREATE TEMP TABLE _ir_keys (kind TEXT, value TEXT, PRIMARY KEY (kind, value)) WITHOUT ROWID"
        )
        conn.executemany("INSERT OR IGNORE INTO temp._ir_keys VALUES (?, ?)", keys)
        shared = conn.execute(
            """SELECT l.kind, l.value, l.profile_id FROM temp._ir_keys AS k
               JOIN identity_links AS l ON l.kind = k.kind AND l.value = k.value
               WHERE (SELECT count(*) FROM identity_links AS x
                      WHERE x.kind = k.kind AND x.value = k.value) > 1"""
        ).fetchall()
        conn.execute("DROP TABLE temp._ir_keys")
    if not shared:
        return ResolutionResult(0, 0, 0, 0, time.perf_counter() - started)

    conn.execute("DROP TABLE IF EXISTS temp._ir_nodes")
    conn.execute("CREATE TEMP TABLE _ir_nodes (profile_id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.executemany("INSERT OR IGNORE INTO temp._ir_nodes VALUES (?)", ((r[2],) for r in shared))
    order_key = {
        pid: (signup_at, pid)
        for pid, signup_at in conn.execute(
            "SELECT p.profile_id, p.signup_at FROM profiles AS p JOIN temp._ir_nodes USING (profile_id)"
        )
    }
    sizes = dict.fromkeys(order_key, 1)
    for master, n in conn.execute(
        """SELECT master_profile_id, count(*) FROM profile_merges
           WHERE master_profile_id IN (SELECT profile_id FROM temp._ir_nodes) GROUP BY master_profile_id"""
    ):
        if master in sizes:
            sizes[master] += n
    values: dict[str, dict[str, set[str]]] = {pid: {} for pid in order_key}
    limited = tuple(settings.kind_limits)
    for kind, value, pid in conn.execute(
        """SELECT kind, value, profile_id FROM identity_links
           WHERE profile_id IN (SELECT profile_id FROM temp._ir_nodes)"""
    ):
        if kind in limited and pid in values:
            values[pid].setdefault(kind, set()).add(value)
    conn.execute("DROP TABLE temp._ir_nodes")

    groups: dict[tuple[str, str], list[str]] = {}
    for kind, value, pid in shared:
        if pid in order_key:
            groups.setdefault((kind, value), []).append(pid)
    rank = {k: i for i, k in enumerate(KIND_STRENGTH)}
    clusters = _Clusters(order_key, sizes, values, settings)
    refused: dict[tuple[str, str, str], str] = {}
    for (kind, value), members in sorted(groups.items(), key=lambda g: (rank.get(g[0][0], 99), g[0][1])):
        if len(members) < 2:
            continue
        members.sort(key=order_key.__getitem__)
        first = members[0]
        for other in members[1:]:
            reason = clusters.union(first, other, kind, value)
            if reason:
                refused.setdefault((first, other, reason), kind)

    merges = []
    for child, (kind, value) in clusters.via.items():
        merges.append((child, clusters.find(child), kind, hash_identifier(kind, value)))
    flags = set()
    for (a, b, reason), kind in refused.items():
        ra, rb = clusters.find(a), clusters.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb), key=order_key.__getitem__)
            flags.add((lo, hi, kind, reason))
    now = clock.now_iso(db)
    if flags:
        conn.executemany(
            """INSERT OR IGNORE INTO identity_flags
               (profile_id, other_profile_id, via_kind, reason, flagged_at) VALUES (?, ?, ?, ?, ?)""",
            [(*f, now) for f in sorted(flags)],
        )
    masters = tuple(sorted({m[1] for m in merges}))
    cancelled = apply_merges(db, merges, now, policy=policy) if merges else {}
    return ResolutionResult(
        links_considered=len(shared),
        clusters=len(masters),
        merged=len(merges),
        flagged=len(flags),
        seconds=time.perf_counter() - started,
        masters=masters,
        cancelled_sends=cancelled,
    )


# Tables whose rows follow a customer into the master: (table, delete rows left over on a conflict).
_FOLLOWERS = (
    ("events", False),
    ("tickets", False),
    ("consent_history", False),
    ("identities", False),
    ("identity_links", True),
    ("segment_members", True),
    ("send_requests", True),
    ("sends", False),
    ("decisions", False),
)


def apply_merges(
    db, merges: Iterable[tuple[str, str, str, str]], now: str, *, policy: ContactPolicy | None = None
) -> dict[str, int]:
    """Write merges (merged id, master id, via kind, via hash) set-based, inside the open transaction.

    A merge never opens a path around the contact-policy gate: once the master's consents are merged,
    and before any send is re-pointed, the master's and the merged profiles' scheduled sends are
    decided again as the master's (`cdp.delivery.recheck_merged`: one live send per campaign step,
    the master's consent per channel, the frequency cap over the master's delivered and scheduled
    sends); each one cancelled gets a decision with its reason. Returns those cancellations by reason.
    """
    conn = db.conn
    conn.execute("DROP TABLE IF EXISTS temp._ir_map")
    conn.execute(
        """CREATE TEMP TABLE _ir_map (old TEXT PRIMARY KEY, master TEXT NOT NULL, via_kind TEXT,
           via_hash TEXT) WITHOUT ROWID"""
    )
    conn.executemany("INSERT INTO temp._ir_map VALUES (?, ?, ?, ?)", merges)
    conn.execute("CREATE INDEX temp._ir_map_master ON _ir_map (master)")
    old_ids = "(SELECT old FROM temp._ir_map)"
    new_id = "(SELECT master FROM temp._ir_map WHERE old = {t}.profile_id)"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    # Earlier merges into a profile that is now merged itself follow it to the new master.
    conn.execute(
        f"""UPDATE profile_merges SET master_profile_id =
              (SELECT master FROM temp._ir_map WHERE old = profile_merges.master_profile_id)
            WHERE master_profile_id IN {old_ids}"""
    )
    conn.execute(
        """INSERT OR REPLACE INTO profile_merges
           (merged_profile_id, master_profile_id, via_kind, via_value_hash, merged_at)
           SELECT old, master, via_kind, via_hash, ? FROM temp._ir_map""",
        [now],
    )
    # The master keeps its own attributes and fills the gaps from the merged records; the highest tier wins.
    tier_p = TIER_RANK_SQL.format(col="profiles.tier")
    conn.execute(
        f"""UPDATE profiles SET
              first_name = COALESCE(profiles.first_name, f.first_name),
              last_name = COALESCE(profiles.last_name, f.last_name),
              country = COALESCE(profiles.country, f.country),
              city = COALESCE(profiles.city, f.city),
              language = COALESCE(profiles.language, f.language),
              tier = CASE WHEN f.tier_rank > {tier_p}
                          THEN CASE f.tier_rank WHEN 2 THEN 'vip' ELSE 'premium' END
                          ELSE profiles.tier END
            FROM (SELECT m.master, min(p.first_name) AS first_name, min(p.last_name) AS last_name,
                         min(p.country) AS country, min(p.city) AS city, min(p.language) AS language,
                         max({TIER_RANK_SQL.format(col="p.tier")}) AS tier_rank
                  FROM temp._ir_map AS m JOIN profiles AS p ON p.profile_id = m.old
                  GROUP BY m.master) AS f
            WHERE profiles.profile_id = f.master"""
    )
    # Per channel (and per trait) the latest update wins; on a tie the master's own row stays.
    conn.execute(
        """INSERT INTO consents (profile_id, channel, status, updated_at, source)
            SELECT master, channel, status, updated_at, source FROM (
                SELECT m.master, c.channel, c.status, c.updated_at, c.source, row_number() OVER (
                    PARTITION BY m.master, c.channel ORDER BY c.updated_at DESC, c.profile_id) AS rn
                FROM consents AS c JOIN temp._ir_map AS m ON c.profile_id = m.old)
            WHERE rn = 1
            ON CONFLICT (profile_id, channel) DO UPDATE SET
                status = excluded.status, updated_at = excluded.updated_at, source = excluded.source
            WHERE excluded.updated_at > consents.updated_at"""
    )
    conn.execute(f"DELETE FROM consents WHERE profile_id IN {old_ids}")
    conn.execute(
        """INSERT INTO traits (profile_id, name, value, source, updated_at)
            SELECT master, name, value, source, updated_at FROM (
                SELECT m.master, t.name, t.value, t.source, t.updated_at, row_number() OVER (
                    PARTITION BY m.master, t.name ORDER BY t.updated_at DESC, t.profile_id) AS rn
                FROM traits AS t JOIN temp._ir_map AS m ON t.profile_id = m.old)
            WHERE rn = 1
            ON CONFLICT (profile_id, name) DO UPDATE SET
                value = excluded.value, source = excluded.source, updated_at = excluded.updated_at
            WHERE excluded.updated_at > traits.updated_at"""
    )
    conn.execute(f"DELETE FROM traits WHERE profile_id IN {old_ids}")
    cancelled = recheck_merged(conn, policy) if "sends" in tables else {}
    for table, drop_leftovers in _FOLLOWERS:
        if table not in tables:
            continue
        conn.execute(
            f"UPDATE OR IGNORE {table} SET profile_id = {new_id.format(t=table)}"
            f" WHERE profile_id IN {old_ids}"
        )
        if drop_leftovers:
            conn.execute(f"DELETE FROM {table} WHERE profile_id IN {old_ids}")
    conn.execute(f"DELETE FROM profile_categories WHERE profile_id IN {old_ids}")
    conn.execute(f"DELETE FROM profiles WHERE profile_id IN {old_ids}")
    masters = [r[0] for r in conn.execute("SELECT DISTINCT master FROM temp._ir_map")]
    conn.execute("DROP TABLE temp._ir_map")
    stats.recompute(db, masters)
    return cancelled
