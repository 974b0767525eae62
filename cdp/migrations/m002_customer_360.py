"""The `customer_360` view: one row per resolved customer, every figure current at the CDP clock.

Plain SQL only (no custom functions), so the sqlite3 shell, Datasette or any client can query it.

churn_risk (0 to 1) is a weighted sum of four explainable parts, each in [0, 1]:

* recency, weight 0.50: days since the last purchase (since signup when never purchased) over 180,
  capped at 1. Recency is the strongest single predictor of churn in RFM practice, so it carries half.
* frequency, weight 0.15: 1 / (1 + orders). A customer with many orders has a habit to lose, one
  with none has nothing to hold them; it matters, but less than how long they have been away.
* trend, weight 0.20: how overdue the customer is against their own rhythm: days since the last
  purchase over twice their average gap between purchases, capped at 1 (equal to recency with
  fewer than two orders). It catches a weekly buyer who has gone quiet for a month before plain
  recency does.
* complaint, weight 0.15: 1 when the customer complained in the last 90 days. A complaint is a
  strong but short-lived signal, so it moves the score without deciding it alone.

engagement_score (0 to 1) = min(1, engagement events / 20) x max(0, 1 - days since the last
engagement / 90): volume of opens, clicks and visits, faded by how long ago the last one was.
"""

from __future__ import annotations

CUSTOMER_360 = """
CREATE VIEW customer_360 AS
WITH clock AS (
    SELECT julianday(COALESCE((SELECT now FROM cdp_clock WHERE id = 1), 'now')) AS now_jd
),
base AS (
    SELECT p.*,
        clock.now_jd - julianday(p.signup_at) AS signup_age,
        clock.now_jd - julianday(p.last_purchase_at) AS purchase_age,
        clock.now_jd - julianday(COALESCE(p.last_purchase_at, p.signup_at)) AS recency_age,
        CASE WHEN p.orders_count >= 2
             THEN max(1.0, (julianday(p.last_purchase_at) - julianday(p.first_purchase_at))
                           / (p.orders_count - 1))
        END AS avg_gap,
        clock.now_jd - julianday(p.last_engagement_at) AS engagement_age,
        clock.now_jd - julianday(p.last_complaint_at) AS complaint_age
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


def migrate(db) -> None:
    db.execute(CUSTOMER_360)
