"""What a customer does besides writing: product usage and purchases (see ``generator`` for the model).

Each customer gets a *habit* when it joins: how many days a week it uses the product, how likely each
usage type is on such a day, its usual gap between orders and its usual basket. Every simulated week
``customer_week`` turns the habit into ``activity`` events, scaled by ``usage_level``: the share of the
usual usage the customer keeps that week (lower in a churner's lead weeks, briefly lower after an
incident). Purchase gaps are stretched by ``gap_stretch`` in the same lead weeks. Everything here draws
from the simulation's own activity RNG, so switching activity off leaves the other events unchanged.

>>> usage_level(0.0, 0.0), usage_level(1.0, 0.0) < 0.3, usage_level(0.0, 0.4) < 0.6
(1.0, True, True)
>>> gap_stretch(0.0), gap_stretch(1.0), skip_chance(0.0), skip_chance(1.0)
(1.0, 3.5, 0.0, 0.7)
"""

from __future__ import annotations

import math

from .generator_people import PRODUCTS, clamp, poisson

DAY = 86400
CURRENCY = "EUR"
#: Usage types per mode: the first is the visit itself (one per active day), the others happen on
#: some active days with the per-customer probability drawn around the base given here.
USAGE_TYPES = {"subscription": (("login", 1.0), ("feature_used", 0.3), ("report_exported", 0.08)),
               "shop": (("page_view", 1.0), ("product_viewed", 0.3), ("added_to_cart", 0.1))}
ORDER_TYPE = "order_placed"
GAP_DAYS = (7.0, 35.0)  # the range of customers' usual gap between two orders


class Habit:
    __slots__ = ("days", "mix", "gap", "basket", "next_order")

    def __init__(self, days: float, mix: tuple, gap: float, basket: float, next_order: float):
        self.days, self.mix, self.gap, self.basket, self.next_order = days, mix, gap, basket, next_order


def new_habit(rng, mode: str, first_order_t: float) -> Habit:
    """A customer's usual behaviour; its first order falls at ``first_order_t`` plus up to one usual gap."""
    mix = tuple((name, 1.0 if i == 0 else clamp(base * rng.uniform(0.4, 1.6)))
                for i, (name, base) in enumerate(USAGE_TYPES[mode]))
    gap = rng.uniform(*GAP_DAYS)
    basket = math.exp(rng.gauss(math.log(45.0), 0.6))
    return Habit(rng.uniform(0.5, 2.3), mix, gap, basket, first_order_t + rng.uniform(0, gap) * DAY)


def usage_level(ramp: float, incident: float) -> float:
    """Share of the usual usage kept this week: a churner's ``ramp`` (0 -> 1 over its lead weeks) takes
    it down to a fifth; an incident (``carry``, up to 0.4 and fading) takes up to half of it away."""
    return round(max(0.02, (1.0 - 0.8 * ramp ** 0.7) * (1.0 - 1.25 * incident)), 6)


def gap_stretch(ramp: float) -> float:
    """How much longer than usual the next order waits: up to 3.5 times at the end of a churner's lead."""
    return 1.0 + 2.5 * ramp


def skip_chance(ramp: float) -> float:
    """The chance that an order that is due does not happen: a churner buys less and less."""
    return 0.7 * ramp


def customer_week(sim, c, w: int, ramp: float, incident: float) -> None:
    """Week ``w``'s usage and orders of customer ``c`` (called by ``generator_people.customer_week``)."""
    rng, habit = sim.activity_rng, sim.habits[c.id]
    level = usage_level(ramp, incident) * rng.lognormvariate(0.0, 0.2)
    if rng.random() < 0.03:
        level *= 0.1  # a week away (holiday, busy elsewhere): a harmless dip that churners do not own
    p_day = clamp(habit.days / 7.0 * level, 0.0, 0.95)
    for day in range(7):
        if rng.random() >= p_day:
            continue
        t = sim.at(w, day, rng.uniform(7, 21))
        session = f"s-{c.id}-{w}-{day}"
        for i, (name, p) in enumerate(habit.mix):
            if i == 0 or rng.random() < p:
                qty = 1 + poisson(rng, 0.3 if i == 0 else 1.2)  # a day's visits / uses, one event
                sim.push(c, t + 60 * i + rng.randrange(60), "activity", name, customer_id=c.id,
                         quantity=float(qty), session_id=session)
    end = sim.at(w + 1, 0, 0)
    while habit.next_order < end:
        if rng.random() >= skip_chance(ramp):
            order(sim, c, max(int(habit.next_order), sim.at(w, 0, 0)))
        habit.next_order += habit.gap * gap_stretch(ramp) * rng.lognormvariate(0.0, 0.25) * DAY


def order(sim, c, t: int) -> None:
    """One ``order_placed``: quantity, product and an amount around the customer's usual basket."""
    rng = sim.activity_rng
    qty = 1 + poisson(rng, 0.6)
    amount = round(sim.habits[c.id].basket * qty * rng.lognormvariate(0.0, 0.3), 2)
    sim.push(c, daytime_of(sim, t), "activity", ORDER_TYPE, customer_id=c.id, quantity=float(qty),
             amount=amount, currency=CURRENCY, product=rng.choice(PRODUCTS))


def daytime_of(sim, t: int) -> int:
    """Move an order time to 08-21h of the same day (people shop awake)."""
    hour = (t - sim.t0) % DAY / 3600
    if 8 <= hour < 21:
        return t
    return t - int(hour * 3600) + int(sim.activity_rng.uniform(8, 21) * 3600)


def join(sim, c, week: int) -> None:
    """A new customer's habit; in shop mode a customer who joins after the start appears with an order."""
    rng, mode = sim.activity_rng, sim.config.mode
    first = sim.at(week + 1, 0, 0) if week == 0 or mode != "shop" else sim.at(week, 0, 0)
    sim.habits[c.id] = new_habit(rng, mode, first)
    if mode == "shop" and week > 0:
        t = sim.at(week, rng.choice(sim.workdays), rng.uniform(8, 20))
        order(sim, c, t)
        sim.habits[c.id].next_order = t + sim.habits[c.id].gap * rng.lognormvariate(0.0, 0.25) * DAY

