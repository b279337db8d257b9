"""A deterministic demo dataset: two years of exports from a direct-to-consumer coffee brand.

``generate_demo`` returns the seven canonical export kinds (see :mod:`engagement.warehouse.schema`) as
DataFrames ready to load. The rows come from a small generative model with known answers, so
every page of the app has something true to find:

1. Repeat purchase rate near 28 %: purchases follow a BG/NBD-like process (a per-customer purchase
   rate, and a chance to drop out for good after every order); most buyers order once, a core
   buys about monthly.
2. Most customers are loyalty members, but only a few % of members bought in the last 90 days.
3. November and December carry the year (sign-ups and the purchase rate both peak).
4. New, repeat, VIP, at-risk, lapsed and won-back customers all exist.
5. Satisfaction is a latent trait: it sets NPS/CSAT scores and lowers dropout, so promoters
   repurchase more than detractors. Comments follow score-dependent themes.
6. Engagement is a latent trait: it drives events (opens, clicks, visits) and the purchase rate.
7. E-mail (about 2 a month) and SMS (about 1 a month) campaigns reach consenting, existing customers.
8. Three experiments with known truths (``DEMO_EXPERIMENTS``): a real lift, no effect, and a
   sample-ratio mismatch.
9. Monthly programme costs that scale with the customer base.

Everything is vectorised with numpy (loops run over campaigns or purchase rounds, never over
customers); one ``np.random.default_rng(seed)`` makes every draw, so a seed always gives the same
frames. Times stay float days since ``DEMO_START`` until the frames are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engagement.experiments.planted import DEMO_EXPERIMENTS
from engagement.warehouse.schema import KINDS, NON_PURCHASE_STATUSES, ORDER_STATUSES, TABLES

DEMO_END = datetime(2026, 10, 31, 23, 59)
DEMO_START = datetime(2024, 11, 1)  # the brand launches; the data covers the 24 months up to DEMO_END
# When each experiment assigned customers, [start, end); conversion windows end before DEMO_END.
DEMO_EXPERIMENT_WINDOWS: dict[str, tuple[datetime, datetime]] = {
    "EXP-recs-email": (datetime(2026, 2, 1), datetime(2026, 3, 1)),
    "EXP-subject-line": (datetime(2026, 4, 1), datetime(2026, 5, 1)),
    "EXP-sms-winback": (datetime(2026, 8, 1), datetime(2026, 9, 1)),
}

_DAY_SECONDS = 86_400
_HORIZON = (DEMO_END - DEMO_START).total_seconds() / _DAY_SECONDS
_MONTH_STARTS = np.arange("2024-11", "2026-12", dtype="datetime64[M]")  # 24 months plus the end edge
_MONTH_EDGES = (_MONTH_STARTS.astype("datetime64[D]") - np.datetime64(DEMO_START, "D")).astype(float)
_CALENDAR_MONTH = _MONTH_STARTS[:-1].astype(int) % 12 + 1  # datetime64[M] counts from January 1970
_SIGNUP_SEASON = np.ones(13)  # indexed by calendar month
_SIGNUP_SEASON[[11, 12, 1]] = 1.8, 2.1, 0.9  # gifting season, then the January lull
_ORDER_SEASON = np.ones(13)
_ORDER_SEASON[[11, 12, 1, 2]] = 2.1, 2.5, 0.85, 0.9
_LAUNCH_WAITLIST = 2.5  # the launch month also converts the pre-launch waitlist

_CHANNELS = ("paid_social", "organic_search", "paid_search", "email_signup", "referral", "marketplace")
_CHANNEL_SHARE = (0.30, 0.22, 0.17, 0.12, 0.11, 0.08)
# Log-odds added to the chance of joining the repeat core: referred and newsletter customers stay.
_CHANNEL_QUALITY = np.array([-0.5, 0.2, 0.0, 0.7, 0.9, -0.7])
_MARKETPLACE = _CHANNELS.index("marketplace")
_COUNTRIES, _COUNTRY_SHARE = ("US", "CA", "GB", "AU"), (0.72, 0.11, 0.10, 0.07)
_STATUS = {name: code for code, name in enumerate(ORDER_STATUSES)}
_ORDER_CHANNELS = ("web", "mobile_app", "pos", "marketplace")
_EVENT_CHANNELS = ("web", "email", "sms", "app", "community")
_EVENT_TYPES = ("site_visit", "product_view", "add_to_cart", "email_click", "sms_click", "review",
                "referral", "community_post", "support_ticket", "email_open", "social_follow", "sms_delivered")
_EVENT_CODE = {name: code for code, name in enumerate(_EVENT_TYPES)}
_TOUCHPOINTS = ("post_purchase", "relationship", "delivery", "support")

Arrays = dict[str, np.ndarray]  # one table in column arrays: "who" is a customer index, "when" float days


@dataclass
class _Population:
    """Observed attributes and latent traits, one array element per customer."""

    created: np.ndarray  # days since DEMO_START
    channel: np.ndarray
    country: np.ndarray
    accepts_marketing: np.ndarray
    sms_opt_in: np.ndarray
    engagement: np.ndarray  # latent, standard normal
    satisfaction: np.ndarray  # latent, standard normal
    is_prospect: np.ndarray
    purchase_rate: np.ndarray  # purchases per day while alive
    dropout: np.ndarray  # chance of leaving for good after each purchase
    spend_level: np.ndarray  # log of the customer's typical gross order value

    @property
    def size(self) -> int:
        return self.created.size


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _days(moment: datetime) -> float:
    return (moment - DEMO_START).total_seconds() / _DAY_SECONDS


def _month_index(days: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(_MONTH_EDGES, days, side="right") - 1, 0, 23)


def _last_purchase(size: int, who: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Latest purchase day per customer; -inf for customers without one."""
    last = np.full(size, -np.inf)
    np.maximum.at(last, who, when)
    return last


def _timestamps(days: np.ndarray) -> np.ndarray:
    """Float days to naive UTC datetimes, floored to the second (so nothing passes DEMO_END)."""
    seconds = np.floor(np.asarray(days) * _DAY_SECONDS).astype("int64")
    return (np.datetime64(DEMO_START, "s") + seconds.astype("timedelta64[s]")).astype("datetime64[us]")


def _labels(vocabulary, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings ``vocabulary[codes]`` as a pandas ``str`` array; a negative code gives a missing value."""
    codes = np.asarray(codes)
    vocabulary = vocabulary if isinstance(vocabulary, pa.Array) else pa.array(vocabulary, pa.string())
    return pd.array(vocabulary.take(pa.array(codes, mask=codes < 0)), dtype="str")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded identifiers such as ``C000123`` (pyarrow builds millions in well under a second)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _draw_customers(rng: np.random.Generator, n: int) -> _Population:
    """Sign-ups growing ~4.5 % a month with a holiday peak, plus each customer's hidden traits."""
    month_weight = np.exp(0.045 * np.arange(24)) * _SIGNUP_SEASON[_CALENDAR_MONTH]
    month_weight[0] *= _LAUNCH_WAITLIST
    month = rng.choice(24, size=n, p=month_weight / month_weight.sum())
    created = _MONTH_EDGES[month] + rng.random(n) * np.diff(_MONTH_EDGES)[month]
    created = np.sort(np.minimum(created, _HORIZON))  # customer numbers follow sign-up order
    channel = rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_SHARE)
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_SHARE)
    engagement = rng.standard_normal(n)
    satisfaction = 0.3 * engagement + np.sqrt(1 - 0.3**2) * rng.standard_normal(n)
    # Marketplace buyers come without an e-mail address, so they cannot opt in.
    consent_chance = np.where(channel == _CHANNELS.index("email_signup"), 0.9, 0.62)
    accepts_marketing = (channel != _MARKETPLACE) & (rng.random(n) < consent_chance)
    # Two kinds of buyer: a one-and-done majority and a core that buys often and rarely leaves.
    is_core = rng.random(n) < _sigmoid(-1.7 + _CHANNEL_QUALITY[channel] + 0.6 * engagement + 0.6 * satisfaction)
    dropout_logodds = np.where(is_core, -3.7, 1.7) + 0.5 * rng.standard_normal(n) - 0.8 * satisfaction
    monthly_rate = np.where(is_core, rng.gamma(2.5, 0.8, n), rng.gamma(1.0, 0.3, n)) * np.exp(0.25 * engagement)
    return _Population(
        created=created, channel=channel, country=country, accepts_marketing=accepts_marketing,
        sms_opt_in=accepts_marketing & (rng.random(n) < 0.45), engagement=engagement,
        satisfaction=satisfaction, is_prospect=rng.random(n) < 0.10, purchase_rate=monthly_rate / 30.44,
        dropout=_sigmoid(dropout_logodds), spend_level=np.log(54.0) + 0.3 * rng.standard_normal(n),
    )


def _simulate_purchases(rng: np.random.Generator, pop: _Population) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, day) of every organic order; each round proposes the next one for all still alive."""
    # Most records are created at checkout; newsletter sign-ups buy a few weeks later, if ever.
    first = pop.created + np.where(rng.random(pop.size) < 0.7, 0.0, rng.exponential(20.0, pop.size))
    who = np.flatnonzero(~pop.is_prospect & (first <= _HORIZON))
    when = first[who]
    found_who, found_when = [who], [when]
    alive = rng.random(who.size) >= pop.dropout[who]
    who, when = who[alive], when[alive]
    peak = _ORDER_SEASON.max()
    while who.size:
        # Seasonal purchase rate by thinning: propose at the peak rate, keep with prob season/peak.
        when = when + rng.exponential(1.0, who.size) / (pop.purchase_rate[who] * peak)
        inside = when <= _HORIZON
        who, when = who[inside], when[inside]
        bought = rng.random(who.size) < _ORDER_SEASON[_CALENDAR_MONTH[_month_index(when)]] / peak
        found_who.append(who[bought])
        found_when.append(when[bought])
        stays = ~bought | (rng.random(who.size) >= pop.dropout[who])
        who, when = who[stays], when[stays]
    return np.concatenate(found_who), np.concatenate(found_when)


def _run_experiments(rng, pop: _Population, order_who, order_when) -> tuple[Arrays, np.ndarray, np.ndarray]:
    """Assignments of every experiment, and the extra orders (customer, day) the real lift causes."""
    columns = {"experiment": [], "who": [], "treated": [], "assigned": []}
    extra_who, extra_when = [], []
    for code, (experiment_id, (start, end)) in enumerate(DEMO_EXPERIMENT_WINDOWS.items()):
        truth = DEMO_EXPERIMENTS[experiment_id]["truth"]
        start_day, end_day = _days(start), _days(end)
        eligible = pop.accepts_marketing & (pop.created < start_day)
        share = 0.4 if truth == "lift" else 0.25  # the lift test takes most of its pool, for power
        if truth == "srm":  # win-back: customers quiet for 90 days, and a bigger test so the bug shows
            before = order_when < start_day
            eligible &= _last_purchase(pop.size, order_who[before], order_when[before]) < start_day - 90
            share = 0.45
        candidates = np.flatnonzero(eligible)
        who = np.sort(rng.choice(candidates, size=min(candidates.size, round(share * pop.size)), replace=False))
        treated = rng.random(who.size) < 0.5
        assigned = start_day + rng.random(who.size) * (end_day - start_day)
        if truth == "lift":
            converts = treated & (rng.random(who.size) < 0.05)
            extra_who.append(who[converts])
            extra_when.append(assigned[converts] + rng.uniform(0.5, 29.5, converts.sum()))
        elif truth == "srm":
            logged = treated | (rng.random(who.size) >= 0.12)  # the bug: some control rows never logged
            who, treated, assigned = who[logged], treated[logged], assigned[logged]
        for key, values in zip(columns, (np.full(who.size, code), who, treated, assigned)):
            columns[key].append(values)
    assignments = {key: np.concatenate(parts) for key, parts in columns.items()}
    return assignments, np.concatenate(extra_who), np.concatenate(extra_when)


def _price_orders(rng, pop: _Population, who: np.ndarray, when: np.ndarray) -> Arrays:
    """Value, discount, status and channel of every order, sorted by time."""
    order = np.lexsort((who, when))
    who, when = who[order], when[order]
    m = who.size
    gross = np.exp(pop.spend_level[who] + 0.45 * rng.standard_normal(m))
    is_first = np.zeros(m, dtype=bool)
    is_first[np.unique(who, return_index=True)[1]] = True
    calendar_day = _timestamps(when).astype("datetime64[D]")
    month_day = (calendar_day - calendar_day.astype("datetime64[M]")).astype(int) + 1
    month = _CALENDAR_MONTH[_month_index(when)]
    black_friday_week = ((month == 11) & (month_day >= 24)) | ((month == 12) & (month_day <= 2))
    rate = np.where(is_first & (rng.random(m) < 0.35), 0.15, 0.0)  # WELCOME15 on some first orders
    rate = np.maximum(rate, np.where(black_friday_week & (rng.random(m) < 0.6), 0.20, 0.0))
    rate = np.maximum(rate, np.where(rng.random(m) < 0.06, 0.10, 0.0))  # occasional promo codes
    discount = np.round(gross * rate, 2)
    net = np.round(gross, 2) - discount
    status = np.where(when > _HORIZON - 3, _STATUS["paid"], _STATUS["fulfilled"])  # paid until shipped
    status[when > _HORIZON - 0.25] = _STATUS["pending"]  # payment not yet captured
    fate = rng.random(m)
    status[fate < 0.06] = _STATUS["partially_refunded"]
    status[fate < 0.045] = _STATUS["cancelled"]
    status[fate < 0.03] = _STATUS["refunded"]
    is_purchase = np.isin(status, [_STATUS[name] for name in NON_PURCHASE_STATUSES], invert=True)
    net = np.where(status == _STATUS["partially_refunded"], np.round(net * rng.uniform(0.3, 0.8, m), 2), net)
    net = np.where(is_purchase, net, 0.0)  # net revenue is after refunds; a cancelled order earned nothing
    web_or_app = np.where(rng.random(m) < 0.64, 0, np.where(rng.random(m) < 0.95, 1, 2))
    channel = np.where((pop.channel[who] == _MARKETPLACE) & (rng.random(m) < 0.85), 3, web_or_app)
    return {"who": who, "when": when, "net": net, "discount": discount, "status": status,
            "is_purchase": is_purchase, "channel": channel}


def _loyalty(rng, pop: _Population, orders: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """Membership, and tier by member spend (0 bronze, 1 silver, 2 gold, -1 none).

    Drawn after the orders so that the planted truth holds by construction: the programme
    enrolled most customers, but hardly any member has bought in the last 90 days.
    """
    purchase = orders["is_purchase"]
    recent = np.bincount(orders["who"][purchase & (orders["when"] > _HORIZON - 90)], minlength=pop.size) > 0
    is_member = rng.random(pop.size) < np.where(recent, 0.06, 0.7)
    spend = np.bincount(orders["who"][purchase], weights=orders["net"][purchase], minlength=pop.size)
    percentile = np.argsort(np.argsort(spend[is_member])) / max(is_member.sum(), 1)
    tier = np.full(pop.size, -1)
    tier[is_member] = np.select([percentile >= 0.93, percentile >= 0.7], [2, 1], 0)
    return is_member, tier


def _send_campaigns(rng, pop: _Population) -> tuple[list[str], Arrays]:
    """Campaign names, and one row per send: e-mail about the 4th and 18th, SMS about the 11th,
    and one more of each for Black Friday. Only consenting customers who already exist receive."""
    names, who, when, channel, campaign = [], [], [], [], []
    for month, first_day in enumerate(_MONTH_EDGES[:-1]):
        plan = [("EM", "a", 3), ("EM", "b", 17), ("SMS", "a", 10)]
        if _CALENDAR_MONTH[month] == 11:
            plan += [("EM", "c", 27), ("SMS", "b", 27)]
        for kind, suffix, day in plan:
            send_day = first_day + day + rng.integers(0, 3) + 14 / 24  # mid-morning US East
            audience = pop.sms_opt_in if kind == "SMS" else pop.accepts_marketing
            reach = audience & (pop.created < send_day) & (rng.random(pop.size) < (0.85 if kind == "SMS" else 0.75))
            chosen = np.flatnonzero(reach)
            who.append(chosen)
            when.append(send_day + rng.random(chosen.size) / 24)  # the ESP throttles over an hour
            channel.append(np.full(chosen.size, 1 if kind == "SMS" else 0))
            campaign.append(np.full(chosen.size, len(names)))
            names.append(f"{kind}-{_MONTH_STARTS[month]}-{suffix}")
    columns = {"who": who, "when": when, "channel": channel, "campaign": campaign}
    return names, {key: np.concatenate(parts) for key, parts in columns.items()}


def _record_events(rng, pop: _Population, messages: Arrays, orders: Arrays) -> Arrays:
    """Opens, clicks and SMS deliveries of campaigns, browsing sessions, and events that follow orders."""
    engaged = np.exp(pop.engagement)
    parts = []  # (customer, day, event type code, channel code, campaign code)

    def add(who, when, event_type, channel, campaign=None):
        parts.append((who, when, np.full(who.size, _EVENT_CODE[event_type]), np.broadcast_to(channel, who.shape),
                      np.full(who.size, -1) if campaign is None else campaign))

    e = pop.engagement[messages["who"]]
    is_sms = messages["channel"] == 1
    opened = ~is_sms & (rng.random(e.size) < _sigmoid(-1.1 + 1.0 * e))
    open_at = messages["when"] + rng.exponential(0.3, e.size)
    clicked = opened & (rng.random(e.size) < _sigmoid(-2.6 + 1.0 * e))
    sms_clicked = is_sms & (rng.random(e.size) < _sigmoid(-2.4 + 1.0 * e))
    click_at = open_at + rng.exponential(0.01, e.size)
    sms_click_at = messages["when"] + rng.exponential(0.05, e.size)
    # Carriers confirm most SMS sends within a minute; about 3 % bounce (invalid or landline numbers). A clicked
    # SMS was delivered, before its click. Drawn from a spawned generator, so every other draw (and so every
    # planted truth) stays what it was before deliveries were generated.
    delivery = rng.spawn(1)[0]
    sms_delivered = is_sms & (sms_clicked | (delivery.random(e.size) < 0.97))
    delivered_at = np.minimum(messages["when"] + delivery.exponential(30 / 86_400, e.size), sms_click_at)
    for mask, when, kind, channel in ((opened, open_at, "email_open", 1),
                                      (clicked, click_at, "email_click", 1),
                                      (sms_delivered, delivered_at, "sms_delivered", 2),
                                      (sms_clicked, sms_click_at, "sms_click", 2)):
        add(messages["who"][mask], when[mask], kind, channel, messages["campaign"][mask])

    # Browsing while the customer is around: from sign-up until two months after the last purchase.
    purchase = orders["is_purchase"]
    last_order = _last_purchase(pop.size, orders["who"][purchase], orders["when"][purchase])
    span = np.clip(np.maximum(last_order + 60, pop.created + 45), None, _HORIZON) - pop.created
    who = np.repeat(np.arange(pop.size), rng.poisson(0.45 * engaged * span / 30.44))
    when = pop.created[who] + rng.random(who.size) * span[who]
    device = np.where(rng.random(who.size) < 0.65, 0, 3)
    add(who, when, "site_visit", device)
    viewed = rng.random(who.size) < 0.8
    add(who[viewed], when[viewed] + 0.002, "product_view", device[viewed])
    carted = viewed & (rng.random(who.size) < 0.25)
    add(who[carted], when[carted] + 0.004, "add_to_cart", device[carted])

    who, when = orders["who"][purchase], orders["when"][purchase]
    tracked = rng.random(who.size) < 0.3  # checkout sessions we can tie to a logged-in customer
    before = np.maximum(when[tracked] - rng.uniform(0.005, 0.04, tracked.sum()), pop.created[who[tracked]])
    for step, kind in enumerate(("site_visit", "product_view", "add_to_cart")):
        add(who[tracked], np.minimum(before + 0.002 * step, when[tracked]), kind, 0)
    reviewed = rng.random(who.size) < 0.05 * engaged[who]
    add(who[reviewed], when[reviewed] + rng.uniform(8, 20, reviewed.sum()), "review", 0)
    ticket = rng.random(who.size) < 0.05 * np.exp(-0.5 * pop.satisfaction[who])
    add(who[ticket], when[ticket] + rng.uniform(2, 8, ticket.sum()), "support_ticket",
        np.where(rng.random(ticket.sum()) < 0.5, 0, 1))

    for kind, per_year, channel in (("referral", 0.15, 0), ("community_post", 0.3, 4), ("social_follow", 0.08, 4)):
        who = np.repeat(np.arange(pop.size), rng.poisson(per_year * engaged * span / 365.25))
        add(who, pop.created[who] + rng.random(who.size) * span[who], kind, channel)

    columns = [np.concatenate(column) for column in zip(*parts)]
    keep = columns[1] <= _HORIZON
    order = np.lexsort((columns[0][keep], columns[1][keep]))
    return {key: column[keep][order] for key, column in zip(("who", "when", "type", "channel", "campaign"), columns)}


# Comment phrasings per sentiment and theme ("|" separates variants): TF-IDF + NMF should find the themes.
_COMMENT_THEMES = {
    "negative": {
        "slow_shipping": "shipping was really slow|my order took almost two weeks to arrive|"
                         "delivery was late again|the parcel took forever to ship",
        "damaged_packaging": "the bag arrived torn and beans spilled everywhere|packaging was damaged on arrival|"
                             "the box was crushed in transit|the pouch was ripped open when it arrived",
        "price_too_high": "too expensive for what you get|prices went up again, hard to justify|"
                          "shipping costs make it too pricey|the price is too high compared to the supermarket",
        "support_not_answering": "customer support never answered my emails|waited a week for support to reply|"
                                 "nobody answered my support ticket|support was slow to respond and unhelpful",
        "product_quality": "the coffee tasted stale and flat|the beans were bitter and burnt|"
                           "quality has dropped, the roast was inconsistent|the grind was wrong and the taste was off",
    },
    "neutral": {
        "mixed": "good coffee but a bit pricey|nice beans, delivery could be faster|"
                 "decent quality, nothing special|good overall but the packaging could be better",
    },
    "positive": {
        "great_taste": "great taste, the best coffee I have had at home|love the flavour of these beans|"
                       "amazing quality and freshly roasted|delicious coffee with a rich, smooth taste",
        "fast_delivery": "fast delivery, it arrived in two days|super quick shipping|"
                         "delivery was fast and well packed|it arrived earlier than expected",
        "love_subscription": "love my subscription, I never run out of coffee|the subscription is so convenient|"
                             "the subscription makes it easy to skip a month|really happy with my monthly subscription",
        "friendly_support": "the support team was friendly and helpful|customer service sorted my issue quickly|"
                            "friendly support, they replaced my order right away|lovely support staff, very responsive",
    },
}
_OPENERS = {"negative": ["", "Honestly, ", "Disappointed: ", "Frustrated, "], "neutral": ["", "Overall ", "Hmm, "],
            "positive": ["", "Honestly, ", "Wow, ", "So happy, "]}
_CLOSERS = {"negative": [".", ", please fix this.", ". Might cancel.", ""], "neutral": [".", "", ", otherwise fine."],
            "positive": [".", "!", ", thank you!", ". Recommending you to friends."]}


def _comment_bank() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every comment variant grouped by sentiment (negative, neutral, positive): texts, group offsets, sizes."""
    texts, sizes = [], []
    for sentiment, themes in _COMMENT_THEMES.items():
        group = [opener + phrase + closer for phrasings in themes.values() for phrase in phrasings.split("|")
                 for opener in _OPENERS[sentiment] for closer in _CLOSERS[sentiment]]
        texts += [text[0].upper() + text[1:] for text in group]
        sizes.append(len(group))
    sizes = np.array(sizes)
    return texts, np.cumsum(sizes) - sizes, sizes


def _collect_surveys(rng, pop: _Population, orders: Arrays, events: Arrays) -> Arrays:
    """NPS after ~15 % of purchases; CSAT after some deliveries and half the support tickets."""
    who, when = orders["who"][orders["is_purchase"]], orders["when"][orders["is_purchase"]]
    asked = rng.random(who.size) < 0.15
    delivery = rng.random(who.size) < 0.06
    ticket = events["type"] == _EVENT_CODE["support_ticket"]
    answered = rng.random(ticket.sum()) < 0.5
    tickets_who, tickets_when = events["who"][ticket][answered], events["when"][ticket][answered]
    who = np.concatenate([who[asked], who[delivery], tickets_who])
    when = np.concatenate([when[asked] + 2 + rng.exponential(2.5, asked.sum()),
                           when[delivery] + 4 + rng.exponential(2.0, delivery.sum()),
                           tickets_when + 1 + rng.exponential(1.0, answered.sum())])
    is_nps = np.arange(who.size) < asked.sum()
    touchpoint = np.concatenate([np.where(rng.random(asked.sum()) < 0.9, 0, 1),  # codes into _TOUCHPOINTS
                                 np.full(delivery.sum(), 2), np.full(answered.sum(), 3)])
    feeling = 0.85 * pop.satisfaction[who] + 0.5 * rng.standard_normal(who.size)
    score = np.where(is_nps, np.clip(np.rint(7.5 + 1.9 * feeling), 0, 10), np.clip(np.rint(3.9 + 1.1 * feeling), 1, 5))
    sentiment = np.where(is_nps, (score >= 9).astype(int) - (score <= 6), (score >= 4).astype(int) - (score <= 2)) + 1
    texts, offsets, sizes = _comment_bank()
    comments = rng.random(who.size) < np.array([0.55, 0.3, 0.4])[sentiment]  # unhappy customers write more
    comment = np.where(comments, offsets[sentiment] + (rng.random(who.size) * sizes[sentiment]).astype(int), -1)
    keep = when <= _HORIZON
    order = np.lexsort((who[keep], when[keep]))
    columns = {"who": who, "when": when, "is_nps": is_nps, "score": score.astype("int32"),
               "touchpoint": touchpoint, "comment": comment}
    return {key: column[keep][order] for key, column in columns.items()} | {"texts": texts}


# What an analyst would have written before each demo test ran (the `experiments` export kind).
_DEMO_EXPERIMENT_METADATA = {
    "EXP-recs-email": ("Recommendations in e-mail", "Personalised recommendations raise 30-day conversion.",
                       "personalization", "conversion", "revenue_per_customer"),
    "EXP-subject-line": ("Personalised subject line", "A personalised subject line raises 30-day conversion.",
                         "personalization", "conversion", "revenue_per_customer"),
    "EXP-sms-winback": ("SMS win-back offer", "An SMS offer brings back customers quiet for 90 days.",
                        "sms", "conversion", "revenue_per_customer"),
}


def _experiments() -> pd.DataFrame:
    """One metadata row per demo experiment: the programme that pays for it, metrics, split and dates."""
    rows = []
    for experiment_id, (name, hypothesis, programme, primary, guardrails) in _DEMO_EXPERIMENT_METADATA.items():
        start, end = DEMO_EXPERIMENT_WINDOWS[experiment_id]
        split = DEMO_EXPERIMENTS[experiment_id]["intended_split"]
        rows.append({
            "experiment_id": experiment_id, "name": name, "hypothesis": hypothesis, "programme": programme,
            "primary_metric": primary, "guardrail_metrics": guardrails,
            "intended_split": ",".join(f"{arm}={share * 100:g}" for arm, share in split.items()),
            "planned_units": None, "start_date": start.date(), "end_date": (end - timedelta(days=1)).date(),
        })
    return pd.DataFrame(rows).astype({"planned_units": "Int64"})


def _program_costs(rng, pop: _Population, messages: Arrays, orders: Arrays, is_member: np.ndarray) -> pd.DataFrame:
    """Monthly cost per programme: platform fees that grow with the base, plus usage."""
    scale = pop.size / 20_000
    month = _month_index(messages["when"])
    email_sends = np.bincount(month[messages["channel"] == 0], minlength=24)
    sms_sends = np.bincount(month[messages["channel"] == 1], minlength=24)
    purchase = orders["is_purchase"] & is_member[orders["who"]]
    member_revenue = np.bincount(_month_index(orders["when"][purchase]), weights=orders["net"][purchase], minlength=24)
    running = np.ones(24)
    since = lambda moment: (_MONTH_STARTS[:-1] >= np.datetime64(moment, "M")).astype(float)  # noqa: E731
    plan = [  # (program, channel, monthly cost before noise; zero while the programme did not run)
        ("email", "email", 450 * scale * running + 0.0012 * email_sends),
        ("sms", "sms", 150 * scale * running + 0.0105 * sms_sends),
        ("loyalty", "loyalty", 900 * scale * running + 0.05 * member_revenue),  # platform + points redeemed
        ("community", "community", 1200 * scale * since(datetime(2025, 3, 1))),
        ("personalization", "email", 1500 * scale * since(datetime(2026, 1, 1))),
    ]
    rows = [(_MONTH_STARTS[m], program, channel, round(float(cost[m]) * (1 + 0.04 * rng.standard_normal()), 2))
            for program, channel, cost in plan for m in range(24) if cost[m] > 0]
    frame = pd.DataFrame(rows, columns=TABLES["program_costs"].column_names)
    frame["period"] = frame["period"].astype("datetime64[us]")
    return frame


def generate_demo(customers: int = 20_000, seed: int = 42) -> dict[str, pd.DataFrame]:
    """Generate the demo exports: two years of a DTC coffee brand with planted truths.

    Parameters
    ----------
    customers : int
        Number of customer records (about 10 % are prospects who never order).
    seed : int
        Seed of the single ``np.random.default_rng`` behind every draw; same seed, same frames.

    Returns
    -------
    dict[str, pandas.DataFrame]
        One frame per kind in ``schema.KINDS``, with exactly that table's columns in order
        (no ``load_id``). Ids are strings, times naive UTC datetimes, money floats in USD.

    Examples
    --------
    >>> frames = generate_demo(customers=1_000, seed=7)
    >>> list(frames["orders"].columns) == TABLES["orders"].column_names
    True
    """
    rng = np.random.default_rng(seed)
    pop = _draw_customers(rng, customers)
    who, when = _simulate_purchases(rng, pop)
    assignments, extra_who, extra_when = _run_experiments(rng, pop, who, when)
    orders = _price_orders(rng, pop, np.concatenate([who, extra_who]), np.concatenate([when, extra_when]))
    is_member, tier = _loyalty(rng, pop, orders)
    campaign_names, messages = _send_campaigns(rng, pop)
    events = _record_events(rng, pop, messages, orders)
    surveys = _collect_surveys(rng, pop, orders, events)
    costs = _program_costs(rng, pop, messages, orders, is_member)

    ids = _ids("C", np.arange(1, customers + 1), 6)
    emails = pc.binary_join_element_wise(pc.utf8_lower(ids), "@example.com", "")
    frames = {
        "customers": {
            "customer_id": pd.array(ids, dtype="str"),
            "email": _labels(emails, np.where(pop.channel == _MARKETPLACE, -1, np.arange(customers))),
            "created_at": _timestamps(pop.created), "acquisition_channel": _labels(_CHANNELS, pop.channel),
            "country": _labels(_COUNTRIES, pop.country), "is_loyalty_member": is_member,
            "loyalty_tier": _labels(("bronze", "silver", "gold"), tier), "accepts_marketing": pop.accepts_marketing,
        },
        "orders": {
            "order_id": pd.array(_ids("#", 100_001 + np.arange(orders["who"].size), 6), dtype="str"),
            "customer_id": _labels(ids, orders["who"]), "ordered_at": _timestamps(orders["when"]),
            "net_revenue": np.round(orders["net"], 2), "discount": orders["discount"],
            "currency": _labels(["USD"], np.zeros(orders["who"].size, dtype=int)),
            "channel": _labels(_ORDER_CHANNELS, orders["channel"]), "status": _labels(ORDER_STATUSES, orders["status"]),
        },
        "events": {
            "event_id": pd.array(_ids("E", np.arange(1, events["who"].size + 1), 9), dtype="str"),
            "customer_id": _labels(ids, events["who"]), "occurred_at": _timestamps(events["when"]),
            "event_type": _labels(_EVENT_TYPES, events["type"]), "channel": _labels(_EVENT_CHANNELS, events["channel"]),
            "campaign_id": _labels(campaign_names, events["campaign"]),
        },
        "messages": {
            "campaign_id": _labels(campaign_names, messages["campaign"]), "customer_id": _labels(ids, messages["who"]),
            "channel": _labels(("email", "sms"), messages["channel"]), "sent_at": _timestamps(messages["when"]),
        },
        "surveys": {
            "response_id": pd.array(_ids("R", np.arange(1, surveys["who"].size + 1), 8), dtype="str"),
            "customer_id": _labels(ids, surveys["who"]), "responded_at": _timestamps(surveys["when"]),
            "kind": _labels(("csat", "nps"), surveys["is_nps"].astype(int)), "score": surveys["score"],
            "touchpoint": _labels(_TOUCHPOINTS, surveys["touchpoint"]),
            "comment": _labels(surveys["texts"], surveys["comment"]),
        },
        "experiment_assignments": {
            "experiment_id": _labels(list(DEMO_EXPERIMENT_WINDOWS), assignments["experiment"]),
            "customer_id": _labels(ids, assignments["who"]),
            "variant": _labels(("control", "treatment"), assignments["treated"].astype(int)),
            "assigned_at": _timestamps(assignments["assigned"]),
        },
    }
    frames = {kind: pd.DataFrame(columns) for kind, columns in frames.items()} | {"program_costs": costs,
                                                                                  "experiments": _experiments()}
    return {kind: frames[kind][TABLES[kind].column_names] for kind in KINDS}
