"""Churn by inactivity: a customer is churned when N days pass without anything they did.

For shops without subscriptions there is no cancellation to learn from. Under the *inactivity*
definition (``LearnerConfig.churn_definition = "inactivity"``) a customer lapses when no event of
theirs (a purchase, any other activity, a ticket, a chat message, a review) happened for N days,
where N is ``churn_inactive_days`` or, with ``churn_inactive_rhythm`` k > 0, their own
N_c = clamp(k × usual gap, ``churn_inactive_min_days``, N).

Labels without leakage. Every prediction made at t (on an event, or by the daily sweep while the
customer is silent) stays pending with the features as they were at t. Then:

* the customer is active again before the lapse → y = 0, labelled at that event;
* the lapse is established at D = last activity + N_c → y = 1, labelled at D.

A churned customer sends nothing more, so y = 1 cannot come from an event: it comes from a
*sweep* in event time (the worker sweeps its partitions' states once per simulated day of
watermark advance; the in-process replay does the same). A later event of a lapsed customer
starts a new life, labelled again. An explicit account cancellation is churn under both
definitions: y = 1 at once, and the customer is ended (until a new signup).

Everything the sweep decides is recorded in the customer's state (``state["lapse"]``), and every
id it makes is derived from the customer and the day, so sweeping twice, a replay or a restart
emits no example, prediction or alert twice.

>>> cfg = Cfg(inactive_days=30)
>>> st = {"pending": [], "alert": {}, "events": 1, "ended_at": None, "f": {}, "w": {}}
>>> note_active(st, 0.0)
False
>>> st["pending"].append({"id": "ev1", "t": 0.0, "x": {"a": 1.0}, "p": 0.1, "b": 0.0, "v": "m"})
>>> sweep_decision(st, 10 * DAY, cfg), sweep_decision(st, 30 * DAY, cfg)
('silent', 'lapse')
>>> [(e["pred_event_id"], e["y"], e["labelled_at"] / DAY) for e in lapse(st, "cus-1", 30 * DAY, cfg)]
[('ev1', 1, 30.0)]
>>> sweep_decision(st, 31 * DAY, cfg), lapse(st, "cus-1", 31 * DAY, cfg)   # once
(None, [])
>>> note_active(st, 40 * DAY)                # back: a new life
True
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timezone

from .labels import HORIZON_S, add_pending, join_label

try:  # the customer's rhythm as the features know it (activity features); until then, the gaps kept here
    from .features import rhythm as _rhythm
except ImportError:
    _rhythm = None

DAY = 86400.0
DEFINITIONS = ("subscription", "inactivity")
GAPS_KEPT = 8          # the usual gap is the median of the customer's last 8 gaps between active days
MIN_GAP_DAYS = 0.5     # events closer than this are the same visit, not a gap


class ChurnDefinitionError(ValueError):
    """A churn definition or inactivity setting that cannot be used."""


@dataclass(frozen=True)
class Cfg:
    """The settings the sweep reads (``LearnerConfig`` has the same under ``churn_*`` names)."""

    inactive_days: float = 45.0
    rhythm: float = 0.0
    min_days: float = 14.0


def settings_of(cfg) -> Cfg:
    """The inactivity settings of a ``LearnerConfig`` (or a ``Cfg``), checked.

    >>> try:
    ...     settings_of(Cfg(inactive_days=0))
    ... except ValueError as exc:
    ...     print(exc)
    churn_inactive_days must be > 0 (got 0)
    """
    if isinstance(cfg, Cfg):
        c = cfg
    else:
        c = Cfg(cfg.churn_inactive_days, cfg.churn_inactive_rhythm, cfg.churn_inactive_min_days)
    if not c.inactive_days > 0:
        raise ChurnDefinitionError(f"churn_inactive_days must be > 0 (got {c.inactive_days:g})")
    if not c.rhythm >= 0:
        raise ChurnDefinitionError(f"churn_inactive_rhythm must be >= 0 (0: a fixed N; got {c.rhythm:g})")
    if not 0 < c.min_days <= c.inactive_days:
        raise ChurnDefinitionError(f"churn_inactive_min_days must be > 0 and <= churn_inactive_days "
                                   f"(got {c.min_days:g} and {c.inactive_days:g})")
    return c


def check_definition(name: str) -> str:
    """The churn definition, or a clear error naming the ones there are.

    >>> check_definition("inactivity")
    'inactivity'
    >>> try:
    ...     check_definition("silence")
    ... except ValueError as exc:
    ...     print(exc)
    unknown churn definition 'silence': use 'subscription' or 'inactivity'
    """
    if name not in DEFINITIONS:
        raise ChurnDefinitionError(f"unknown churn definition {name!r}: use 'subscription' or 'inactivity'")
    return name


# ---------------------------------------------------------------------------- events
def is_active(ev: dict) -> bool:
    """Does this customer event show the customer doing something? Not a ticket's status change (the
    support team made it) and not a cancellation (a label of its own).

    >>> is_active({"kind": "activity", "type": "order_placed"}), is_active({"kind": "ticket", "type": "status_changed"})
    (True, False)
    """
    kind, typ = ev.get("kind"), ev.get("type")
    return not ((kind == "ticket" and typ == "status_changed") or (kind == "account" and typ == "cancellation"))


def label_of(ev: dict):
    """The inactivity definition's label of a customer event: 1 (cancellation), 0 (active again), None.

    >>> label_of({"kind": "account", "type": "cancellation"}), label_of({"kind": "review", "type": "posted"})
    (1, 0)
    """
    if ev.get("kind") == "account" and ev.get("type") == "cancellation":
        return 1
    return 0 if is_active(ev) else None


def note_active(state: dict, t: float) -> bool:
    """Record activity at ``t``: last active time and the gaps between active days. True when this
    starts a new life (the customer had lapsed).

    >>> st = {}
    >>> [note_active(st, d * DAY) for d in (0, 10, 10.1, 22)], st["lapse"]["gaps"]
    ([False, False, False, False], [10.0, 11.9])
    """
    lp = state.setdefault("lapse", {"last": None, "gaps": [], "lapsed": False, "day": None, "lives": 1})
    last = lp["last"]
    if last is not None and t <= last:
        return False
    if last is not None and (t - last) / DAY >= MIN_GAP_DAYS:
        lp["gaps"] = (lp["gaps"] + [round((t - last) / DAY, 4)])[-GAPS_KEPT:]
    lp["last"] = t
    if lp["lapsed"]:
        lp.update(lapsed=False, lives=lp["lives"] + 1)
        return True
    return False


def usual_gap_days(state: dict) -> float | None:
    """The customer's usual gap between active days: ``features.rhythm`` when it knows, else the median
    of the gaps recorded here; None before two active days.

    >>> usual_gap_days({"lapse": {"gaps": [10.0, 12.0, 30.0]}})
    12.0
    """
    known = _rhythm(state).get("active_gap_days") if _rhythm is not None else None
    if known is not None:
        return float(known)
    gaps = (state.get("lapse") or {}).get("gaps") or []
    return float(statistics.median(gaps)) if gaps else None


def inactive_days(cfg, usual_gap: float | None) -> float:
    """N_c: the customer's silence that makes them churned.

    >>> inactive_days(Cfg(45, rhythm=0), 5.0), inactive_days(Cfg(45, rhythm=3), 5.0), inactive_days(Cfg(45, rhythm=3), 12)
    (45.0, 15.0, 36.0)
    >>> inactive_days(Cfg(45, rhythm=3), 1.0), inactive_days(Cfg(45, rhythm=3), 30.0), inactive_days(Cfg(45, 3), None)
    (14.0, 45.0, 45.0)
    """
    c = settings_of(cfg)
    if c.rhythm <= 0 or usual_gap is None:
        return float(c.inactive_days)
    return float(min(c.inactive_days, max(c.min_days, c.rhythm * usual_gap)))


def lapse_at(state: dict, cfg) -> float | None:
    """D = last activity + N_c (epoch s), or None before any activity."""
    last = (state.get("lapse") or {}).get("last")
    return None if last is None else last + inactive_days(cfg, usual_gap_days(state)) * DAY


# ---------------------------------------------------------------------------- the sweep
def sweep_days(last_day: int | None, watermark: float) -> list[int]:
    """The day boundaries (days since the epoch, swept at 00:00 UTC) a watermark has newly passed.

    The first watermark sweeps its own day only; after that every day is swept once, in order.

    >>> sweep_days(None, 10.5 * DAY), sweep_days(10, 10.9 * DAY), sweep_days(10, 13.2 * DAY)
    ([10], [], [11, 12, 13])
    """
    day = int(watermark // DAY)
    if last_day is None:
        return [day]
    return list(range(last_day + 1, day + 1))


def advance(mark: dict, t: float, lateness_s: float) -> list[float]:
    """Fold an event time into a partition's watermark ``mark`` (the newest event time seen there, minus
    the allowed lateness) and return the sweep times (00:00 UTC of each day) it newly passed, in order.

    >>> mark = {}
    >>> advance(mark, 10.5 * DAY, 3600), advance(mark, 10.7 * DAY, 3600), advance(mark, 9 * DAY, 3600)
    ([864000.0], [], [])
    >>> [t / DAY for t in advance(mark, 12.2 * DAY, 3600)], mark["day"]
    ([11.0, 12.0], 12)
    """
    wm = t - lateness_s
    if mark.get("t") is not None and wm <= mark["t"]:
        return []
    mark["t"] = wm
    days = sweep_days(mark.get("day"), wm)
    if days:
        mark["day"] = days[-1]
    return [d * DAY for d in days]


def sweep_decision(state: dict, now: float, cfg) -> str | None:
    """What the sweep at ``now`` does for this customer: 'lapse' (N_c days of silence: label y = 1),
    'silent' (quieter than usual: predict, maybe a win-back alert) or None.

    Silent means at least a day, and at least their usual gap, since they were last active, and not
    yet predicted today.
    """
    lp = state.get("lapse")
    if not lp or lp["last"] is None or lp["lapsed"] or state.get("ended_at") is not None:
        return None
    if now >= lapse_at(state, cfg):
        return "lapse"
    silence = (now - lp["last"]) / DAY
    if silence < max(1.0, usual_gap_days(state) or 0.0) or lp["day"] == day_of(now):
        return None
    return "silent"


def lapse_id(entity_id: str, last_active: float) -> str:
    """The (deterministic) id of the lapse that labels a life's pending predictions 1."""
    return f"lapse:{entity_id}:{day_of(last_active)}:{last_active:.0f}"


def silence_id(entity_id: str, now: float) -> str:
    """The id of the sweep's prediction for a silent customer on a day: at most one a day."""
    return f"silence:{entity_id}:{day_of(now)}"


def day_of(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).date().isoformat()


def horizon_s(cfg) -> float:
    """Pending predictions up to this old when labelled still learn (a lapse labels up to N days back)."""
    return max(HORIZON_S, (settings_of(cfg).inactive_days + 1) * DAY)


def lapse(state: dict, entity_id: str, now: float, cfg) -> list[dict]:
    """Mark the customer lapsed and label its pending predictions y = 1 at D (once per life)."""
    if sweep_decision(state, now, cfg) != "lapse":
        return []
    d = lapse_at(state, cfg)
    lp = state["lapse"]
    lp["lapsed"] = True
    return join_label(state, "churn", entity_id, lapse_id(entity_id, lp["last"]), 1, d, horizon_s(cfg))


def silent_prediction(state: dict, entity_id: str, now: float, cfg, handle, x: dict) -> dict:
    """Record the sweep's prediction for a silent customer (pending, to be labelled like any other)
    and return its entry; call only when ``sweep_decision`` said 'silent'."""
    state["lapse"]["day"] = day_of(now)
    p = handle.predict(x)
    entry = {"id": silence_id(entity_id, now), "t": now, "x": x, "p": p, "b": 0.0, "v": handle.version_str,
             "n": handle.n_labels, "np": handle.n_pos}
    add_pending(state, entry)
    return entry


def win_back(state: dict, now: float, cfg) -> dict:
    """What a CRM needs about a silent customer: when they were last active, how long ago, their
    usual gap, and when they count as churned if nothing happens; with the same in plain words.

    >>> st = {"lapse": {"last": 0.0, "gaps": [12.0, 12.0], "lapsed": False, "day": None, "lives": 1}}
    >>> wb = win_back(st, 41 * DAY, Cfg(45))
    >>> wb["text"], wb["silent_days"], wb["churned_at"]
    ('no activity in 41 days, usually every 12', 41.0, '1970-02-15T00:00:00+00:00')
    """
    lp = state["lapse"]
    gap = usual_gap_days(state)
    silent = round((now - lp["last"]) / DAY, 1)
    text = f"no activity in {silent:.0f} days" + (f", usually every {gap:.0f}" if gap is not None else "")
    return {"last_active_at": _iso(lp["last"]), "silent_days": silent,
            "usual_gap_days": None if gap is None else round(gap, 1),
            "inactive_days": round(inactive_days(cfg, gap), 1), "churned_at": _iso(lapse_at(state, cfg)),
            "text": text}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()
