"""Day numbers (`julianday`) of the profile timestamps, kept on `profiles`, and `customer_360` reading them.

The view used to call julianday() on text timestamps six to eight times per row, which dominated an
audience count over a million profiles. Each `*_at` column now has a REAL `*_day` twin, equal to
`julianday(*_at)`, kept current by triggers on `profiles`; the view computes the same figures from
them with one julianday() call, for the clock. Plain SQL only, so every SQLite client still works.
"""

from __future__ import annotations

#: Each timestamp column of `profiles` and its day-number twin.
DAY_COLUMNS: dict[str, str] = {
    "signup_at": "signup_day",
    "first_purchase_at": "first_purchase_day",
    "last_purchase_at": "last_purchase_day",
    "last_engagement_at": "last_engagement_day",
    "last_complaint_at": "last_complaint_day",
}

_SET_ALL = ", ".join(f"{day} = julianday(NEW.{at})" for at, day in DAY_COLUMNS.items())
_ANY_STALE = " OR ".join(f"NEW.{day} IS NOT julianday(NEW.{at})" for at, day in DAY_COLUMNS.items())

#: SQLite cannot change NEW in a BEFORE trigger, so the AFTER triggers write the row once more.
#: `recursive_triggers` is on in sqlite-utils connections: every trigger's WHEN guard is false once
#: the day number matches, so its own UPDATE (which re-fires the UPDATE OF triggers) stops there.
#: The day column is in each UPDATE OF list too, so a direct write to it is corrected at once.
TRIGGERS: dict[str, str] = {
    "profiles_days_insert": f"""CREATE TRIGGER profiles_days_insert AFTER INSERT ON profiles
        WHEN {_ANY_STALE}
        BEGIN
            UPDATE profiles SET {_SET_ALL} WHERE rowid = NEW.rowid;
        END""",
    **{
        f"profiles_{day}": f"""CREATE TRIGGER profiles_{day} AFTER UPDATE OF {at}, {day} ON profiles
        WHEN NEW.{day} IS NOT julianday(NEW.{at})
        BEGIN
            UPDATE profiles SET {day} = julianday(NEW.{at}) WHERE rowid = NEW.rowid;
        END"""
        for at, day in DAY_COLUMNS.items()
    },
}

#: Same columns and the same values as m002's view: every julianday(x_at) there is x_day here, and
#: julianday(COALESCE(last_purchase_at, signup_at)) keeps its exact meaning through the CASE.
CUSTOMER_360 = """
CREATE VIEW customer_360 AS
WITH clock AS (
    SELECT julianday(COALESCE((SELECT now FROM cdp_clock WHERE id = 1), 'now')) AS now_jd
),
base AS (
    SELECT p.*,
        clock.now_jd - p.signup_day AS signup_age,
        clock.now_jd - p.last_purchase_day AS purchase_age,
        clock.now_jd - CASE WHEN p.last_purchase_at IS NOT NULL THEN p.last_purchase_day
                            ELSE p.signup_day END AS recency_age,
        CASE WHEN p.orders_count >= 2
             THEN max(1.0, (p.last_purchase_day - p.first_purchase_day) / (p.orders_count - 1))
        END AS avg_gap,
        clock.now_jd - p.last_engagement_day AS engagement_age,
        clock.now_jd - p.last_complaint_day AS complaint_age
    FROM profiles p CROSS JOIN clock
)
SELECT
    profile_id,
    country,
    city,
    language,
    tier,
    signup_at,
    CAST(signup_age AS INTEGER) AS days_since_signup,
    orders_count,
    lifetime_value,
    CASE WHEN orders_count > 0 THEN round(lifetime_value / orders_count, 2) END AS avg_order_value,
    last_purchase_at,
    CAST(purchase_age AS INTEGER) AS days_since_purchase,
    favorite_category,
    round(min(1.0,
        0.50 * min(1.0, max(0.0, recency_age) / 180.0)
      + 0.15 * (1.0 / (1 + orders_count))
      + 0.20 * CASE WHEN avg_gap IS NOT NULL
                    THEN min(1.0, max(0.0, recency_age) / (2.0 * avg_gap))
                    ELSE min(1.0, max(0.0, recency_age) / 180.0) END
      + 0.15 * (complaint_age IS NOT NULL AND complaint_age <= 90)
    ), 4) AS churn_risk,
    CASE WHEN engagement_age IS NULL THEN 0.0
         ELSE round(min(1.0, engagement_events / 20.0) * max(0.0, 1.0 - engagement_age / 90.0), 4)
    END AS engagement_score,
    (open_tickets > 0) AS open_ticket,
    last_complaint_at,
    CAST(complaint_age AS INTEGER) AS days_since_complaint,
    consent_email,
    consent_sms,
    consent_push
FROM base
"""

STATEMENTS = [
    *(f"ALTER TABLE profiles ADD COLUMN {day} REAL" for day in DAY_COLUMNS.values()),
    "UPDATE profiles SET " + ", ".join(f"{day} = julianday({at})" for at, day in DAY_COLUMNS.items()),
    *TRIGGERS.values(),
    "DROP VIEW customer_360",
    CUSTOMER_360,
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
