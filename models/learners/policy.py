"""When to alert: a threshold with hysteresis and a per-entity cooldown, in event time.

An entity alerts when its score reaches ``threshold`` while *armed*. It is then
disarmed until the score falls below ``rearm_below`` (hysteresis) **and** the
cooldown since its last alert has passed. So one bad week, with the score
bouncing around the threshold, gives one alert, not a storm.

>>> pol = AlertPolicy(threshold=0.6, rearm_below=0.4, cooldown_days=14)
>>> st = {}
>>> day = 86400
>>> [pol.decide(st, p, i * day) for i, p in enumerate([0.3, 0.7, 0.5, 0.8, 0.3, 0.9])]
[False, True, False, False, False, False]
>>> pol.decide(st, 0.3, 20 * day), pol.decide(st, 0.9, 21 * day)   # re-armed and cooled down
(False, True)
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

    def __post_init__(self):
        if not self.rearm_below <= self.threshold:
            raise ValueError("rearm_below must not exceed threshold")

    def decide(self, st: dict, score: float, t: float) -> bool:
        """Update the entity's alert state ``st`` (a dict, kept in its feature state); True = alert now."""
        armed = st.get("armed", True)
        last = st.get("last_t")
        if not armed and score < self.rearm_below:
            st["armed"] = armed = True
        st["above"] = st.get("above", 0) + 1 if score >= self.threshold else 0
        cooled = last is None or t - last >= self.cooldown_days * DAY
        if armed and cooled and st["above"] >= self.confirm:
            st.update(armed=False, last_t=t, n=st.get("n", 0) + 1)
            if st.get("first_t") is None:
                st["first_t"] = t
            return True
        return False
