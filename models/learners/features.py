"""Per-entity features for the churn and burnout learners, defined once.

An entity's *state* is a plain JSON-serialisable dict (it lives in a Faust table,
changelog-backed, keyed by entity id). ``update_*`` folds one canonical event
(plus its sentiment, when it has text) into the state; ``*_features`` reads the
feature vector *as of* an event time. Every window and decay runs on event time
(``occurred_at``), never wall-clock, so replays are deterministic.

Each feature is declared once in ``CUSTOMER_FEATURES`` / ``EMPLOYEE_FEATURES``
with a description (docs/learners.md is generated from it) and a plain-words
template used for alert reasons; the per-activity-type features
(``act_<type>_rate_7d`` ...) are declared once as a family in
``ACTIVITY_TYPE_FEATURES``, and ``feature_spec`` resolves any name to its
declaration. What customers *do* (the ``activity`` kind) is folded by
``activity.py``; ``rhythm(state)`` gives their usual rhythm.

>>> s = new_state("customer")
>>> t = 1_800_000_000.0
>>> update_customer(s, {"kind": "ticket", "type": "created", "priority": "urgent", "text": "broken"},
...                 {"label": "negative", "score": -0.9}, t)
>>> update_customer(s, {"kind": "ticket", "type": "rated", "csat": 2}, None, t + 3600)
>>> f = customer_features(s, t + 7200)
>>> f["neg_tickets_7d"], f["urgent_tickets_28d"], f["csat_recent"] < 4
(1.0, 1.0, True)
>>> sorted(f) == sorted(CUSTOMER_FEATURES)
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

# rhythm is re-exported for the inactivity sweep
from .activity import activity_features, fold_activity, mark_active, rhythm  # noqa: F401

DAY = 86400.0
WINDOW_KEEP = 28 * DAY  # timestamps older than this are pruned from window lists
PLAN_ORDER = {"starter": 0, "basic": 0, "growth": 1, "pro": 1, "business": 2, "enterprise": 3}


def event_time(ev: dict) -> float:
    """Event time (``occurred_at``) in epoch seconds."""
    t = ev["occurred_at"]
    if isinstance(t, (int, float)):
        return float(t)
    if isinstance(t, datetime):
        return t.timestamp()
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------------------- small event-time primitives
def ew_update(slot: list, x: float, t: float, half_life_days: float) -> list:
    """Exponentially weighted mean in event time. ``slot`` is ``[mean, weight, t_last]``.

    An event older than the last one (out of order) is folded in without decaying the past.

    >>> s = ew_update([0.0, 0.0, 0.0], 1.0, 0.0, 7)
    >>> s = ew_update(s, 0.0, 7 * DAY, 7)       # one half-life later: old weight 0.5
    >>> round(s[0], 3), round(s[1], 3)
    (0.333, 1.5)
    """
    mean, w, t_last = slot
    decay = 0.5 ** (max(0.0, t - t_last) / (half_life_days * DAY)) if w else 0.0
    w2 = w * decay + 1.0
    return [(mean * w * decay + x) / w2, w2, max(t, t_last)]


def ew_value(slot: list | None, default: float) -> float:
    return slot[0] if slot and slot[1] > 0 else default


def window_add(times: list, t: float) -> list:
    """Append ``t`` to a sorted list of times and prune those older than ``WINDOW_KEEP`` before the newest."""
    times.append(t)
    if len(times) > 1 and times[-2] > t:
        times.sort()
    newest = times[-1]
    i = 0
    while i < len(times) and times[i] < newest - WINDOW_KEEP:
        i += 1
    del times[:i]
    return times


def count_in(times: list, t: float, days: float) -> float:
    """How many times fall in ``(t - days, t]``."""
    lo = t - days * DAY
    return float(sum(1 for x in times if lo < x <= t))


# ---------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Feature:
    name: str
    doc: str
    words: Callable[[dict], str]  # plain words for an alert reason, from the whole feature dict
    direction: int = 1  # +1: higher means more risk (documentation only; the model learns the sign)


def _f(name, doc, words, direction=1) -> tuple[str, Feature]:
    return name, Feature(name, doc, words, direction)


def _n(x: float) -> str:
    return str(int(round(x)))


def _times(n: float, activity: str) -> str:
    """``"2 logins"`` for a one-word type, ``"feature_used 2 times"`` otherwise (no guessing at grammar)."""
    if activity.isalpha() and not activity.endswith(("s", "ed")):
        return f"{_n(n)} {activity}{'' if _n(n) == '1' else 's'}"
    return f"{activity} {_n(n)} time{'' if _n(n) == '1' else 's'}"


def _plural(activity: str) -> str:
    return f"{activity}s" if activity.isalpha() and not activity.endswith(("s", "ed")) else activity


def _change(what: str, before: float, now: float, unit: str = " a week") -> str:
    word = "down" if now < before else "up"
    return f"{what} {word} from {_n(before)} to {_n(now)}{unit}"


CUSTOMER_FEATURES: dict[str, Feature] = dict([
    _f("sent_recent", "Exponentially weighted sentiment (-1..1) of the customer's own texts (tickets, chats, "
       "reviews), half-life 7 days; 0 before any text.",
       lambda f: f"recent messages read negative (average sentiment {f['sent_recent']:+.2f})", -1),
    _f("sent_drop", "Long-run sentiment (half-life 60 days) minus recent sentiment: how much the tone has worsened.",
       lambda f: f"tone worsened: sentiment fell from {f['sent_recent'] + f['sent_drop']:+.2f} "
                 f"to {f['sent_recent']:+.2f}"),
    _f("sent_chat", "Weighted sentiment of the customer's chat messages only (half-life 14 days).",
       lambda f: f"chat sentiment {f['sent_chat']:+.2f}", -1),
    _f("sent_ticket", "Weighted sentiment of the customer's ticket texts only (half-life 14 days).",
       lambda f: f"ticket sentiment {f['sent_ticket']:+.2f}", -1),
    _f("neg_texts_7d", "Negative texts (sentiment label 'negative') in the last 7 days, any channel.",
       lambda f: f"{_n(f['neg_texts_7d'])} negative messages in 7 days"),
    _f("neg_tickets_7d", "Tickets opened with a negative text in the last 7 days.",
       lambda f: f"{_n(f['neg_tickets_7d'])} negative tickets in 7 days"),
    _f("neg_tickets_28d", "Tickets opened with a negative text in the last 28 days.",
       lambda f: f"{_n(f['neg_tickets_28d'])} negative tickets in 28 days"),
    _f("tickets_7d", "Tickets opened in the last 7 days.",
       lambda f: f"{_n(f['tickets_7d'])} tickets opened in 7 days"),
    _f("ticket_trend", "Tickets in the last 7 days minus the weekly average of the last 28 days.",
       lambda f: f"ticket volume up by {f['ticket_trend']:.1f} per week"),
    _f("urgent_tickets_28d", "Tickets of priority high or urgent in the last 28 days.",
       lambda f: f"{_n(f['urgent_tickets_28d'])} high-priority tickets in 28 days"),
    _f("csat_recent", "Weighted CSAT (1-5) of rated tickets, half-life 21 days; 4 before any rating.",
       lambda f: f"recent CSAT {f['csat_recent']:.1f} of 5", -1),
    _f("csat_drop", "Long-run CSAT (mean of all ratings) minus recent CSAT.",
       lambda f: f"CSAT fell from {f['csat_recent'] + f['csat_drop']:.1f} to {f['csat_recent']:.1f}"),
    _f("rating_last", "Stars (1-5) of the customer's latest review; 4 before any review.",
       lambda f: f"latest review {_n(f['rating_last'])} stars", -1),
    _f("days_since_activity", "Days since the customer's last ticket, chat or review (capped at 60).",
       lambda f: f"no contact for {_n(f['days_since_activity'])} days"),
    _f("activity_trend", "Customer-initiated events in the last 7 days minus the weekly average of the last 28 "
       "days (negative: going quiet).",
       lambda f: f"activity changed by {f['activity_trend']:+.1f} events per week", -1),
    _f("downgrades_90d", "Plan downgrades in the last 90 days.",
       lambda f: f"{_n(f['downgrades_90d'])} plan downgrade(s) in 90 days"),
    _f("days_since_renewal", "Days since the last renewal (or signup).",
       lambda f: f"{_n(f['days_since_renewal'])} days since renewal"),
    _f("tenure_weeks", "Weeks since signup (capped at 52).",
       lambda f: f"customer for {_n(f['tenure_weeks'])} weeks", -1),
    # what the customer does (activity events; all 0 for a customer who sends none)
    _f("activity_rate_7d", "Activity events of any type in the last 7 days (counted per UTC day; the day a "
       "week ago pro rata); 0 without activity events.",
       lambda f: f"{_n(f['activity_rate_7d'])} actions in the last 7 days", -1),
    _f("activity_rate_long", "Long-run activity events a week, any type: a count decaying with a half-life of 42 "
       "days over the decayed length of their history (at least a week); 0 without activity events.",
       lambda f: f"usually {f['activity_rate_long']:.0f} actions a week", -1),
    _f("activity_trend_rel", "Relative change of activity: (last 7 days - long-run weekly rate) / max(long-run "
       "rate, 1), between -1 (stopped) and 2; 0 without activity events.",
       lambda f: _change("activity", f["activity_rate_long"], f["activity_rate_7d"]), -1),
    _f("days_since_active", "Days since the customer's last activity event (capped at 90); 0 without activity "
       "events.",
       lambda f: f"no activity in {_n(f['days_since_active'])} days"),
    _f("active_overdue", "Days since the customer was last active (an activity event or a text of theirs) divided "
       "by their usual gap between active days (capped at 10): silence against their own rhythm; 0 without "
       "activity events or before two active days.",
       lambda f: f"quiet for {f['active_overdue']:.1f} times their usual gap between active days"),
    _f("days_since_purchase", "Days since the last purchase (an activity of a purchase type, or with a positive "
       "amount; capped at 360); 0 before any purchase.",
       lambda f: f"no order in {_n(f['days_since_purchase'])} days"),
    _f("purchases_90d", "Purchases in the last 90 days.",
       lambda f: f"{_n(f['purchases_90d'])} orders in 90 days", -1),
    _f("spend_90d", "Amount spent in the last 90 days, refunds deducted, in the currency of the customer's first "
       "purchase (amounts in other currencies are not added); 0 before any purchase.",
       lambda f: f"spent {f['spend_90d']:,.0f} in 90 days", -1),
    _f("purchase_gap_days", "Their usual gap between purchases, in days (the first three gaps averaged, then "
       "each new gap weighs a third; purchases within a day are one); 0 before purchases on two days.",
       lambda f: f"usually orders every {_n(f['purchase_gap_days'])} days"),
    _f("purchase_overdue", "Days since the last purchase divided by their usual gap (capped at 10): above 1 the "
       "next order is late; 0 before purchases on two days.",
       lambda f: f"no order in {_n(f['days_since_purchase'])} days, usually every {_n(f['purchase_gap_days'])}"),
])

#: One group of features per activity type a customer is seen doing (at most ``ACTIVITY_TYPES_MAX`` types per
#: customer, or those of ``PULSEWIRE_LEARN_ACTIVITY_TYPES``): ``act_<type>_<suffix>``, ``<type>`` as ``type_key``
#: writes it. ``words`` gets the whole feature dict and the type.
ACTIVITY_TYPE_FEATURES: dict[str, tuple[str, Callable[[dict, str], str], int]] = {
    "rate_7d": ("Events of this type in the last 7 days (as `activity_rate_7d`).",
                lambda f, a: f"{_times(f[f'act_{a}_rate_7d'], a)} in the last 7 days", -1),
    "rate_long": ("Long-run events of this type a week (half-life 42 days, as `activity_rate_long`).",
                  lambda f, a: f"usually {_times(f[f'act_{a}_rate_long'], a)} a week", -1),
    "trend": ("Events of this type in the last 7 days minus the long-run weekly rate (negative: doing it less).",
              lambda f, a: _change(_plural(a), f[f"act_{a}_rate_long"], f[f"act_{a}_rate_7d"]), -1),
    "days_since": ("Days since the last event of this type (capped at 90).",
                   lambda f, a: f"no {a} in {_n(f[f'act_{a}_days_since'])} days", 1),
}

EMPLOYEE_FEATURES: dict[str, Feature] = dict([
    _f("overtime_recent", "Weighted weekly overtime hours, half-life 14 days.",
       lambda f: f"{f['overtime_recent']:.0f} overtime hours a week lately"),
    _f("overtime_trend", "Recent overtime minus long-run overtime (half-life 90 days).",
       lambda f: f"overtime up {f['overtime_trend']:.0f} hours a week on their usual"),
    _f("sick_days_60d", "Sick-leave days in the last 60 days.",
       lambda f: f"{f['sick_days_60d']:.0f} sick days in 60 days"),
    _f("leave_days_90d", "Leave days of any kind in the last 90 days (rest taken).",
       lambda f: f"{f['leave_days_90d']:.0f} days of leave in 90 days", -1),
    _f("after_hours_share", "Weighted share (0-1) of their chat messages sent after hours (before 8, after 18 "
       "or at weekends, UTC), half-life 21 days.",
       lambda f: f"{100 * f['after_hours_share']:.0f}% of messages after hours"),
    _f("chat_trend", "Chat messages in the last 7 days minus the weekly average of the last 28 days.",
       lambda f: f"chat volume changed by {f['chat_trend']:+.1f} a week"),
    _f("workload_last", "Latest pulse answer to 'workload' (1-5, 5 = fine); 4 before any answer.",
       lambda f: f"workload pulse {_n(f['workload_last'])} of 5", -1),
    _f("wellbeing_last", "Latest pulse answer to 'wellbeing' (1-5, 5 = good); 4 before any answer.",
       lambda f: f"wellbeing pulse {_n(f['wellbeing_last'])} of 5", -1),
    _f("wellbeing_drop", "Long-run wellbeing (mean of answers) minus the latest answer.",
       lambda f: f"wellbeing fell from {f['wellbeing_last'] + f['wellbeing_drop']:.1f} to "
                 f"{f['wellbeing_last']:.0f}"),
    _f("burnout_last", "Latest pulse answer to 'burnout' (1-5, 4-5 = 'I feel burned out often'); 2 before any.",
       lambda f: f"said they feel burned out ({_n(f['burnout_last'])} of 5) in the last pulse"),
    _f("enps_last", "Latest eNPS answer (0-10); 7 before any.",
       lambda f: f"eNPS answer {_n(f['enps_last'])} of 10", -1),
    _f("sent_recent", "Weighted sentiment (-1..1) of their comments (chat, pulse and eNPS comments), half-life "
       "14 days.",
       lambda f: f"their messages read negative (average sentiment {f['sent_recent']:+.2f})", -1),
    _f("neg_comments_14d", "Negative comments in the last 14 days.",
       lambda f: f"{_n(f['neg_comments_14d'])} negative comments in 14 days"),
    _f("tenure_weeks", "Weeks since hire (capped at 104).",
       lambda f: f"employed for {_n(f['tenure_weeks'])} weeks", -1),
])

FEATURES = {"customer": CUSTOMER_FEATURES, "employee": EMPLOYEE_FEATURES}
_TYPE_FEATURE = re.compile(r"^act_([a-z0-9_]+?)_(" + "|".join(ACTIVITY_TYPE_FEATURES) + r")$")


def feature_spec(entity_type: str, name: str) -> Feature | None:
    """The declaration of a feature, fixed or per activity type (``act_<type>_<suffix>``), or None.

    >>> f = {"act_login_rate_7d": 2.0, "act_login_rate_long": 9.0, "act_login_trend": -7.0,
    ...      "act_feature_used_days_since": 23.0}
    >>> feature_spec("customer", "act_login_trend").words(f)
    'logins down from 9 to 2 a week'
    >>> feature_spec("customer", "act_feature_used_days_since").words(f)
    'no feature_used in 23 days'
    >>> feature_spec("customer", "csat_drop").name, feature_spec("employee", "act_login_trend")
    ('csat_drop', None)
    """
    declared = FEATURES.get(entity_type, {})
    if name in declared:
        return declared[name]
    m = _TYPE_FEATURE.match(name) if entity_type == "customer" else None
    if m is None:
        return None
    activity, suffix = m.groups()
    doc, words, direction = ACTIVITY_TYPE_FEATURES[suffix]
    return Feature(name, doc, lambda f: words(f, activity), direction)


def new_state(entity_type: str) -> dict:
    """An empty feature state (plus bookkeeping that the label join and alert policy use)."""
    return {"type": entity_type, "first_t": None, "last_t": None, "events": 0, "ended_at": None,
            "f": {}, "w": {}, "pending": [], "alert": {}, "labels_seen": []}


def _touch(state: dict, t: float) -> None:
    state["events"] += 1
    if state["first_t"] is None or t < state["first_t"]:
        state["first_t"] = t
    if state["last_t"] is None or t > state["last_t"]:
        state["last_t"] = t


def _ew(state: dict, name: str, x: float, t: float, hl: float) -> None:
    state["f"][name] = ew_update(state["f"].get(name) or [0.0, 0.0, 0.0], x, t, hl)


def _win(state: dict, name: str, t: float) -> None:
    window_add(state["w"].setdefault(name, []), t)


def _events_list(state: dict, name: str, t: float, value: float, keep_days: float) -> None:
    lst = state["f"].setdefault(name, [])
    lst.append([t, value])
    lst.sort(key=lambda x: x[0])
    newest = lst[-1][0]
    while lst and lst[0][0] < newest - keep_days * DAY:
        lst.pop(0)


def _sum_in(state: dict, name: str, t: float, days: float) -> float:
    return float(sum(v for tt, v in state["f"].get(name, []) if t - days * DAY < tt <= t))


def is_negative(sentiment: dict | None) -> bool:
    return bool(sentiment) and sentiment.get("label") == "negative"


# ---------------------------------------------------------------------------- customers
def customer_authored(ev: dict) -> bool:
    """Events that say something about the customer (agent replies in a chat do not)."""
    if ev.get("kind") == "chat":
        return ev.get("author_role") == "customer"
    return ev.get("kind") in ("review", "ticket", "account", "activity")


def update_customer(state: dict, ev: dict, sentiment: dict | None, t: float) -> None:
    _touch(state, t)
    f = state["f"]
    kind, typ = ev.get("kind"), ev.get("type")
    if sentiment is not None and sentiment.get("score") is not None:
        s = float(sentiment["score"])
        _ew(state, "sent7", s, t, 7)
        _ew(state, "sent60", s, t, 60)
        if kind in ("chat", "ticket"):
            _ew(state, f"sent_{kind}", s, t, 14)
        if is_negative(sentiment):
            _win(state, "neg_texts", t)
            if kind == "ticket" and typ in ("created", "comment"):
                _win(state, "neg_tickets", t)
    if kind == "ticket" and typ == "created":
        _win(state, "tickets", t)
        if ev.get("priority") in ("high", "urgent"):
            _win(state, "urgent", t)
    if kind == "ticket" and ev.get("csat") is not None:
        c = float(ev["csat"])
        _ew(state, "csat21", c, t, 21)
        f["csat_sum"] = f.get("csat_sum", 0.0) + c
        f["csat_n"] = f.get("csat_n", 0) + 1
    if kind == "review" and ev.get("rating") is not None:
        f["rating_last"] = float(ev["rating"])
    if kind in ("ticket", "chat", "review") and typ != "status_changed":
        _win(state, "activity", t)
        f["last_activity"] = max(t, f.get("last_activity") or t)
        mark_active(f, t)
    if kind == "activity":
        fold_activity(f, ev, t)
    if kind == "account":
        if typ in ("signup", "renewal"):
            f["renewed_at"] = max(t, f.get("renewed_at") or t)
        if typ == "signup":
            f["signup_at"] = t if f.get("signup_at") is None else min(t, f["signup_at"])
            state["ended_at"] = None
        if typ == "plan_change":
            before = PLAN_ORDER.get(ev.get("previous_plan") or "", None)
            after = PLAN_ORDER.get(ev.get("plan") or "", None)
            down = (before is not None and after is not None and after < before) or (
                before is None and ev.get("mrr") is not None and f.get("mrr") is not None and ev["mrr"] < f["mrr"])
            if down:
                _events_list(state, "downgrades", t, 1.0, 90)
        if ev.get("mrr") is not None:
            f["mrr"] = float(ev["mrr"])


def customer_features(state: dict, t: float) -> dict[str, float]:
    f, w = state["f"], state["w"]
    sent7, sent60 = ew_value(f.get("sent7"), 0.0), ew_value(f.get("sent60"), 0.0)
    csat_long = f["csat_sum"] / f["csat_n"] if f.get("csat_n") else 4.0
    csat_recent = ew_value(f.get("csat21"), csat_long)
    act = w.get("activity", [])
    tk = w.get("tickets", [])
    last_act = f.get("last_activity") or f.get("signup_at") or state.get("first_t") or t
    since = f.get("renewed_at") or f.get("signup_at") or state.get("first_t") or t
    signup = f.get("signup_at") or state.get("first_t") or t
    return {
        "sent_recent": sent7,
        "sent_drop": sent60 - sent7,
        "sent_chat": ew_value(f.get("sent_chat"), 0.0),
        "sent_ticket": ew_value(f.get("sent_ticket"), 0.0),
        "neg_texts_7d": count_in(w.get("neg_texts", []), t, 7),
        "neg_tickets_7d": count_in(w.get("neg_tickets", []), t, 7),
        "neg_tickets_28d": count_in(w.get("neg_tickets", []), t, 28),
        "tickets_7d": count_in(tk, t, 7),
        "ticket_trend": count_in(tk, t, 7) - count_in(tk, t, 28) / 4,
        "urgent_tickets_28d": count_in(w.get("urgent", []), t, 28),
        "csat_recent": csat_recent,
        "csat_drop": csat_long - csat_recent,
        "rating_last": f.get("rating_last", 4.0),
        "days_since_activity": min(60.0, max(0.0, (t - last_act) / DAY)),
        "activity_trend": count_in(act, t, 7) - count_in(act, t, 28) / 4,
        "downgrades_90d": _sum_in(state, "downgrades", t, 90),
        "days_since_renewal": min(60.0, max(0.0, (t - since) / DAY)),
        "tenure_weeks": min(52.0, max(0.0, (t - signup) / (7 * DAY))),
        **activity_features(f, t),
    }


# ---------------------------------------------------------------------------- employees
def after_hours(t: float) -> bool:
    """Before 8:00, from 18:00, or at a weekend (UTC)."""
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    return d.weekday() >= 5 or d.hour < 8 or d.hour >= 18


def employee_authored(ev: dict) -> bool:
    if ev.get("kind") == "chat":
        return ev.get("author_role") == "employee" and not ev.get("customer_id")
    return ev.get("kind") == "hr"


def update_employee(state: dict, ev: dict, sentiment: dict | None, t: float) -> None:
    _touch(state, t)
    f = state["f"]
    kind, typ = ev.get("kind"), ev.get("type")
    if ev.get("team_id"):
        f["team_id"] = ev["team_id"]
    if ev.get("consent") is not None:
        f["consent"] = bool(ev["consent"])
    if sentiment is not None and sentiment.get("score") is not None:
        _ew(state, "sent14", float(sentiment["score"]), t, 14)
        if is_negative(sentiment):
            _events_list(state, "neg_comments", t, 1.0, 14)
    if kind == "chat":
        _win(state, "chats", t)
        _ew(state, "after_hours", 1.0 if after_hours(t) else 0.0, t, 21)
    if kind != "hr":
        return
    if typ == "hire":
        f["hired_at"] = t if f.get("hired_at") is None else min(t, f["hired_at"])
        state["ended_at"] = None
    elif typ == "overtime" and ev.get("hours") is not None:
        h = float(ev["hours"])
        _ew(state, "ot14", h, t, 14)
        _ew(state, "ot90", h, t, 90)
    elif typ == "leave" and ev.get("days") is not None:
        _events_list(state, "leave", t, float(ev["days"]), 90)
        if ev.get("leave_type") == "sick":
            _events_list(state, "sick", t, float(ev["days"]), 90)
    elif typ == "pulse" and ev.get("score") is not None:
        q, s = ev.get("question"), float(ev["score"])
        if q == "workload":
            f["workload_last"] = s
        elif q == "wellbeing":
            f["wellbeing_last"] = s
            f["wellbeing_sum"] = f.get("wellbeing_sum", 0.0) + s
            f["wellbeing_n"] = f.get("wellbeing_n", 0) + 1
        elif q == "burnout":
            f["burnout_last"] = s
    elif typ == "enps" and ev.get("score") is not None:
        f["enps_last"] = float(ev["score"])


def employee_features(state: dict, t: float) -> dict[str, float]:
    f, w = state["f"], state["w"]
    ot14, ot90 = ew_value(f.get("ot14"), 0.0), ew_value(f.get("ot90"), 0.0)
    wb_last = f.get("wellbeing_last", 4.0)
    wb_long = f["wellbeing_sum"] / f["wellbeing_n"] if f.get("wellbeing_n") else wb_last
    ch = w.get("chats", [])
    hired = f.get("hired_at") or state.get("first_t") or t
    return {
        "overtime_recent": ot14,
        "overtime_trend": ot14 - ot90,
        "sick_days_60d": _sum_in(state, "sick", t, 60),
        "leave_days_90d": _sum_in(state, "leave", t, 90),
        "after_hours_share": ew_value(f.get("after_hours"), 0.0),
        "chat_trend": count_in(ch, t, 7) - count_in(ch, t, 28) / 4,
        "workload_last": f.get("workload_last", 4.0),
        "wellbeing_last": wb_last,
        "wellbeing_drop": wb_long - wb_last,
        "burnout_last": f.get("burnout_last", 2.0),
        "enps_last": f.get("enps_last", 7.0),
        "sent_recent": ew_value(f.get("sent14"), 0.0),
        "neg_comments_14d": _sum_in(state, "neg_comments", t, 14),
        "tenure_weeks": min(104.0, max(0.0, (t - hired) / (7 * DAY))),
    }


UPDATE = {"customer": update_customer, "employee": update_employee}
FEATURES_OF = {"customer": customer_features, "employee": employee_features}


def last_sentiment(state: dict) -> float | None:
    """The most recent text sentiment of the entity (for the trivial baseline)."""
    return state["f"].get("last_sent")


def note_sentiment(state: dict, sentiment: dict | None) -> None:
    if sentiment is not None and sentiment.get("score") is not None:
        state["f"]["last_sent"] = float(sentiment["score"])


def finite(x: dict[str, float]) -> dict[str, float]:
    """Replace non-finite values by 0 (a defensive guard before a model sees them)."""
    return {k: (v if isinstance(v, (int, float)) and math.isfinite(v) else 0.0) for k, v in x.items()}
