"""Four processes schedule overlapping campaigns on one CDP file at once: caps hold, nothing is locked out."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import time
import traceback

from cdp import open_cdp
from cdp.gate import run_gate
from cdp.policy import ContactPolicy
from cdp.requests import stage_requests, stage_segment_requests
from tests.invariants import assert_promise_holds
from tests.unit.test_gate import NOW, add_campaign, add_segment

PROCESSES = 4
CUSTOMERS = 1500
CAMPAIGNS_PER_PROCESS = 4
POLICY = ContactPolicy(frequency_cap=2, frequency_window_days=7, holdout_pct=5)


def _worker(path: str, n: int, barrier, results) -> None:
    """One process: its own campaigns over the shared audience, step 0 by segment, step 1 by explicit ids."""
    try:
        db = open_cdp(path)
        barrier.wait(timeout=60)
        outcomes = []
        for k in range(CAMPAIGNS_PER_PROCESS):
            cid = f"w{n}c{k}"
            stage_segment_requests(db, cid, "everyone", channel_priority=["email", "sms"], agent=f"agent{n}")
            outcomes.append(run_gate(db, cid, policy=POLICY).to_dict())
            time.sleep(0.02)
            picks = [{"profile_id": f"q{i:05d}", "channel": "sms"} for i in range(n, CUSTOMERS, 7)]
            stage_requests(db, cid, picks, step=1, agent=f"agent{n}")
            outcomes.append(run_gate(db, cid, step=1, policy=POLICY).to_dict())
            # An agent does other work between gate calls; without a pause the process that just
            # committed would usually win the lock again before the waiting ones wake up.
            time.sleep(0.02)
        db.conn.close()
        results.put((n, "ok", outcomes))
    except BaseException:
        results.put((n, "error", traceback.format_exc()))


def test_four_processes_never_exceed_the_cap_or_lock_each_other_out(cdp_path):
    db = open_cdp(cdp_path)
    pids = [f"q{i:05d}" for i in range(CUSTOMERS)]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO profiles (profile_id, country, tier, signup_at) VALUES (?, ?, 'standard', ?)",
            [(p, ("US", "DE", "JP")[i % 3], NOW) for i, p in enumerate(pids)],
        )
        db.conn.executemany(
            "INSERT INTO consents VALUES (?, ?, 'granted', ?, 'signup')",
            [(p, ch, NOW) for p in pids for ch in ("email", "sms")],
        )
    add_segment(db, "everyone", pids)
    for n in range(PROCESSES):
        for k in range(CAMPAIGNS_PER_PROCESS):
            add_campaign(db, f"w{n}c{k}", discount_pct=10, offer_category="shoes")
    db.conn.close()

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(cdp_path), n, barrier, results)) for n in range(PROCESSES)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [r[2] for r in reports if r[1] != "ok"]
    assert not errors, "\n".join(errors)
    assert all(p.exitcode == 0 for p in procs)

    db = open_cdp(cdp_path)
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    worst = one(
        """SELECT max(n) FROM (SELECT a.send_id, count(*) AS n FROM sends a JOIN sends b
               ON b.profile_id = a.profile_id AND b.scheduled_for >= a.scheduled_for
              AND b.scheduled_for < strftime('%Y-%m-%dT%H:%M:%SZ', a.scheduled_for, '+7 days')
              GROUP BY a.send_id)"""
    )
    assert worst == POLICY.frequency_cap  # the cap was reached (the test bites) and never exceeded
    assert one("SELECT count(*) - count(DISTINCT idempotency_key) FROM sends") == 0
    assert one("SELECT count(*) FROM send_requests WHERE outcome IS NULL") == 0
    total = sum(o["requested"] for r in reports for o in r[2])
    assert total == one("SELECT count(*) FROM send_requests")
    # The runs really interleaved: the decisions' insertion order switches between processes many times
    # (run one after another, it would switch PROCESSES - 1 times).
    agents = [r[0] for r in db.execute("SELECT agent FROM decisions ORDER BY decision_id")]
    switches = sum(1 for a, b in itertools.pairwise(agents) if a != b)
    assert switches > PROCESSES, switches
    scheduled = sum(o["scheduled"] for r in reports for o in r[2])
    assert scheduled == one("SELECT count(*) FROM sends")
    db.conn.close()
    assert_promise_holds(cdp_path, POLICY)
