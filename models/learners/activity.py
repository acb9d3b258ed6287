"""What a customer *does*: activity rates per type, purchases (recency, frequency, monetary) and rhythm.

Pure folds over the ``activity`` event kind, with no fixed catalogue of types: each type a customer is
seen doing gets its own rates, up to ``ACTIVITY_TYPES_MAX`` types per customer (or only the types of
the allow-list ``ACTIVITY_TYPES``); every other type counts in the all-types totals only. Everything
runs on event time, and the state is bounded whatever the volume (day buckets for the 7-day and 90-day
windows, one decayed count for the long run), so it stays a small JSON dict.

With no activity event every feature here is a neutral constant (0), so a deployment that sends none
sees the model it had before.

>>> f, t = {}, 1_800_000_000.0
>>> for d in range(28):                                  # a login a day for four weeks ...
...     fold_activity(f, {"type": "login"}, t + d * DAY)
>>> x = activity_features(f, t + 40 * DAY)               # ... then twelve quiet days
>>> x["act_login_rate_7d"], round(x["act_login_rate_long"], 1), x["act_login_days_since"], x["days_since_active"]
(0.0, 4.4, 13.0, 13.0)
"""

from __future__ import annotations

import math
import os
import re

from pulsewire.schemas.events import PURCHASE_TYPES

DAY = 86400.0
RECENT_DAYS = 7  # the recent window, counted in UTC day buckets (the oldest day pro rata)
LONG_HALF_LIFE_DAYS = 42.0  # the long-run rate forgets with this half-life
PURCHASE_DAYS = 90  # frequency and monetary window
DAYS_CAP = 90.0  # "days since" features stop growing here
OCCASION_S = DAY  # purchases less than a day after the previous occasion are the same occasion
GAP_ALPHA = 1 / 3  # weight of the newest gap in the usual gap (after the first three)
TREND_REL_RANGE = (-1.0, 2.0)
OVERDUE_CAP = 10.0
TYPE_KEY_LEN = 32
DEFAULT_TYPES_MAX = 8


def activity_settings(environ=os.environ) -> tuple[int, frozenset[str]]:
    """``(types per customer, allow-list)`` from ``PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX`` (default 8, 0..64)
    and ``PULSEWIRE_LEARN_ACTIVITY_TYPES`` (comma-separated types; empty: any type, first seen first).

    >>> n, allow = activity_settings({"PULSEWIRE_LEARN_ACTIVITY_TYPES": "login, Feature Used,,"})
    >>> n, sorted(allow)
    (8, ['feature_used', 'login'])
    >>> activity_settings({"PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX": "lots"})
    Traceback (most recent call last):
    ...
    ValueError: PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX must be a whole number from 0 to 64, not 'lots'
    """
    from pulsewire.schemas.events import normalise_activity_type

    raw = environ.get("PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX", str(DEFAULT_TYPES_MAX)).strip()
    if not raw.isdigit() or int(raw) > 64:
        raise ValueError(f"PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX must be a whole number from 0 to 64, not {raw!r}")
    allow = frozenset(type_key(normalise_activity_type(s)) for s in environ.get("PULSEWIRE_LEARN_ACTIVITY_TYPES", "")
                      .split(",") if normalise_activity_type(s))
    return int(raw), allow


ACTIVITY_TYPES_MAX, ACTIVITY_TYPES = activity_settings()


def type_key(activity_type: str) -> str:
    """The part of a feature name that names an activity type: ``[a-z0-9_]`` only, at most 32 characters.

    >>> type_key("page.view"), type_key("cart:add-item")
    ('page_view', 'cart_add_item')
    """
    return re.sub(r"[^a-z0-9_]", "_", activity_type.lower())[:TYPE_KEY_LEN]


def is_purchase(ev: dict) -> bool:
    """A purchase type, or any activity that moved money towards the business (as ``ActivityEvent.is_purchase``)."""
    amount = ev.get("amount")
    return ev.get("type") in PURCHASE_TYPES or (amount is not None and amount > 0)


# ---------------------------------------------------------------------------- one type's counts
def _day(t: float) -> int:
    return int(t // DAY)


def _new_slot(t: float) -> dict:
    return {"d": {}, "c": [0.0, t], "first": t, "last": t}


def _fold_slot(slot: dict, t: float) -> None:
    """Count one event at ``t``: in its day bucket (the last 8 days of the newest kept) and in the decayed count.

    The decayed count is kept as of its reference time ``c[1]``; an event older than that is added already
    decayed, so the count does not depend on arrival order.
    """
    day, days = _day(t), slot["d"]
    newest = max([day, *map(int, days)])
    if day >= newest - RECENT_DAYS:
        days[str(day)] = days.get(str(day), 0) + 1
    for k in [k for k in days if int(k) < newest - RECENT_DAYS]:
        del days[k]
    c, ref = slot["c"]
    h = LONG_HALF_LIFE_DAYS * DAY
    slot["c"] = [c * 0.5 ** ((t - ref) / h) + 1.0, t] if t >= ref else [c + 0.5 ** ((ref - t) / h), ref]
    slot["first"], slot["last"] = min(slot["first"], t), max(slot["last"], t)


def _slot_rates(slot: dict | None, t: float) -> tuple[float, float, float]:
    """(events in the last 7 days, long-run events per week, days since the last) as of ``t``.

    The 7-day count is exact for whole days; within the day a week ago, events are taken as spread evenly.

    The long-run rate divides the decayed count by the decayed length of the history (at least a week),
    so a new customer's long-run rate is their rate so far, not an underestimate.
    """
    if not slot:
        return 0.0, 0.0, 0.0
    day = _day(t)
    # (t - 7 days, t]: the 6 days before today and today in full, the day a week ago pro rata
    edge = 1.0 - (t - day * DAY) / DAY
    recent = float(sum(n * (edge if int(k) == day - RECENT_DAYS else 1.0) for k, n in slot["d"].items()
                       if day - RECENT_DAYS <= int(k) <= day))
    h = LONG_HALF_LIFE_DAYS
    c, ref = slot["c"]
    count = c * 0.5 ** (max(0.0, t - ref) / (h * DAY))
    span = max(RECENT_DAYS, (t - slot["first"]) / DAY)
    weight_days = h / math.log(2) * (1.0 - 0.5 ** (span / h))
    long_run = 7.0 * count / weight_days
    since = min(DAYS_CAP, max(0.0, (t - slot["last"]) / DAY))
    return recent, long_run, since


# ---------------------------------------------------------------------------- folds
def _ew_gap(slot: list, gap_days: float) -> list:
    """``[usual gap, gaps seen]``: the mean of the first three gaps, then exponentially weighted."""
    mean, n = slot
    n += 1
    return [mean + max(1.0 / n, GAP_ALPHA) * (gap_days - mean), n]


def mark_active(f: dict, t: float) -> None:
    """The customer did something (an activity, or a text of theirs): last active time and active-day rhythm."""
    act = f.setdefault("active", {"t": t, "day": _day(t), "gap": [0.0, 0]})
    act["t"] = max(act["t"], t)
    day = _day(t)
    if day > act["day"]:
        act["gap"] = _ew_gap(act["gap"], float(day - act["day"]))
        act["day"] = day


def fold_activity(f: dict, ev: dict, t: float, types_max: int | None = None,
                  allowed: frozenset[str] | None = None) -> None:
    """Fold one activity event (at event time ``t``) into the customer's feature bookkeeping ``f``."""
    types_max = ACTIVITY_TYPES_MAX if types_max is None else types_max
    allowed = ACTIVITY_TYPES if allowed is None else allowed
    acts = f.setdefault("act", {"all": None, "types": {}})
    if acts["all"] is None:
        acts["all"] = _new_slot(t)
    _fold_slot(acts["all"], t)
    key = type_key(str(ev.get("type") or ""))
    types = acts["types"]
    if key in types or (key and (key in allowed if allowed else True) and len(types) < types_max):
        _fold_slot(types.setdefault(key, _new_slot(t)), t)
    mark_active(f, t)
    amount, currency = ev.get("amount"), ev.get("currency")
    buy = f.get("buy")
    if is_purchase(ev):
        buy = f.setdefault("buy", {"n": 0, "last": t, "occ": t, "gap": [0.0, 0], "d": {}, "cur": None})
        buy["n"] += 1
        buy["last"] = max(buy["last"], t)
        if t >= buy["occ"] + OCCASION_S:
            buy["gap"] = _ew_gap(buy["gap"], (t - buy["occ"]) / DAY)
            buy["occ"] = t
        if buy["cur"] is None and amount is not None and amount > 0:
            buy["cur"] = currency
        _bucket(buy, t, 1, amount if currency == buy["cur"] and amount is not None else 0.0)
    elif buy is not None and amount is not None and currency == buy["cur"]:
        _bucket(buy, t, 0, amount)  # a refund lowers the spend


def _bucket(buy: dict, t: float, n: int, amount: float) -> None:
    days, day = buy["d"], _day(t)
    newest = max([day, *map(int, days)])
    if day >= newest - PURCHASE_DAYS:
        cell = days.setdefault(str(day), [0, 0.0])
        cell[0] += n
        cell[1] = round(cell[1] + float(amount), 2)
    for k in [k for k in days if int(k) < newest - PURCHASE_DAYS]:
        del days[k]


# ---------------------------------------------------------------------------- reading
def activity_features(f: dict, t: float) -> dict[str, float]:
    """The activity and purchase features as of event time ``t`` (fixed names first, then one group per type)."""
    acts = f.get("act") or {"all": None, "types": {}}
    r7, rl, since = _slot_rates(acts["all"], t)
    lo, hi = TREND_REL_RANGE
    out = {"activity_rate_7d": r7, "activity_rate_long": rl,
           "activity_trend_rel": min(hi, max(lo, (r7 - rl) / max(rl, 1.0))) if acts["all"] else 0.0,
           "days_since_active": since, "active_overdue": active_overdue(f, t) if acts["all"] else 0.0}
    out.update(purchase_features(f.get("buy"), t))
    for key in sorted(acts["types"]):
        r7, rl, since = _slot_rates(acts["types"][key], t)
        out.update({f"act_{key}_rate_7d": r7, f"act_{key}_rate_long": rl, f"act_{key}_trend": r7 - rl,
                    f"act_{key}_days_since": since})
    return {k: round(v, 4) for k, v in out.items()}


def active_overdue(f: dict, t: float) -> float:
    """Days since the customer was last active (an activity or a text of theirs) over their usual gap between
    active days, capped at 10: the silence measured against their own rhythm, so three quiet days say more of
    a daily user than of a monthly one. 0 before two active days.

    >>> f = {}
    >>> for d in (0, 2, 4, 6):
    ...     fold_activity(f, {"type": "login"}, d * DAY)
    >>> active_overdue(f, 6 * DAY), active_overdue(f, 16 * DAY), active_overdue(f, 90 * DAY)
    (0.0, 5.0, 10.0)
    """
    act = f.get("active")
    if not act or not act["gap"][1]:
        return 0.0
    return min(OVERDUE_CAP, max(0.0, (t - act["t"]) / DAY) / max(act["gap"][0], 1.0))


def purchase_features(buy: dict | None, t: float) -> dict[str, float]:
    """Recency, frequency, monetary value (home currency), the usual gap and how overdue the next order is.

    >>> buy = {}
    >>> for d in (0, 12, 24, 36):
    ...     fold_activity(buy, {"type": "order_placed", "amount": 30.0, "currency": "EUR"}, d * DAY)
    >>> x = purchase_features(buy["buy"], 77 * DAY)
    >>> x["days_since_purchase"], x["purchases_90d"], x["spend_90d"], x["purchase_gap_days"], x["purchase_overdue"]
    (41.0, 4.0, 120.0, 12.0, 3.4167)
    """
    if not buy:
        return {"days_since_purchase": 0.0, "purchases_90d": 0.0, "spend_90d": 0.0, "purchase_gap_days": 0.0,
                "purchase_overdue": 0.0}
    day = _day(t)
    recent = [cell for k, cell in buy["d"].items() if day - PURCHASE_DAYS < int(k) <= day]
    since = max(0.0, (t - buy["last"]) / DAY)
    gap, n_gaps = buy["gap"]
    return {"days_since_purchase": min(DAYS_CAP * 4, since),
            "purchases_90d": float(sum(c[0] for c in recent)),
            "spend_90d": max(0.0, float(sum(c[1] for c in recent))),
            "purchase_gap_days": gap if n_gaps else 0.0,
            "purchase_overdue": round(min(OVERDUE_CAP, since / max(gap, 1.0)), 4) if n_gaps else 0.0}


def rhythm(state: dict) -> dict:
    """The customer's usual rhythm, for the inactivity definition of churn and win-back alerts.

    ``last_active_t``: their last activity event or text (epoch s, None); ``last_purchase_t``;
    ``purchase_gap_days`` / ``active_gap_days``: usual gap between purchase occasions / active days (None
    before two); ``purchases``: how many purchases.

    >>> s = {"f": {}}
    >>> for d in (0, 10, 20):
    ...     fold_activity(s["f"], {"type": "order", "amount": 9.0, "currency": "EUR"}, d * DAY)
    >>> r = rhythm(s)
    >>> r["last_purchase_t"] / DAY, r["purchase_gap_days"], r["active_gap_days"], r["purchases"]
    (20.0, 10.0, 10.0, 3)
    >>> rhythm({"f": {}})["last_active_t"] is None
    True
    """
    f = state.get("f") or {}
    act, buy = f.get("active"), f.get("buy")
    return {"last_active_t": act["t"] if act else None,
            "last_purchase_t": buy["last"] if buy else None,
            "purchase_gap_days": buy["gap"][0] if buy and buy["gap"][1] else None,
            "active_gap_days": act["gap"][0] if act and act["gap"][1] else None,
            "purchases": buy["n"] if buy else 0}
