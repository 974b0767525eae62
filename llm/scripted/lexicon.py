"""Word classes of the objective grammar: which phrases mean which goal, segment, tier, place ...

Data only; `llm.scripted.grammar` reads it. Phrases are written naturally ("at-risk", "VIPs"): the grammar
normalises them with the same function it applies to objectives (case, hyphens, plurals), so each
entry also covers its spelling variants. Categories, countries and languages match `cdp.seed`.
"""

from __future__ import annotations


def _w(text: str) -> tuple[str, ...]:
    """Comma-separated phrases (no phrase contains a comma) as a tuple: keeps the lists compact."""
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _pairs(text: str) -> dict[str, str]:
    """ "key=value, key=value" as a dict."""
    return dict(p.split("=", 1) for p in _w(text))  # type: ignore[misc]


def _ints(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in _pairs(text).items()}


def _numbers(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in _pairs(text).items()}


#: Nouns and verbs that name the campaign's purpose. They outrank the launch verbs below, so
#: "launch a holiday retention campaign" is a retention campaign.
GOALS: dict[str, tuple[str, ...]] = {
    "retention": _w(
        "retention, retain, retaining, hold on to, hang on to, prevent churn, reduce churn, "
        "stop churn, fight churn, churn prevention, anti churn, keep them"
    ),
    "win-back": _w(
        "win back, winback, win them back, winning back, bring back, bring them back, get back, "
        "lure back, woo back, welcome back, reactivate, reactivation, reactivating, recapture, "
        "regain, recover, come back, re activate, re activating, re activation"
    ),
    "re-engagement": _w(
        "re engage, reengage, re engagement, reengagement, re engaging, wake up, revive, rekindle, "
        "reconnect with"
    ),
    "cross-sell": _w("cross sell, crosssell, cross selling, cross promote, cross promotion"),
    "upsell": _w("upsell, up sell, upselling, upgrade, upgrading, trade up, move up"),
    "welcome": _w("welcome, onboard, onboarding, greet, welcome series"),
}

#: Verbs that keep/save only count as retention when a customer phrase follows them.
WEAK_RETENTION = _w("keep, save, hold, protect")

#: Verbs of launching: the goal is "launch" only when no other goal word is present.
LAUNCH_VERBS = _w(
    "launch, announce, announcement, introduce, unveil, promote, promotion, debut, release, "
    "showcase, launching, announcing, promoting"
)

#: Phrases that name a segment wherever they appear.
SEGMENTS: dict[str, tuple[str, ...]] = {
    "at-risk": _w(
        "at risk, churning, likely to churn, about to churn, might churn, may churn, could churn, "
        "at risk of churn, at risk of churning, at risk of leaving, high churn risk, churn risky, "
        "slipping away, about to leave, likely to leave, wavering"
    ),
    "lapsed": _w(
        "lapsed, dormant, inactive, churned, lost customer, former customer, ex customer, "
        "gone quiet, went quiet, lapsing, sleeping, hibernating, gone cold, no longer active"
    ),
    "new": _w(
        "newly registered, newly joined, newcomer, recent signup, recent sign up, recent registrant, "
        "recent member, recent subscriber, just signed up, just joined, signed up recently, "
        "joined recently, recently joined, recently signed up, recently registered, "
        "first time visitor"
    ),
    "high-value": _w(
        "high value, highest value, big spender, top spender, high spender, biggest spender, whale, "
        "most valuable, high ltv, top customer, best customer, most valuable customer"
    ),
    "active": _w(
        "recently active, recent buyer, recent purchaser, recent shopper, bought recently, "
        "purchased recently, ordered recently, shopped recently"
    ),
    "loyal": _w(
        "loyal, regular, faithful, frequent buyer, frequent shopper, frequent customer, "
        "frequent purchaser, loyalist, die hard fan"
    ),
}

#: Adjectives that name a segment only when they modify a customer noun ("new customers", not
#: "our new sneaker line").
SEGMENTS_NEED_HEAD: dict[str, tuple[str, ...]] = {
    "new": _w("new, fresh"),
    "active": _w("active"),
}

TIERS_ALWAYS: dict[str, tuple[str, ...]] = {
    "vip": _w("vip, v i p, very important customer"),
}

#: Tier words that are ordinary adjectives elsewhere ("premium sneakers"): they need a customer noun
#: or a tier noun after them.
TIERS_NEED_HEAD: dict[str, tuple[str, ...]] = {
    "premium": _w("premium"),
    "standard": _w("standard, basic"),
}

#: Loyalty-programme names that are not tiers of this CDP: never mapped silently.
TIER_LIKE = _w("gold, silver, platinum, bronze, diamond, elite, titanium, black card, plus")

TIER_NOUNS = _w("tier, level, plan, membership, status, program, programme, club")

#: Nouns that head an audience phrase.
HEADS = _w(
    "customer, client, shopper, buyer, user, member, subscriber, signup, sign up, account, people, "
    "person, folk, fan, purchaser, consumer, audience, segment, cohort, contact, household, spender, "
    "lover, enthusiast, registrant, patron, guest, visitor, base, list, group, one, those, them"
)

#: Words that may stand before a customer noun without narrowing the audience.
HARMLESS_MODIFIERS = _w(
    "our, all, the, those, these, every, each, any, existing, current, eligible, other, more, my, "
    "your, their, some, many, most, remaining, valued, online, registered, a, an, of, known, entire, "
    "whole, total, possible, relevant, target, potential, real, actual, individual, specific, such, "
    "both, few, customer, retail, ecommerce, e commerce, store, shop, app, web, mobile, email, sms, "
    "push, this, that, which, who, what, with, for, to, and, or, in, from, on, at, by, dear, "
    "beloved, wonderful, amazing, great, good, key, core, main, important, paying, paid, same, "
    "identified, known"
)

#: Common verbs: a word before a customer noun that is one of these is an action, not a modifier.
VERBS = _w(
    "target, reach, reward, thank, nudge, remind, invite, engage, convert, contact, message, send, "
    "notify, ping, delight, surprise, treat, offer, give, tell, inform, encourage, get, help, show, "
    "let, make, bring, win, keep, retain, save, hold, protect, upsell, email, text, push, mail, "
    "sell, market, pitch, approach, activate, reactivate, re, appreciate, celebrate, recognize, "
    "recognise, honor, honour, greet, welcome, onboard, survey, ask, update, alert, serve, address, "
    "entice, tempt, lure, attract, acquire, grow, retarget, segment, select, pick, choose, find, "
    "identify, include, exclude, excluding, except, only, just, also, even, please, want, need, "
    "like, love, would, should, can, could, will, must, run, do, create, build, plan, design, "
    "launch, announce, promote, introduce, drive, boost, increase, re engage, reengage, upgrade, "
    "cross, sell, re activate, wake, revive, recover, regain, recapture, woo, spoil, pamper, court, "
    "chase, follow, call, support, serve, value, prioritize, prioritise, focus, center, centre, aim, "
    "address"
)

#: Words that start a clause or otherwise show that the next word is a verb ("let's thank ...").
VERB_SLOTS = _w(
    "to, please, let, lets, let's, and, then, we, i, should, must, will, can, could, would, want, "
    "need, also, just, help, us"
)

#: Countries and cities live in `cdp.places`, which the checks of a real model's plan read too.
from cdp.places import (  # noqa: E402, F401  (re-exported)
    CITIES,
    CITY_ALIASES,
    COUNTRIES,
    COUNTRY_CODES_UPPER,
    COUNTRY_DISPLAY,
    COUNTRY_NAMES_NEED_CAPITAL,
    SUBNATIONAL,
)

#: ISO 639-1 code: names. "German-speaking", "Spanish speakers", "who speak French".
LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": _w("english"),
    "de": _w("german"),
    "fr": _w("french"),
    "es": _w("spanish"),
    "it": _w("italian"),
    "nl": _w("dutch"),
    "pt": _w("portuguese"),
    "ja": _w("japanese"),
    "sv": _w("swedish"),
    "da": _w("danish"),
    "no": _w("norwegian"),
    "fi": _w("finnish"),
    "pl": _w("polish"),
    "cs": _w("czech"),
    "el": _w("greek"),
    "tr": _w("turkish"),
    "zh": _w("chinese, mandarin"),
    "ko": _w("korean"),
    "ar": _w("arabic"),
    "hi": _w("hindi"),
    "ru": _w("russian"),
}

#: The CDP's product categories (`cdp.seed.CATEGORIES`) and the words that name them.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "shoes": _w("shoe, shoes, sneaker, footwear, boot, sandal, trainer, heels, loafer"),
    "apparel": _w(
        "apparel, clothing, clothes, fashion, outfit, garment, wear, wardrobe, jacket, dress, "
        "tshirt, t shirt, jeans, knitwear"
    ),
    "beauty": _w(
        "beauty, cosmetic, makeup, make up, skincare, skin care, fragrance, perfume, haircare, lipstick"
    ),
    "electronics": _w(
        "electronics, electronic, gadget, tech, device, headphone, laptop, smartphone, phone, "
        "camera, tablet, speaker"
    ),
    "home": _w(
        "home, homeware, home goods, home decor, decor, furniture, kitchen, kitchenware, houseware, "
        "bedding, interior"
    ),
    "sports": _w(
        "sport, sports, sporting goods, sportswear, fitness, athletic, outdoor, running gear, gym, "
        "yoga, cycling"
    ),
    "books": _w("book, books, novel, reading, ebook, e book, literature, bookworm"),
    "toys": _w("toy, toys, game, puzzle, lego, plush, kids toys"),
}

#: Words that, before a category, make it define the audience ("customers who bought shoes").
CATEGORY_AUDIENCE_CUES = _w(
    "bought, buy, buys, buying, purchased, purchase, ordered, order, shop, shops, shopped, shopping, "
    "love, loves, like, likes, into, interested in, fan of, fans of, favorite category, "
    "favourite category, prefer, prefers, browse, browsed, mostly buy, mainly buy"
)

#: Nouns after a category that make it define the audience ("shoe buyers").
CATEGORY_AUDIENCE_HEADS = _w(
    "buyer, shopper, customer, fan, lover, enthusiast, purchaser, people, client, user, junkie, "
    "addict, aficionado, bookworm"
)

CHANNELS: dict[str, tuple[str, ...]] = {
    "email": _w("email, e mail, newsletter, emailing, inbox, mailing"),
    "sms": _w("sms, text message, texting, txt, sms message, mobile message"),
    "push": _w(
        "push, push notification, app notification, in app notification, mobile push, notification, app push"
    ),
}

#: "text" is a channel only after by/via/over or as the verb that opens a clause ("text VIPs").
AMBIGUOUS_CHANNELS: dict[str, str] = _pairs("text=sms, texts=sms")

ALL_CHANNELS = _w(
    "all channels, every channel, all available channels, any channel, omnichannel, omni channel, "
    "all three channels, all our channels, every available channel, multichannel, multi channel, "
    "across channels, cross channel"
)

#: Channels this CDP cannot send on: asked for explicitly, they get a question, not a silent drop.
UNSUPPORTED_CHANNELS = _w(
    "whatsapp, telegram, direct mail, postal mail, post, letter, phone call, call, facebook, "
    "instagram, tiktok, social media, social, display ads, billboard, messenger, wechat, line app, "
    "voice, fax, mms, rcs, slack"
)

STRICT_WORDS = _w("only, exclusively, solely, just, purely, strictly")

#: Currency symbols and words, to ISO 4217.
#: R$, C$, A$ ... are rewritten to BRL, CAD, AUD before tokenising (see `llm.scripted.grammar`).
CURRENCY_SYMBOLS: dict[str, str] = _pairs("$=USD, €=EUR, £=GBP, ¥=JPY")

CURRENCY_WORDS: dict[str, str] = _pairs(
    "usd=USD, dollar=USD, buck=USD, us dollar=USD, eur=EUR, euro=EUR, gbp=GBP, pound=GBP, quid=GBP, "
    "pound sterling=GBP, sterling=GBP, jpy=JPY, yen=JPY, chf=CHF, swiss franc=CHF, franc=CHF, "
    "cad=CAD, canadian dollar=CAD, aud=AUD, australian dollar=AUD, brl=BRL, real=BRL, reais=BRL, "
    "sek=SEK, nok=NOK, dkk=DKK, krona=SEK, kronor=SEK, pln=PLN, zloty=PLN, mxn=MXN, peso=MXN, "
    "inr=INR, rupee=INR"
)

BUDGET_CUES = _w(
    "budget, budgeted, spend cap, spending cap, spend limit, spending limit, total spend, "
    "campaign spend, max spend, maximum spend, up to, at most, cap of"
)

LTV_CUES = _w(
    "spent, have spent, spending, lifetime value, ltv, clv, customer lifetime value, worth, "
    "lifetime spend, total spent, spent a total of"
)

AOV_CUES = _w(
    "average order value, aov, average order, average basket, basket size, average spend per order, "
    "average purchase"
)

DISCOUNT_CUES = _w(
    "off, discount, save, saving, savings, coupon, voucher, code, promo code, markdown, reduction, "
    "rebate, cashback, cash back"
)

OFFERS: dict[str, tuple[str, ...]] = {
    "last chance": _w("last chance, final chance, final hours, final reminder, ending soon, last call"),
    "welcome offer": _w(
        "welcome offer, welcome discount, welcome gift, welcome code, first order discount, "
        "first purchase discount"
    ),
    "loyalty reward": _w(
        "loyalty reward, loyalty points, double points, bonus points, points bonus, thank you gift, "
        "reward points"
    ),
    "early access": _w(
        "early access, sneak peek, preview, vip preview, first access, pre order, presale, pre sale"
    ),
    "free gift": _w("free gift, gift with purchase, free sample, bonus gift"),
    "bundle": _w("bundle, bogo, buy one get one, 2 for 1, two for one, multi buy"),
    "flash sale": _w("flash sale, 24 hour sale, one day sale, limited time offer, limited time deal"),
    "exclusive offer": _w("exclusive offer, exclusive deal, members only offer, private sale"),
    "birthday reward": _w("birthday reward, birthday gift, birthday treat, birthday discount"),
    "referral": _w("referral, refer a friend, referral bonus"),
}

FREE_SHIPPING = _w("free shipping, free delivery, shipping free, no shipping cost, free postage")

#: Occasion: words. Fixed dates (month, day) feed `occasion_date`; movable feasts are computed.
OCCASIONS: dict[str, tuple[str, ...]] = {
    "black friday": _w("black friday, bfcm, black friday cyber monday"),
    "cyber monday": _w("cyber monday"),
    "christmas": _w("christmas, xmas, x mas, festive season, festive, yuletide"),
    "new year": _w("new year, new years, new year's, nye, new year's eve"),
    "valentine's day": _w("valentine, valentines, valentine's day, valentines day"),
    "mother's day": _w("mother's day, mothers day"),
    "father's day": _w("father's day, fathers day"),
    "back to school": _w("back to school, school season"),
    "summer": _w("summer, summer sale, summertime"),
    "winter": _w("winter, winter sale"),
    "spring": _w("spring, spring sale"),
    "autumn": _w("autumn, fall sale, fall collection"),
    "halloween": _w("halloween"),
    "easter": _w("easter"),
    "thanksgiving": _w("thanksgiving"),
    "singles day": _w("singles day, singles' day, 11.11"),
    "birthday": _w("birthday"),
    "anniversary": _w("anniversary"),
    "holiday": _w("holiday, holidays, holiday season, festive holidays"),
    "end of season": _w("end of season, clearance"),
}

FIXED_OCCASION_DATES: dict[str, tuple[int, int]] = {
    "christmas": (12, 25),
    "new year": (1, 1),
    "valentine's day": (2, 14),
    "halloween": (10, 31),
    "singles day": (11, 11),
}

MONTHS: dict[str, int] = _ints(
    "january=1, jan=1, february=2, feb=2, march=3, mar=3, april=4, apr=4, may=5, june=6, jun=6, "
    "july=7, jul=7, august=8, aug=8, september=9, sep=9, sept=9, october=10, oct=10, november=11, "
    "nov=11, december=12, dec=12"
)

WEEKDAYS: dict[str, int] = _ints(
    "monday=0, mon=0, tuesday=1, tue=1, tues=1, wednesday=2, wed=2, thursday=3, thu=3, thur=3, "
    "thurs=3, friday=4, fri=4, saturday=5, sat=5, sunday=6, sun=6"
)

UNITS: dict[str, int] = _ints("day=1, week=7, month=30, year=365, quarter=90, fortnight=14")

#: How many times: "bought twice", "ordered 3 times".
FREQUENCY_WORDS: dict[str, int] = _ints("once=1, twice=2, thrice=3")

NUMBER_WORDS: dict[str, float] = _numbers(
    "one=1, two=2, three=3, four=4, five=5, six=6, seven=7, eight=8, nine=9, ten=10, eleven=11, "
    "twelve=12, fifteen=15, twenty=20, thirty=30, forty=40, forty five=45, fifty=50, sixty=60, "
    "ninety=90, hundred=100, a hundred=100, couple=2, a couple of=2, single=1, dozen=12, a dozen=12, "
    "half a=0.5"
)

PURCHASE_WORDS = _w(
    "bought, buy, buying, purchased, purchase, purchasing, ordered, order, ordering, shopped, shop, "
    "shopping, transacted, transaction, checked out, made a purchase, placed an order, converted"
)

SIGNUP_WORDS = _w(
    "signed up, sign up, signup, joined, registered, registration, created an account, subscribed, "
    "enrolled, onboarded, became a member, became customer, became a customer, first visit"
)

TENURE_WORDS = _w("with us, been a customer, been customer, been a member, been member")

INACTIVE_WORDS = _w("inactive, dormant, quiet, idle, away, absent, lapsed, silent, gone")

ACTIVE_WORDS = _w("active")

LAST_PURCHASE_WORDS = _w(
    "last purchase, last order, most recent purchase, most recent order, last bought, "
    "last purchased, last ordered, last shopped, last transaction"
)

COMPLAINT_WORDS = _w("complained, complaint, complaining, complainer, filed a complaint, made a complaint")

TICKET_WORDS = _w(
    "open ticket, open support ticket, open case, open support case, unresolved ticket, "
    "pending ticket, ticket open, open support request, open request, active ticket, "
    "unresolved issue, open issue"
)

ORDER_NOUNS = _w("order, purchase, transaction")

ONE_TIME_BUYERS = _w(
    "one time buyer, one time customer, one time purchaser, one time shopper, "
    "single purchase customer, single order customer, first time buyer"
)

REPEAT_BUYERS = _w(
    "repeat buyer, repeat customer, repeat purchaser, repeat shopper, returning customer, returning buyer"
)

NEVER_BOUGHT = _w(
    "never bought, never purchased, never ordered, never shopped, never made a purchase, "
    "never placed an order, non buyer, non purchaser, yet to buy, yet to purchase, yet to order, "
    "no purchase yet, no order yet, not bought anything, not purchased anything, "
    "haven't bought anything, haven't purchased anything, have not bought anything, "
    "have not purchased anything, without any purchase, zero order, no purchase ever, "
    "window shopper, browser"
)

CHURN_RISK_CUES = _w(
    "churn risk, churn score, churn probability, likelihood of churn, risk of churn, churn likelihood"
)

ENGAGEMENT_CUES = _w("engagement score, engagement")

AT_LEAST = _w(
    "at least, or more, and up, and above, plus, minimum, min, no less than, no fewer than, "
    "upwards of, >=, ≥, +"
)

MORE_THAN = _w(
    "over, more than, above, greater than, exceeding, beyond, longer than, upward of, in excess of, >"
)

AT_MOST = _w("at most, or less, or fewer, no more than, maximum, max, up to, <=, ≤, within")

LESS_THAN = _w("less than, fewer than, under, below, shorter than, <")

RECENT_WORDS = _w("last, past, previous, recent, preceding")

NEGATIONS = _w(
    "not, no, never, without, haven't, hasn't, didn't, don't, doesn't, havent, hasnt, didnt, dont, "
    "doesnt, have not, has not, did not, do not, does not, none, nothing, zero, nor, aren't, isn't, "
    "weren't, wasn't, not yet, stopped, stop"
)

EXCLUSION_CUES = _w(
    "excluding, exclude, except, except for, but not, other than, apart from, aside from, minus, "
    "leave out, leaving out, not including, skip, omit, omitting, besides, barring, save for, "
    "with the exception of, don't include, do not include, ignore, ignoring, drop, remove, "
    "rather than, instead of"
)

#: Rules the gate enforces; asking to switch them off is refused.
RULE_NOUNS = _w(
    "consent, opt out, opted out, opt outs, optout, unsubscribe, unsubscribed, unsubscribes, "
    "preference, frequency cap, cap, caps, limit, rule, gate, suppression, suppression list, policy, "
    "contact policy, gdpr, ccpa, can spam, quiet hours, do not contact, dnc, compliance, permission, "
    "law, regulation, holdout, frequency, frequency limit, contact rule, privacy, marketing consent, "
    "opt in, opt ins, opted in, guardrail, safeguard, restriction, blocklist, block list"
)

OVERRIDE_VERBS = _w(
    "ignore, ignoring, bypass, bypassing, override, overriding, overrule, skip, skipping, disable, "
    "disabling, circumvent, turn off, switch off, get around, work around, disregard, disregarding, "
    "suspend, lift, remove, break, violate, violating, exceed, go over, waive, evade, dodge, "
    "sidestep, forget about, forget, drop, deactivate, breach, avoid checking, no need for, "
    "don't bother with, dont bother with, hack, beat, get past, go past, go beyond, blow through, "
    "not bother with"
)

CHECK_VERBS = _w(
    "check, checking, respect, respecting, honor, honour, follow, apply, enforce, care about, "
    "worry about, obey, observe, mind, consider, verify, look at, bother with"
)

SPAM_WORDS = _w(
    "spam, spamming, spammy, spam blast, mass blast, carpet bomb, bombard, flood their inbox, "
    "flood inboxes, flood them, blast everyone, blast all, harass, pester"
)

MAXIMAL_SEND = _w(
    "as many times as possible, as many messages as possible, as often as possible, "
    "as many emails as possible, as many texts as possible, every hour, hourly, unlimited messages, "
    "unlimited emails, unlimited sends, unlimited texts, no limit, no limits, without limit, "
    "without limits, without any limit, multiple times a day, several times a day, ten times a day, "
    "10 times a day, no cap, no caps, uncapped, no frequency cap, as much as we can"
)

OPTED_OUT = _w(
    "opted out, opt out, opted-out, unsubscribed, unsubscriber, who unsubscribed, who opted out, "
    "without consent, without permission, non consented, unconsented, no consent, withdrawn consent, "
    "revoked consent, said no, didn't consent, did not consent, haven't consented, "
    "have not consented, not consented, not opted in, never opted in, never consented, "
    "on the suppression list, do not contact list, dnc list"
)

#: Frequent function words of other languages: enough of them, and few English ones, means the
#: objective is not English.
FOREIGN_STOPWORDS: dict[str, tuple[str, ...]] = {
    "German": _w(
        "der, die, das, und, für, mit, nicht, kunden, ich, wir, eine, einen, den, dem, alle, unsere, "
        "unseren, sie, haben, ist, auf, aus, zu, kampagne, gewinnen, zurück, bitte, starte, starten, "
        "tagen, seit"
    ),
    "Spanish": _w(
        "el, la, los, las, para, con, que, clientes, una, por, del, en, y, nuestros, nuestras, "
        "campaña, recuperar, enviar, sin, desde, días, lanzar, correo, al"
    ),
    "French": _w(
        "les, des, pour, avec, clients, une, qui, ne, pas, nos, aux, le, et, sur, dans, campagne, "
        "envoyer, depuis, jours, lancer, reconquérir, fidèles, du, au"
    ),
    "Italian": _w(
        "il, gli, per, con, che, clienti, una, non, nostri, della, campagna, inviare, giorni, lanciare, di, e"
    ),
    "Portuguese": _w(
        "os, as, para, com, que, clientes, uma, não, nossos, campanha, enviar, dias, lançar, de, e, do, da"
    ),
    "Dutch": _w("de, het, een, voor, met, klanten, niet, onze, en, van, campagne, sturen, dagen"),
}

ENGLISH_STOPWORDS = _w(
    "the, a, an, and, or, to, for, of, in, on, with, by, our, all, who, customers, customer, that, "
    "from, have, has, not, no, is, are, be, it, campaign, send, them, their, we, at, last, days, "
    "only, via, this, new, win, back, email, offer, off, launch, but, except, excluding, haven't, "
    "bought, purchased, spent, users, shoppers, members, people"
)

# ---------------------------------------------------------------------------------- grammar internals

#: Words whose final s is not a plural ("sms", "christmas"): `norm_word` keeps them as they are.
PLURAL_EXCEPTIONS = frozenset(
    _w(
        "always, analytics, bonus, books, christmas, clothes, cosmetics, electronics, heels, holidays, "
        "its, jeans, kids, news, perhaps, plus, reais, savings, shoes, sms, sports, status, swiss, this, "
        "thus, toys, us, whereas, xmas, yes"
    )
)

#: Regions: each names the countries it covers ("customers in the DACH region").
REGIONS: dict[str, tuple[str, ...]] = {
    "europe": _w("AT, BE, CH, CZ, DE, DK, ES, FI, FR, GB, GR, HU, IE, IT, LU, NL, NO, PL, PT, RO, SE"),
    "european": _w("AT, BE, CH, CZ, DE, DK, ES, FI, FR, GB, GR, HU, IE, IT, LU, NL, NO, PL, PT, RO, SE"),
    "eu": _w("AT, BE, CZ, DE, DK, ES, FI, FR, GR, HU, IE, IT, LU, NL, PL, PT, RO, SE"),
    "north america": _w("CA, MX, US"),
    "north american": _w("CA, MX, US"),
    "latin america": _w("AR, BR, CL, CO, MX"),
    "south america": _w("AR, BR, CL, CO"),
    "latam": _w("AR, BR, CL, CO, MX"),
    "asia": _w("CN, IN, JP, KR, SG"),
    "apac": _w("AU, CN, IN, JP, KR, NZ, SG"),
    "scandinavia": _w("DK, NO, SE"),
    "scandinavian": _w("DK, NO, SE"),
    "nordics": _w("DK, FI, NO, SE"),
    "nordic": _w("DK, FI, NO, SE"),
    "dach": _w("AT, CH, DE"),
    "benelux": _w("BE, LU, NL"),
}

#: Function words: never an audience modifier, a place or a group of people.
FUNCTION_WORDS = frozenset(
    _w(
        "about, above, across, after, again, also, among, amongst, any, anyone, anything, around, as, "
        "been, before, behind, below, besides, between, beyond, both, campaigns, can, could, deal, did, "
        "do, does, down, during, each, everybody, everyone, few, had, here, how, i, if, including, into, "
        "its, just, let, let's, lets, like, may, me, message, messages, might, more, most, must, my, "
        "near, nor, onto, other, out, over, own, past, per, please, plus, sale, same, shall, should, "
        "since, so, some, someone, something, such, than, then, there, these, they, those, through, "
        "till, too, toward, towards, under, until, up, upon, us, versus, very, want, was, were, what, "
        "when, where, which, whom, whose, why, will, within, without, would, you, your"
    )
)

#: Ordinary words that may follow "customers in/from" and are not places ("customers in need").
COMMON_WORDS = frozenset(
    _w(
        "addition, advance, app, area, basket, bulk, cart, case, charge, city, club, common, country, "
        "crm, database, debt, detail, doubt, europe, fact, full, future, general, group, last, line, "
        "list, love, loyalty, market, markets, mind, need, order, particular, past, person, place, "
        "private, program, programme, progress, public, question, real, recent, region, return, season, "
        "segment, shop, shops, short, stock, store, stores, time, total, touch, town, transit, trouble, "
        "turn, web, website"
    )
)
