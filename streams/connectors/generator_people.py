"""What one customer and one employee do in one simulated week (see ``generator`` for the model)."""

from __future__ import annotations

import math

HOUR = 3600
PLANS = (("starter", 29.0), ("growth", 99.0), ("business", 299.0))
PRODUCTS = ("booking", "invoicing", "mobile-app", "integrations", "reports")
REVIEW_CHANNELS = ("google", "capterra", "g2", "trustpilot", "app_store")
TICKET_CHANNELS = ("email", "web", "phone", "chat")


class Customer:
    __slots__ = ("id", "p", "signup_week", "plan", "renew_day", "churn_week", "lead", "quiet", "carry",
                 "seq", "active")

    def __init__(self, id: str, p: float, signup_week: int):
        self.id, self.p, self.signup_week = id, p, signup_week
        self.plan, self.renew_day, self.churn_week, self.lead, self.quiet = 0, 0, None, 0, False
        self.carry, self.seq, self.active = 0.0, 0, True


class Employee:
    __slots__ = ("id", "team", "q", "hired_week", "consent", "onset", "ramp", "exit_week", "exit_type",
                 "habit", "seq", "active")

    def __init__(self, id: str, team: str, q: float, hired_week: int, consent: bool):
        self.id, self.team, self.q, self.hired_week, self.consent = id, team, q, hired_week, consent
        self.onset, self.ramp, self.exit_week, self.exit_type = None, 0, None, None
        self.habit = 0.0  # usual overtime hours, unrelated to burnout
        self.seq, self.active = 0, True


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def poisson(rng, lam: float) -> int:
    """Knuth's method; fine for the small rates used here."""
    if lam <= 0:
        return 0
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def pick_label(rng, s: float, neg0: float = 0.08, pos0: float = 0.45) -> int:
    """Text label for a hidden distress / strain ``s`` in [0, 1]: -1, 0 or 1."""
    s = clamp(s)
    p_neg = neg0 + (0.88 - neg0) * s
    p_pos = pos0 * (1 - s) ** 2
    u = rng.random()
    return -1 if u < p_neg else 1 if u < p_neg + p_pos else 0


def plan_sizes(rng, employees: int, teams: int) -> list[int]:
    """Team sizes: the first (support) team larger, one team of 3 when there are enough people, others >= 5."""
    teams = max(1, min(teams, employees))
    if teams == 1:
        return [employees]
    small = employees >= 5 * (teams - 1) + 3
    k, floor = (teams - 1, 5) if small else (teams, 1)
    rest = employees - (3 if small else 0)
    weights = [2.0] + [rng.uniform(0.4, 1.6) for _ in range(k - 1)]
    sizes = [floor] * k
    for i in rng.choices(range(k), weights, k=rest - floor * k):
        sizes[i] += 1
    return sizes + ([3] if small else [])


def customer_time(sim, w: int) -> int:
    rng = sim.rng
    if rng.random() < 0.85:
        return sim.at(w, rng.choice(sim.workdays), rng.uniform(7, 20))
    return sim.at(w, rng.randrange(7), rng.uniform(8, 22))


def daytime(sim, t: int) -> int:
    """Move a follow-up that would fall at night to the next morning (08-09h)."""
    hour = (t - sim.t0) % 86400 / HOUR
    if hour < 8:
        return t + int((8 - hour) * HOUR) + int(sim.rng.random() * HOUR)
    if hour >= 20:
        return t + int((32 - hour) * HOUR) + int(sim.rng.random() * HOUR)
    return t


def customer_week(sim, c: Customer, w: int) -> None:
    rng = sim.rng
    if c.churn_week is not None and w >= c.churn_week:
        if sim.config.mode == "shop":  # no account to cancel: the customer just stops, for good
            c.active = False
            sim.churned_pending += 1
            return
        t = sim.at(w, rng.choice(sim.workdays), rng.uniform(8, 19))
        sim.push(c, t, "account", "cancellation", customer_id=c.id, plan=PLANS[c.plan][0], mrr=0.0)
        c.active = False
        sim.churned_pending += 1
        return
    ramp = 0.0
    if c.churn_week is not None and w >= c.churn_week - c.lead:
        ramp = (w - (c.churn_week - c.lead) + 1) / (c.lead + 1)
    if rng.random() < 0.04:
        c.carry = 0.4  # a bad week: an outage, a wrong invoice...
    incident, c.carry = c.carry, (c.carry * 0.4 if c.carry > 0.05 else 0.0)
    s = clamp(0.3 * c.p + 0.85 * ramp ** 0.6 * (0.6 if c.quiet else 1.0) + incident + rng.gauss(0, 0.08))
    act = 1.0 - 0.6 * ramp if c.quiet else 1.0
    sim.activity_week(c, w, ramp, incident)
    if sim.config.mode != "shop":  # a shop has no accounts: no renewals, no plan changes
        _account_week(sim, c, w, ramp, s)
    for _ in range(poisson(rng, (0.14 + 0.55 * s) * act)):
        _ticket(sim, c, w, s)
    for _ in range(poisson(rng, (0.17 + 0.35 * s) * act)):
        _chat(sim, c, w, s)
    if rng.random() < (0.03 + 0.05 * s) * act:
        rating = int(clamp(round(4.7 - 3.8 * s + rng.gauss(0, 0.8)), 1, 5))
        label = (-1, -1, 0, 1, 1)[rating - 1] if rng.random() < 0.85 else pick_label(rng, s)
        sim.push(c, customer_time(sim, w), "review", "review", label, customer_id=c.id, rating=rating,
                 text=sim.sentences("customer", label, rng.randint(1, 3)), product=rng.choice(PRODUCTS),
                 channel=rng.choice(REVIEW_CHANNELS))


def _account_week(sim, c: Customer, w: int, ramp: float, s: float) -> None:
    rng = sim.rng
    plan, mrr = PLANS[c.plan]
    if (w - c.signup_week) % 4 == 0:
        sim.push(c, sim.at(w, c.renew_day, 6 + rng.random()), "account", "renewal", customer_id=c.id, plan=plan,
                 mrr=mrr)
    if ramp > 0.3 and c.plan > 0 and rng.random() < 0.12:
        c.plan -= 1
        sim.push(c, customer_time(sim, w), "account", "plan_change", customer_id=c.id,
                 plan=PLANS[c.plan][0], previous_plan=plan, mrr=PLANS[c.plan][1])
    elif s < 0.15 and c.plan < 2 and rng.random() < 0.008:
        c.plan += 1
        sim.push(c, customer_time(sim, w), "account", "plan_change", customer_id=c.id,
                 plan=PLANS[c.plan][0], previous_plan=plan, mrr=PLANS[c.plan][1])


def _ticket(sim, c: Customer, w: int, s: float) -> None:
    rng = sim.rng
    t = customer_time(sim, w)
    tid, product, channel = sim.next_ticket(), rng.choice(PRODUCTS), rng.choice(TICKET_CHANNELS)
    urgency = s + rng.gauss(0, 0.15)
    priority = "urgent" if urgency > 0.8 else "high" if urgency > 0.5 else "normal" if urgency > 0.15 else "low"
    common = {"customer_id": c.id, "ticket_id": tid, "channel": channel, "product": product}
    label = pick_label(rng, s + 0.1)
    sim.push(c, t, "ticket", "created", label, status="new", priority=priority,
             text=sim.sentences("customer", label, rng.randint(1, 2)), **common)
    # A customer says nothing after cancelling: follow-ups stop at the start of the churn week.
    gone = sim.at(c.churn_week, 0, 0) if c.churn_week is not None else None
    t_comment = daytime(sim, t + int(rng.uniform(1, 30) * HOUR))
    if rng.random() < 0.3 + 0.4 * s and (gone is None or t_comment < gone):
        label = pick_label(rng, s + 0.1)
        sim.push(c, t_comment, "ticket", "comment", label, status="open",
                 text=sim.sentences("customer", label), **common)
    solved = daytime(sim, t + int(rng.uniform(2, 60) * (1 + s) * HOUR))
    sim.push(c, solved, "ticket", "status_changed", status="solved", **common)
    t_rated = daytime(sim, solved + int(rng.uniform(1, 24) * HOUR))
    if rng.random() < 0.55 and (gone is None or t_rated < gone):
        csat = int(clamp(round(4.6 - 3.4 * s + rng.gauss(0, 0.7)), 1, 5))
        extra = {}
        label = None
        if rng.random() < 0.35:
            label = (-1, -1, 0, 1, 1)[csat - 1]
            extra["text"] = sim.sentences("customer", label)
        sim.push(c, t_rated, "ticket", "rated", label, csat=csat, **extra, **common)


def _chat(sim, c: Customer, w: int, s: float) -> None:
    rng = sim.rng
    t = customer_time(sim, w)
    conv, channel = f"chat-{c.id}-{c.seq + 1}", rng.choice(("intercom", "web-chat"))
    for i in range(rng.randint(1, 3)):
        label = pick_label(rng, s)
        sim.push(c, t, "chat", "message", label, customer_id=c.id, conversation_id=conv, author_role="customer",
                 channel=channel, text=sim.sentences("customer", label))
        t += int(rng.uniform(30, 600))
        answer = sim.agent_reply() if i == 0 or rng.random() < 0.5 else None
        if answer:
            agent, reply = answer
            sim.push(c, t, "chat", "message", customer_id=c.id, employee_id=agent, conversation_id=conv,
                     author_role="agent", channel=channel, text=reply)
            t += int(rng.uniform(30, 900))


def after_hours_time(sim, w: int) -> int:
    rng = sim.rng
    if rng.random() < 0.6 or not sim.weekend:
        return sim.at(w, rng.choice(sim.workdays), rng.uniform(19, 23.9))
    return sim.at(w, rng.choice(sim.weekend), rng.uniform(9, 22))


def employee_week(sim, e: Employee, w: int, shock: float) -> None:
    rng = sim.rng
    hr = {"employee_id": e.id, "team_id": e.team, "consent": e.consent}
    if e.exit_week is not None and w >= e.exit_week:
        t = sim.at(w, rng.choice(sim.workdays), rng.uniform(9, 17))
        sim.push(e, t, "hr", "exit", exit_type=e.exit_type, **hr)
        e.active = False
        sim.replacements.append((w + rng.randint(2, 5), e.team))
        return
    ramp = 0.0
    if e.onset is not None and w >= e.onset:
        ramp = min(1.0, (w - e.onset + 1) / e.ramp)
        if ramp >= 1.0 and e.id not in sim.burnout_t:
            sim.burnout_t[e.id] = sim.at(w, 0, 0)
    z = clamp(0.22 * e.q + 0.7 * ramp + shock + rng.gauss(0, 0.07))
    team = sim.team_of[e.team]
    friday = sim.workdays[-1]
    hours = clamp(round(rng.gauss(e.habit + 10 * z, 2.5) * 2) / 2, 0, 60)
    sim.push(e, sim.at(w, friday, rng.uniform(16, 18)), "hr", "overtime", hours=hours, **hr)
    if (w + team["offset"]) % 2 == 0 and rng.random() < 0.85 - 0.25 * z:
        t = sim.at(w, sim.workdays[1], rng.uniform(9, 17))
        good = lambda: int(clamp(round(4.4 - 3.2 * z + rng.gauss(0, 0.6)), 1, 5))  # noqa: E731
        sim.push(e, t, "hr", "pulse", question="workload", score=good(), **hr)
        extra, label = {}, None
        if rng.random() < 0.15:
            label = pick_label(rng, z, 0.1, 0.4)
            extra["text"] = sim.sentences("employee", label)
        sim.push(e, t + 20, "hr", "pulse", label, question="wellbeing", score=good(), **extra, **hr)
        burnout = int(clamp(round(1.4 + 3.6 * z + rng.gauss(0, 0.6)), 1, 5))
        sim.push(e, t + 40, "hr", "pulse", question="burnout", score=burnout, **hr)
    if (w + team["offset"]) % 4 == 1 and rng.random() < 0.8 - 0.2 * z:
        score = int(clamp(round(8.6 - 8 * z + rng.gauss(0, 1.3)), 0, 10))
        extra, label = {}, None
        if rng.random() < 0.4:
            label = pick_label(rng, z, 0.1, 0.4)
            extra["text"] = sim.sentences("employee", label)
        sim.push(e, sim.at(w, sim.workdays[2], rng.uniform(9, 17)), "hr", "enps", label, score=score,
                 **extra, **hr)
    for _ in range(poisson(rng, 1.5 + 3 * z)):
        late = rng.random() < 0.08 + 0.55 * z
        t = after_hours_time(sim, w) if late else sim.at(w, rng.choice(sim.workdays), rng.uniform(8, 18))
        label = pick_label(rng, z, 0.1, 0.4)
        sim.push(e, t, "chat", "message", label, employee_id=e.id, team_id=e.team, conversation_id=f"{e.team}-w{w}",
                 author_role="employee", channel=team["channel"], text=sim.sentences("employee", label))
    if rng.random() < 0.015 + 0.12 * z:
        sim.push(e, sim.at(w, rng.choice(sim.workdays), 8.5), "hr", "leave", days=float(rng.choice((1, 1, 2, 3, 5))),
                 leave_type="sick", **hr)
    elif rng.random() < 0.04 * (1 - z):
        sim.push(e, sim.at(w, rng.choice(sim.workdays), 10.0), "hr", "leave", days=float(rng.randint(2, 10)),
                 leave_type="vacation", **hr)
