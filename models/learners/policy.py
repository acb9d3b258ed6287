"""When to alert: a threshold with hysteresis and a per-entity cooldown, in event time; one episode, one alert.

An entity alerts when its score reaches ``threshold`` (``confirm`` scores in a row) while *armed*. It is
then disarmed until the score falls below ``rearm_below`` (hysteresis; with ``rearm_days``, it must stay
below for that long) **and** the cooldown since its last alert has passed. So one bad week, with the
score bouncing around the threshold, gives one alert, not a storm.

>>> pol = AlertPolicy(threshold=0.6, rearm_below=0.4, cooldown_days=14)
>>> st = {}
>>> day = 86400
>>> [pol.decide(st, p, i * day) for i, p in enumerate([0.3, 0.7, 0.5, 0.8, 0.3, 0.9])]
[False, True, False, False, False, False]
>>> pol.decide(st, 0.3, 20 * day), pol.decide(st, 0.9, 21 * day)   # re-armed and cooled down
(False, True)

The state moves only forward in event time, so a replay changes nothing: a score older than the
newest one the policy has read is too late to change a decision, and is ignored.

>>> [pol.decide(st, 0.9, i * day) for i in range(22)]   # the same history again
[False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False]

The *episode* is what an alert is about: it opens with the first score of the run that reached the
threshold while armed (that event's id and time), so the alert's id can be derived from it.

>>> pol = AlertPolicy(threshold=0.5, rearm_below=0.2, cooldown_days=0, confirm=2)
>>> st = {}
>>> [pol.decide(st, p, i * day, f"ev{i}") for i, p in enumerate([0.6, 0.1, 0.7, 0.8])]
[False, False, False, True]
>>> st["episode"]
{'event_id': 'ev2', 't': 172800}

With ``hold_days`` the score must stay at/above the threshold that long (every score in between too)
before it alerts: a bad day that passes does not alert, a decline that lasts does, and the episode still
opens at the first score that reached the threshold.

>>> pol = AlertPolicy(threshold=0.35, rearm_below=0.15, cooldown_days=45, hold_days=2)
>>> st = {}
>>> [pol.decide(st, p, d * day, f"ev{d}") for d, p in [(0, 0.6), (1, 0.3), (3, 0.5), (4, 0.4), (5, 0.45)]]
[False, False, False, False, True]
>>> st["episode"]
{'event_id': 'ev3', 't': 259200}

A ``quiet`` score (event time before the deployment's ``alerts_from``: history being replayed) alerts
nobody and counts as no alert: the entity stays armed and uncooled, so an episode still open when the
quiet part ends alerts on its first score after it, under the id of the event that opened it.

>>> pol = AlertPolicy(threshold=0.5, rearm_below=0.2, cooldown_days=30)
>>> st = {}
>>> [pol.decide(st, p, d * day, f"ev{d}", quiet=d < 3) for d, p in [(0, 0.7), (1, 0.8), (3, 0.9), (4, 0.9)]]
[False, False, True, False]
>>> st["episode"]
{'event_id': 'ev0', 't': 0}
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86400.0


@dataclass(frozen=True)
class AlertPolicy:
    threshold: float
    rearm_below: float
    cooldown_days: float = 21.0
    confirm: int = 1  # consecutive scores at/above the threshold needed
    rearm_days: float = 0.0  # how long the score must stay below rearm_below to re-arm (0: one score)
    # (a score holds until the entity's next one: a customer who went quiet after one low score has
    # been low all along)
    hold_days: float = 0.0  # how long the score must stay at/above the threshold before it alerts (0: at once)

    def __post_init__(self):
        if not self.rearm_below <= self.threshold:
            raise ValueError("rearm_below must not exceed threshold")

    def decide(self, st: dict, score: float, t: float, event_id: str = "", quiet: bool = False) -> bool:
        """Update the entity's alert state ``st`` (a dict, kept in its feature state); True = alert now.

        ``t`` is the score's event time; ``event_id`` names the event it was computed on (the episode's
        identity when this score opens one); ``quiet``: this score may not alert, and an alert it would
        have raised is not counted.
        """
        if st.get("seen_t") is not None and t < st["seen_t"]:
            return False
        st["seen_t"] = t
        armed = st.get("armed", True)
        if not armed:
            if score < self.rearm_below:
                st.setdefault("low_since", t)
            low_since = st.get("low_since")
            # a score holds until the entity's next event: low since low_since, whatever this one is
            if low_since is not None and t - low_since >= self.rearm_days * DAY:
                st["armed"] = armed = True
                del st["low_since"]
            elif score >= self.rearm_below:
                st.pop("low_since", None)
        st["above"] = st.get("above", 0) + 1 if score >= self.threshold else 0
        if self.hold_days > 0:
            if st["above"]:
                st.setdefault("above_t", t)
            else:
                st.pop("above_t", None)
        held = self.hold_days <= 0 or t - st.get("above_t", t) >= self.hold_days * DAY
        if armed and st["above"] and (st["above"] == 1 or "opening" not in st):
            st["opening"] = {"event_id": event_id, "t": t}
        last = st.get("last_t")
        cooled = last is None or t - last >= self.cooldown_days * DAY
        if armed and cooled and st["above"] >= self.confirm and held and not quiet:
            st.update(armed=False, last_t=t, n=st.get("n", 0) + 1, episode=st.pop("opening"))
            if st.get("first_t") is None:
                st["first_t"] = t
            return True
        return False
