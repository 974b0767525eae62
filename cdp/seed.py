"""A deterministic synthetic CDP with a realistic shape, from 1,000 to 1,000,000 customers.

Same seed and same `CDP_NOW` give the same database, row for row. The seed writes what sources
would send (CRM, web and app records of the same people, sharing emails and device ids) and then
runs identity resolution, so the CDP it leaves is resolved the same way real data would be.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cdp import clock, stats
from cdp.errors import CdpError
from cdp.identity import IdentitySettings, resolve_identities
from cdp.migrations.m001_core import STATEMENTS as CORE_STATEMENTS

DAY = 86_400
HISTORY_DAYS = 3 * 365
BATCH_PERSONS = 1_000

# (country, weight, languages with weights, cities)
COUNTRIES: tuple[tuple[str, int, tuple[tuple[str, int], ...], tuple[str, ...]], ...] = (
    ("US", 30, (("en", 1),), ("New York", "Los Angeles", "Chicago", "Houston", "Seattle")),
    ("GB", 11, (("en", 1),), ("London", "Manchester", "Birmingham", "Leeds", "Glasgow")),
    ("DE", 11, (("de", 1),), ("Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt")),
    ("FR", 9, (("fr", 1),), ("Paris", "Lyon", "Marseille", "Toulouse", "Lille")),
    ("ES", 7, (("es", 1),), ("Madrid", "Barcelona", "Valencia", "Seville")),
    ("IT", 7, (("it", 1),), ("Rome", "Milan", "Naples", "Turin")),
    ("NL", 5, (("nl", 1),), ("Amsterdam", "Rotterdam", "Utrecht", "The Hague")),
    ("BR", 7, (("pt", 1),), ("Sao Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba")),
    ("JP", 6, (("ja", 1),), ("Tokyo", "Osaka", "Yokohama", "Nagoya")),
    ("CA", 7, (("en", 78), ("fr", 22)), ("Toronto", "Montreal", "Vancouver", "Calgary")),
)
FIRST_NAMES = {
    "en": ("James", "Mary", "John", "Linda", "Michael", "Sarah", "David", "Emma", "Daniel", "Olivia"),
    "de": ("Lukas", "Anna", "Felix", "Lena", "Jonas", "Mia", "Paul", "Hannah", "Leon", "Laura"),
    "fr": ("Louis", "Chloe", "Hugo", "Camille", "Jules", "Lea", "Arthur", "Manon", "Lucas", "Ines"),
    "es": ("Pablo", "Lucia", "Alvaro", "Sofia", "Diego", "Paula", "Javier", "Elena", "Carlos", "Marta"),
    "it": ("Marco", "Giulia", "Luca", "Chiara", "Matteo", "Sara", "Andrea", "Francesca", "Davide", "Elisa"),
    "nl": ("Daan", "Sanne", "Bram", "Lotte", "Thijs", "Fleur", "Sem", "Eva", "Ruben", "Noor"),
    "pt": ("Joao", "Ana", "Pedro", "Beatriz", "Gabriel", "Mariana", "Rafael", "Juliana", "Lucas", "Camila"),
    "ja": ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura", "Riku", "Mei"),
}
LAST_NAMES = {
    "en": ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clark", "Walker", "Hall", "Young", "King"),
    "de": ("Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy"),
    "es": ("Garcia", "Fernandez", "Gonzalez", "Rodriguez", "Lopez", "Martinez", "Sanchez", "Perez"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino"),
    "nl": ("DeJong", "Jansen", "DeVries", "VanDijk", "Bakker", "Visser", "Smit", "Meijer", "DeBoer"),
    "pt": ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Rodrigues", "Almeida"),
    "ja": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi"),
}
# (category, weight, typical order value in the base tier)
CATEGORIES: tuple[tuple[str, int, float], ...] = (
    ("apparel", 22, 60.0),
    ("shoes", 16, 85.0),
    ("beauty", 14, 35.0),
    ("home", 12, 90.0),
    ("electronics", 10, 220.0),
    ("sports", 10, 70.0),
    ("books", 9, 18.0),
    ("toys", 7, 30.0),
)
TIER_WEIGHTS = (("standard", 81), ("premium", 15), ("vip", 4))
TIER_SPEND = {"standard": 1.0, "premium": 1.6, "vip": 2.8}
TIER_ORDERS = {"standard": 3.0, "premium": 6.0, "vip": 12.0}
# Where a customer is in their lifecycle: (name, weight, days since the last purchase lo..hi).
LIFECYCLES = (
    ("never", 10, 0, 0),
    ("active", 38, 0, 30),
    ("cooling", 21, 30, 90),
    ("lapsed", 19, 90, 180),
    ("churned", 12, 180, HISTORY_DAYS),
)
ENGAGEMENT_RANGE = {
    "never": (0, 10),
    "active": (4, 30),
    "cooling": (2, 15),
    "lapsed": (0, 8),
    "churned": (0, 4),
}
# Purchases follow the calendar: more in November (Black Friday) and December, fewer in January.
MONTH_WEIGHT = {1: 0.8, 11: 1.7, 12: 2.0}
# Consent per channel: (granted, denied, revoked, absent) weights. Email is the default opt-in.
CONSENT_MIX = {
    "email": (78, 7, 8, 7),
    "sms": (38, 17, 6, 39),
    "push": (24, 11, 6, 59),
}
COMPLAINT_REASONS = ("late delivery", "damaged item", "wrong size", "refund delay", "rude support")
TICKET_SUBJECTS = (
    ("Where is my order?", "My order has not arrived yet, can you check the delivery status?"),
    ("Return request", "I would like to return an item that does not fit."),
    ("Damaged parcel", "The parcel arrived damaged and one item is broken."),
    ("Refund not received", "I returned my order two weeks ago and have not been refunded."),
    ("Account access", "I cannot log in to my account after resetting the password."),
)
DUPLICATE_WEB_PCT = 7.0  # people who also have a web account under the same email
DUPLICATE_APP_PCT = 2.0  # of those, people who also use the app on the web account's device
KIOSK_EVERY = 25_000  # one shared in-store device per this many customers (must be flagged, not merged)
KIOSK_PROFILES = 12
SEED_CACHE_KIB = 262_144  # page cache while seeding: index inserts stay in memory up to ~1M customers
# Built once after the load instead of row by row: its (type, ts) order is random in insertion order.
DEFERRED_INDEX = "idx_events_type_ts"


class SeedError(CdpError):
    """The seed cannot run here (for example the CDP already holds customers)."""


@dataclass(frozen=True)
class SeedSummary:
    """What the seed wrote, for the CLI and the benchmark."""

    customers: int
    seed: int
    now: str
    source_profiles: int
    profiles: int
    merges: int
    flags: int
    events: int
    identities: int
    consents: dict[str, dict[str, int]] = field(default_factory=dict)
    at_risk: int = 0
    open_tickets: int = 0
    seconds: float = 0.0
    resolution_seconds: float = 0.0


def _weighted(rng: random.Random, items: Sequence[Any], weights: Sequence[float]) -> list[Any]:
    """Cumulative weights once, so each draw is one call (`rng.choices(..., cum_weights=...)`)."""
    total = 0.0
    cum = []
    for w in weights:
        total += w
        cum.append(total)
    return [items, cum]


class _Writer:
    """Collects one batch of rows per table and writes them in one transaction."""

    TABLES: ClassVar[dict[str, str]] = {
        "profiles": "profiles (profile_id, first_name, last_name, country, city, language, tier, signup_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "links": "identity_links (kind, value, profile_id, source, seen_at) VALUES (?, ?, ?, ?, ?)",
        "identities": "identities (kind, value, profile_id, source, first_seen_at) VALUES (?, ?, ?, ?, ?)",
        "events": "events (message_id, profile_id, type, ts, properties, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        "consents": "consents (profile_id, channel, status, updated_at, source) VALUES (?, ?, ?, ?, ?)",
        "history": "consent_history (profile_id, channel, status, updated_at, source) VALUES (?, ?, ?, ?, ?)",
        "tickets": "tickets (ticket_id, profile_id, status, opened_at, updated_at, subject, body)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
    }

    def __init__(self, conn):
        self.conn = conn
        self.rows: dict[str, list[tuple]] = {name: [] for name in self.TABLES}
        self.counts = dict.fromkeys(self.TABLES, 0)

    def flush(self) -> None:
        with self.conn:
            for name, sql in self.TABLES.items():
                rows = self.rows[name]
                if rows:
                    verb = "INSERT OR IGNORE" if name == "identities" else "INSERT"
                    self.conn.executemany(f"{verb} INTO {sql}", rows)
                    self.counts[name] += len(rows)
                    rows.clear()


class _Generator:
    """Draws people and their histories from one `random.Random`, in a fixed order."""

    def __init__(self, rng: random.Random, now_epoch: int, seed: int, writer: _Writer, now_iso: str):
        self.rng = rng
        self.now = now_epoch
        self.seed = seed
        self.w = writer
        self.now_iso = now_iso
        self.event_no = 0
        self.ticket_no = 0
        self.countries = _weighted(rng, COUNTRIES, [c[1] for c in COUNTRIES])
        self.tiers = _weighted(rng, [t[0] for t in TIER_WEIGHTS], [t[1] for t in TIER_WEIGHTS])
        self.lifecycles = _weighted(rng, LIFECYCLES, [x[1] for x in LIFECYCLES])
        self.categories = _weighted(rng, CATEGORIES, [c[1] for c in CATEGORIES])
        self.engagement = _weighted(
            rng,
            ("email_open", "page_view", "email_click", "push_open", "sms_click"),
            (40, 35, 12, 8, 5),
        )
        self.consent_mix = {
            ch: _weighted(rng, ("granted", "denied", "revoked", None), mix) for ch, mix in CONSENT_MIX.items()
        }

    # --- small helpers -------------------------------------------------------------------------
    def pick(self, table: list[Any]) -> Any:
        return self.rng.choices(table[0], cum_weights=table[1])[0]

    @staticmethod
    def ts(epoch: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))

    def event(self, pid: str, kind: str, epoch: float, props: str) -> str:
        self.event_no += 1
        ts = self.ts(epoch)
        self.w.rows["events"].append((f"s{self.seed}-e{self.event_no}", pid, kind, ts, props, self.now_iso))
        return ts

    def seasonal_time(self, lo: float, hi: float) -> float:
        """A purchase time in [lo, hi], thinned by month so Nov/Dec are busier than January."""
        rng = self.rng
        t = lo
        for _ in range(6):
            t = rng.uniform(lo, hi)
            month = time.gmtime(int(t)).tm_mon
            if rng.random() * 2.0 <= MONTH_WEIGHT.get(month, 1.0):
                return t
        return t

    # --- one person ----------------------------------------------------------------------------
    def person(self, n: int) -> None:
        rng, now = self.rng, self.now
        country, _, languages, cities = self.pick(self.countries)
        language = (
            languages[0][0]
            if len(languages) == 1
            else rng.choices([lang for lang, _ in languages], weights=[w for _, w in languages])[0]
        )
        city = rng.choice(cities)
        first = rng.choice(FIRST_NAMES[language])
        last = rng.choice(LAST_NAMES[language])
        tier = self.pick(self.tiers)
        age_days = rng.uniform(0, 30) if rng.random() < 0.03 else rng.uniform(30, HISTORY_DAYS)
        signup = now - age_days * DAY - rng.randrange(3600)
        signup_ts = self.ts(signup)
        pid = f"p{n:07d}"
        w = self.w.rows
        w["profiles"].append((pid, first, last, country, city, language, tier, signup_ts, self.now_iso))
        email = f"{first}.{last}.{n}@example.com".lower()
        crm_ids = [("crm_id", f"CRM-{n:07d}"), ("email", email)]
        if rng.random() < 0.6:
            crm_ids.append(("phone", f"+1555{n:07d}"))
        if rng.random() < 0.3:
            crm_ids.append(("device_id", f"dev-{rng.getrandbits(48):012x}"))
        for kind, value in crm_ids:
            w["links"].append((kind, value, pid, "crm", signup_ts))
            w["identities"].append((kind, value, pid, "crm", signup_ts))

        consents = self.consents(pid, signup, "crm")
        channels = {ch for ch, status in consents.items() if status in ("granted", "revoked")}
        favorite = self.pick(self.categories)
        lifecycle = self.lifecycle(age_days)
        last_active = self.purchases(pid, tier, lifecycle, signup, favorite)
        self.engage(pid, lifecycle, signup, last_active, channels, favorite[0])
        if rng.random() < 0.035:
            self.complaint(pid, signup)
        if rng.random() < 0.045:
            self.ticket(pid, signup)

        if rng.random() * 100 < DUPLICATE_WEB_PCT:
            self.web_duplicate(n, first, country, language, email, signup, favorite)

    def lifecycle(self, age_days: float) -> tuple[str, float]:
        """Lifecycle and days since the last purchase (never more than the account's age)."""
        rng = self.rng
        if age_days < 30:
            return ("never", 0.0) if rng.random() < 0.5 else ("active", rng.uniform(0, age_days))
        name, _, lo, hi = self.pick(self.lifecycles)
        if name == "never":
            return name, 0.0
        return name, min(rng.uniform(lo, min(hi, age_days)) if lo < age_days else age_days, age_days)

    def purchases(self, pid: str, tier: str, lifecycle, signup: float, favorite) -> float:
        """Orders between signup and the last purchase; returns the last active time."""
        rng, now = self.rng, self.now
        name, lapse_days = lifecycle
        if name == "never":
            return signup
        last = max(signup, now - lapse_days * DAY - rng.randrange(3600))
        orders = 1 + int(rng.expovariate(1.0 / TIER_ORDERS[tier]))
        spend = TIER_SPEND[tier]
        times = [last] + [self.seasonal_time(signup, last) for _ in range(orders - 1)]
        for t in times:
            cat = favorite if rng.random() < 0.55 else self.pick(self.categories)
            amount = round(max(3.0, rng.lognormvariate(0, 0.45) * cat[2] * spend), 2)
            self.event(pid, "purchase", t, f'{{"amount":{amount:.2f},"category":"{cat[0]}"}}')
        return last

    def engage(self, pid, lifecycle, signup, last_active, channels, category) -> None:
        rng = self.rng
        name = lifecycle[0]
        lo, hi = ENGAGEMENT_RANGE[name]
        end = self.now if name in ("never", "active", "cooling") else min(self.now, last_active + 30 * DAY)
        for _ in range(rng.randint(lo, hi)):
            kind = self.pick(self.engagement)
            if kind != "page_view" and kind.split("_")[0] not in channels:
                kind = "page_view"
            # Recent activity is denser: draw towards the end of the window.
            t = end - (end - signup) * rng.random() ** 2
            if kind == "page_view":
                props = f'{{"path":"/c/{category}"}}'
            else:
                props = f'{{"campaign":"nl-{self.ts(t)[:7]}"}}'
            self.event(pid, kind, t, props)

    def consents(self, pid: str, signup: float, source: str, only: Sequence[str] | None = None) -> dict:
        rng, now = self.rng, self.now
        result = {}
        for channel in only or CONSENT_MIX:
            status = self.pick(self.consent_mix[channel])
            if status is None:
                continue
            result[channel] = status
            granted_at = self.ts(signup)
            if status == "revoked":
                when = signup + rng.random() * (now - signup)
                ts = self.ts(when)
                self.w.rows["history"].append((pid, channel, "granted", granted_at, source))
                self.w.rows["history"].append((pid, channel, "revoked", ts, "unsubscribe_event"))
                self.w.rows["consents"].append((pid, channel, "revoked", ts, "unsubscribe_event"))
                self.event(pid, "unsubscribe", when, f'{{"channel":"{channel}"}}')
            else:
                self.w.rows["history"].append((pid, channel, status, granted_at, source))
                self.w.rows["consents"].append((pid, channel, status, granted_at, source))
        return result

    def complaint(self, pid: str, signup: float) -> None:
        rng = self.rng
        days = rng.uniform(0, 60) if rng.random() < 0.6 else rng.uniform(60, 365)
        when = max(signup, self.now - days * DAY)
        reason = rng.choice(COMPLAINT_REASONS)
        self.event(pid, "complaint", when, f'{{"reason":"{reason}","channel":"email"}}')

    def ticket(self, pid: str, signup: float) -> None:
        rng = self.rng
        self.ticket_no += 1
        ticket_id = f"t{self.seed}-{self.ticket_no}"
        subject, body = rng.choice(TICKET_SUBJECTS)
        is_open = rng.random() < 0.45
        days = rng.uniform(0, 20) if is_open else rng.uniform(5, 400)
        opened = max(signup, self.now - days * DAY)
        props = {"ticket_id": ticket_id, "status": "open", "subject": subject, "body": body}
        opened_ts = self.event(pid, "support_ticket", opened, json.dumps(props))
        updated_ts, status = opened_ts, "open"
        if not is_open:
            closed = min(self.now, opened + rng.uniform(0.5, 5) * DAY)
            updated_ts = self.event(pid, "support_ticket", closed, json.dumps({**props, "status": "closed"}))
            status = "closed"
        self.w.rows["tickets"].append((ticket_id, pid, status, opened_ts, updated_ts, subject, body))

    def web_duplicate(self, n, first, country, language, email, crm_signup, favorite) -> None:
        """A web account of the same person (same email, other case), maybe with an app profile too."""
        rng, now = self.rng, self.now
        signup = min(now - 60, crm_signup + rng.uniform(0, 200) * DAY)
        signup_ts = self.ts(signup)
        wid = f"w{n:07d}"
        w = self.w.rows
        w["profiles"].append((wid, first, None, country, None, language, "standard", signup_ts, self.now_iso))
        device = f"dev-{rng.getrandbits(48):012x}"
        web_ids = [
            ("email", email),
            ("cookie", f"ck-{rng.getrandbits(64):016x}"),
            ("device_id", device),
        ]
        for kind, value in web_ids:
            w["links"].append((kind, value, wid, "web", signup_ts))
            w["identities"].append((kind, value, wid, "web", signup_ts))
        # A newer web opt-in (or opt-out) than the CRM record: the merge must keep the latest.
        if rng.random() < 0.4:
            self.consents(wid, signup, "web", only=("email",))
        for _ in range(rng.randint(1, 8)):
            t = signup + rng.random() * (now - signup)
            self.event(wid, "page_view", t, f'{{"path":"/c/{favorite[0]}"}}')
        for _ in range(rng.choice((0, 0, 1, 2))):
            t = self.seasonal_time(signup, now)
            amount = round(max(3.0, rng.lognormvariate(0, 0.45) * favorite[2]), 2)
            self.event(wid, "purchase", t, f'{{"amount":{amount:.2f},"category":"{favorite[0]}"}}')
        if rng.random() * DUPLICATE_WEB_PCT < DUPLICATE_APP_PCT:
            aid = f"a{n:07d}"
            app_signup = min(now - 30, signup + rng.uniform(0, 60) * DAY)
            app_ts = self.ts(app_signup)
            w["profiles"].append((aid, None, None, country, None, language, "standard", app_ts, self.now_iso))
            w["links"].append(("device_id", device, aid, "app", app_ts))
            w["identities"].append(("device_id", device, aid, "app", app_ts))
            self.consents(aid, app_signup, "app", only=("push",))
            for _ in range(rng.randint(1, 6)):
                t = app_signup + rng.random() * (now - app_signup)
                self.event(aid, "push_open", t, '{"campaign":"app-push"}')

    def kiosk(self, k: int, members: Sequence[int]) -> None:
        """One in-store device seen on several CRM customers: resolution must flag, not merge, them."""
        device = f"kiosk-{self.seed}-{k}"
        for n in members:
            self.w.rows["links"].append(("device_id", device, f"p{n:07d}", "store", self.now_iso))
            self.w.rows["identities"].append(("device_id", device, f"p{n:07d}", "store", self.now_iso))


def seed_cdp(
    db, customers: int = 10_000, seed: int = 42, *, identity_settings: IdentitySettings | None = None
) -> SeedSummary:
    """Fill an empty CDP with `customers` synthetic people (deterministic for a seed and `CDP_NOW`).

    Rows are written in batches with the aggregate triggers off, then the aggregates are recomputed
    in one set-based pass and the triggers restored exactly as m001 defines them; identity
    resolution then merges the duplicate source records.
    """
    if customers < 1:
        raise SeedError("customers must be at least 1")
    existing = db.execute("SELECT count(*) FROM profiles").fetchone()[0]
    if existing:
        raise SeedError(f"the CDP already holds {existing} profiles; seed a new file (another --db path)")
    started = time.perf_counter()
    now = clock.now(db)
    now_iso = clock.iso(now)
    rng = random.Random(seed)
    conn = db.conn
    writer = _Writer(conn)
    gen = _Generator(rng, int(now.timestamp()), seed, writer, now_iso)
    kiosks = {}
    if customers >= 1_000:
        kiosk_rng = random.Random(seed + 1)
        for k in range(max(1, customers // KIOSK_EVERY)):
            kiosks[k] = kiosk_rng.sample(range(1, customers + 1), KIOSK_PROFILES)
    index_sql = next(sql for sql in CORE_STATEMENTS if DEFERRED_INDEX in sql)
    cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{SEED_CACHE_KIB}")
    conn.execute(f"DROP INDEX IF EXISTS {DEFERRED_INDEX}")
    try:
        with stats.triggers_dropped(db):
            for n in range(1, customers + 1):
                gen.person(n)
                if n % BATCH_PERSONS == 0:
                    writer.flush()
            for k, members in kiosks.items():
                gen.kiosk(k, members)
            writer.flush()
    finally:
        conn.execute(index_sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
    resolution = resolve_identities(db, identity_settings)
    conn.execute(f"PRAGMA cache_size = {cache_size}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return summarize(
        db,
        customers=customers,
        seed=seed,
        source_profiles=writer.counts["profiles"],
        flags=resolution.flagged,
        seconds=time.perf_counter() - started,
        resolution_seconds=resolution.seconds,
    )


def summarize(
    db,
    *,
    customers: int,
    seed: int,
    source_profiles: int,
    flags: int,
    seconds: float,
    resolution_seconds: float = 0.0,
) -> SeedSummary:
    """Counts that show the CDP's shape (one query per figure, never per customer)."""

    def one(sql: str) -> int:
        return int(db.execute(sql).fetchone()[0])

    consents: dict[str, dict[str, int]] = {}
    for channel, status, count in db.execute(
        "SELECT channel, status, count(*) FROM consents GROUP BY channel, status ORDER BY channel, status"
    ):
        consents.setdefault(channel, {})[status] = count
    return SeedSummary(
        customers=customers,
        seed=seed,
        now=clock.now_iso(db),
        source_profiles=source_profiles,
        profiles=one("SELECT count(*) FROM profiles"),
        merges=one("SELECT count(*) FROM profile_merges"),
        flags=flags,
        events=one("SELECT count(*) FROM events"),
        identities=one("SELECT count(*) FROM identities"),
        consents=consents,
        at_risk=one("SELECT count(*) FROM customer_360 WHERE churn_risk >= 0.7"),
        open_tickets=one("SELECT count(*) FROM profiles WHERE open_tickets > 0"),
        seconds=seconds,
        resolution_seconds=resolution_seconds,
    )
