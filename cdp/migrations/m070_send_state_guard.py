"""More of the database backstop, for what a careless SQLite client could still do after m020 and m063.

* ``sends_promotional_follows_campaign``: a send may be written as non-promotional (`promotional = 0`,
  exempt from the marketing rules) only when its campaign is transactional by the gate's own
  definition: `campaigns.promotional = 0`, no offer, and a `message_kind` a person listed in
  `transactional_message_kinds`. A send of an unknown campaign counts as promotional.
* ``sends_no_revival``: a delivered send never returns to `scheduled` (it would be delivered twice;
  m020 already refuses reviving a cancelled or failed one), and `delivered_at` is written once.
* ``sends_delivered_promotion_checks``: a promotional send may become `delivered` only while its
  customer has no open ticket and no `suppress_promotions = '1'` trait. (Recent complaints, quiet
  hours and the cap depend on windows and zones the trigger does not compute; the delivery step
  enforces them.)
* ``campaigns_offer_frozen``: a campaign's offer (kind, discount, category, expiry) cannot change once
  the campaign has a live send: the gate decided every send against that offer, and a rewritten offer
  would hide a contradiction from every later decision.
"""

from __future__ import annotations

PROMOTIONAL_MESSAGE = (
    "a send is exempt from the marketing rules only when its campaign is transactional (promotional 0, "
    "no offer, a message kind a person listed with cdp-agents message-kinds)"
)
REVIVAL_MESSAGE = (
    "a delivered send cannot be revived to scheduled (it would go out twice), and delivered_at is "
    "written once"
)
PROMOTION_MESSAGE = (
    "a promotional send cannot be delivered to a customer with an open ticket or a service pause "
    "(suppress_promotions = 1)"
)
OFFER_MESSAGE = (
    "a campaign's offer (kind, discount, category, expiry) is fixed once it has a scheduled or delivered "
    "send: create a new campaign for a new offer"
)

_CAMPAIGN_IS_TRANSACTIONAL = """(SELECT c.promotional = 0 AND c.offer_kind IS NULL AND c.discount_pct IS NULL
                 AND EXISTS (SELECT 1 FROM transactional_message_kinds t WHERE t.kind = c.message_kind)
          FROM campaigns c WHERE c.campaign_id = NEW.campaign_id)"""

STATEMENTS = [
    f"""CREATE TRIGGER sends_promotional_follows_campaign BEFORE INSERT ON sends
    WHEN NEW.promotional IS NOT 1 AND COALESCE({_CAMPAIGN_IS_TRANSACTIONAL}, 0) = 0
    BEGIN
        SELECT RAISE(ABORT, '{PROMOTIONAL_MESSAGE.replace("'", "''")}');
    END""",
    f"""CREATE TRIGGER sends_no_revival BEFORE UPDATE OF status, delivered_at ON sends
    WHEN (NEW.status = 'scheduled' AND OLD.status = 'delivered')
      OR (OLD.delivered_at IS NOT NULL AND NEW.delivered_at IS NOT OLD.delivered_at)
    BEGIN
        SELECT RAISE(ABORT, '{REVIVAL_MESSAGE.replace("'", "''")}');
    END""",
    f"""CREATE TRIGGER sends_delivered_promotion_checks BEFORE UPDATE OF status ON sends
    WHEN NEW.status = 'delivered' AND OLD.status IS NOT 'delivered' AND NEW.promotional IS NOT 0 AND (
        EXISTS (SELECT 1 FROM tickets t WHERE t.profile_id = NEW.profile_id AND t.status = 'open')
        OR EXISTS (SELECT 1 FROM traits t WHERE t.profile_id = NEW.profile_id
                     AND t.name = 'suppress_promotions' AND t.value = '1'))
    BEGIN
        SELECT RAISE(ABORT, '{PROMOTION_MESSAGE.replace("'", "''")}');
    END""",
    f"""CREATE TRIGGER campaigns_offer_frozen
    BEFORE UPDATE OF offer_kind, discount_pct, offer_category, offer_expires_at ON campaigns
    WHEN (NEW.offer_kind IS NOT OLD.offer_kind OR NEW.discount_pct IS NOT OLD.discount_pct
          OR NEW.offer_category IS NOT OLD.offer_category
          OR NEW.offer_expires_at IS NOT OLD.offer_expires_at)
     AND EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = OLD.campaign_id
                   AND s.status IN ('scheduled', 'delivered'))
    BEGIN
        SELECT RAISE(ABORT, '{OFFER_MESSAGE.replace("'", "''")}');
    END""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
