"""Synthetic SMB: customers who may churn, employees who may burn out, week by week.

The model in plain words
------------------------
Time moves in simulated weeks from ``start`` (UTC). Each week every active
person acts; events get times of day that look real (customers mostly 07-20h,
employees 08-18h on weekdays, with after-hours and weekend messages when they
are strained). Records come out sorted by ``occurred_at``.

**Customers** (``cus-00001`` ...) sign up in week 0 on one of three plans and
renew every four weeks. Each has a hidden *churn propensity* ``p ~ Beta(1.3, 3.5)``.
With probability about ``1.4 p`` the customer is a future churner; the
cancellation week is drawn from 5 to ~1.2 x ``weeks`` after signup (so some fall
after the horizon: censored). A churner's weekly *distress* ramps up linearly
over a lead time of 3-8 weeks before the cancellation (``0.85 r^0.6`` for a
ramp ``r`` going from ~0.1 to 1, so it shows early); every customer also carries
a chronic part (``0.3 p``), random bad weeks (an incident: about 1 week in 25,
fading over the next two), and noise. Distress drives everything observable:
more tickets and chats, higher ticket priority, lower CSAT on 'rated' tickets,
lower review ratings, more negative text, plan downgrades (``plan_change``) and,
at the end, a ``cancellation``. A quarter of churners are *quiet*: their distress
shows 40% less and they fall silent (up to 60% fewer events) instead of
complaining. So churn is predictable weeks ahead but not perfectly.
Cancelled customers are replaced by new signups the following week.

**What customers do** (``activity``, on by default; ``generator_activity``): each
customer has a usage habit (0.5-2.3 active days a week; on an active day one
``login`` event, sometimes ``feature_used`` or ``report_exported``, each with a
``quantity``) and a purchase rhythm (an ``order_placed`` with ``quantity``,
``product`` and an ``amount`` in EUR around its usual basket, every 7-35 days as
usual gap). Over a churner's lead weeks its usage falls to about a fifth, quiet
churners included (what their text does not show, their usage does), orders
that are due are skipped more and more often and the gaps between them grow to
3.5 times the usual; an incident halves the week's usage, fading with it; about
one week in 33 anyone is away (a harmless dip). That is about two activity
events per customer-week, so for a given ``limit`` the population is about half
as large as without activity. Activity draws from its own RNG and numbers its
events apart: with ``activity=False`` the stream is exactly the one without
this model, and with it the other events are the same (for the same population).

**Shop mode** (``mode="shop"``): no subscriptions, so no account events at
all. The usage types are ``page_view``, ``product_viewed`` and
``added_to_cart``; a customer present at the start appears with its first order
or visit, a later one with an order in its first week. A churner's distress and
decline go as above, and in its churn week it stops buying and visiting, for
good; the others keep their rhythm; each one gone is replaced by a new customer
the following week.

**Employees** (``emp-0001`` ...) belong to teams (``team-support`` first; sizes
vary; with enough people exactly one team has 3 members, for small-group
suppression) and get a ``hire`` event in week 0. Each has a hidden *burnout
propensity* ``q ~ Beta(2, 5)`` shifted by a team effect. With probability about
``1.3 q`` burnout starts in some week; strain then ramps over 4-10 weeks to full
burnout (``burned_out`` in the ground truth) and about 65% of those leave
voluntarily 1-6 weeks later. Strain (plus team crunch weeks and noise) drives
weekly ``overtime`` hours, more and later Slack messages (``author_role
"employee"``, ``slack:#<team>``), biweekly ``pulse`` answers (``workload`` and
``wellbeing``: 5 is good; ``burnout``: 4-5 means "I feel burned out often"),
monthly ``enps`` (0-10, optional comment), sick ``leave`` and finally the
``exit``. Some exits are unrelated to burnout (voluntary for other reasons, or
involuntary) and come without warning. Leavers are replaced by a new hire in
the same team 2-5 weeks later. ``consent`` is fixed per employee (~70% True)
and set on every hr event. Support agents answer customer chats.

Text is real crowd-labelled sentences (see ``text_corpus``) drawn with the
label that the hidden state asks for; the chosen labels are kept in
``sim.text_labels`` (event_id -> -1/0/1) for tests and never put into events.

**Ground truth** (``ground_truth()``, as of the last record yielded): every
customer has ``last_active_at``, the time of its last activity event or text
(agents' replies and account events do not count), and ``stopped``: it cancelled
or stopped buying for good. In subscription mode a
customer ``churned`` when its ``cancellation`` was yielded and ``churned_at`` is
that time. In shop mode a customer ``churned`` when it stopped for good and N
days have passed since its last activity: ``churned_at`` is that last activity
plus N days, the moment an inactivity rule can know it (N: the argument
``churn_inactive_days``, by default the learners' setting, else 45). A stopped
customer whose moment falls after the last record is not churned yet (censored).

Size and ``limit``: without explicit ``customers``/``employees``/``teams``, the
population scales with ``limit`` so that ``limit`` records fill about ``weeks``
weeks (20,000 -> ~171 customers, 34 employees, 5 teams with activity; ~316
customers, 63 employees, 8 teams without). The stream stops at
exactly ``limit`` records; if the weeks run out first, the simulation simply
continues past ``weeks`` (with replacements keeping the population steady).
Without a limit it runs ``weeks`` weeks. Everything derives from ``seed``.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from . import generator_activity, generator_bias, generator_drift, generator_faults as faults
from .generator_people import PLANS, Customer, Employee, customer_week, employee_week, plan_sizes
from .text_corpus import AGENT_REPLIES, pools

WEEK, DAY, HOUR = 7 * 86400, 86400, 3600
DEFAULT_CUSTOMERS, DEFAULT_EMPLOYEES = 300, 60
EVENTS_PER_WEEK_DEFAULT = 730  # what 300 customers + 60 employees produce per week (measured, seeds 7-9)
# the same with activity events, per mode (measured, seeds 7-9): the population scales with these
EVENTS_PER_WEEK = {("subscription", False): EVENTS_PER_WEEK_DEFAULT, ("subscription", True): 1350,
                   ("shop", True): 1280}
MODES = ("subscription", "shop")
#: Days without activity after which a shop customer counts as gone, when nobody says otherwise
#: (the learners' ``churn_inactive_days`` when it exists).
CHURN_INACTIVE_DAYS_DEFAULT = 45.0
TEAM_NAMES = ("support", "sales", "engineering", "operations", "marketing", "finance", "product", "people",
              "design", "data", "success", "legal")


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 7
    customers: int | None = None  # None: scaled with limit (see module docstring)
    employees: int | None = None
    teams: int | None = None
    weeks: int = 26
    start: str = "2026-05-01T00:00:00+00:00"
    source: str = "generator"
    bad_record_rate: float = 0.0
    company: str = "Northwind"
    shift: str | None = None  # a planted drift, e.g. "channel:email@week10" (generator_drift)
    bias: str | None = None  # a planted bias for the audit's tests, e.g. "plan:business" (see generator_bias)
    mode: str = "subscription"  # or "shop": no subscriptions, churn is stopping for good
    activity: bool = True  # usage and purchase events (generator_activity)


class SmbSimulation:
    """Iterate ``records(limit)``; then ``ground_truth()`` says who churned or left, as of the last record."""

    def __init__(self, config: GeneratorConfig | None = None):
        self.config = config or GeneratorConfig()
        if not 0.0 <= self.config.bad_record_rate < 1.0:
            raise ValueError("bad_record_rate must be in [0, 1)")
        start = datetime.fromisoformat(self.config.start)
        if start.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2026-05-01T00:00:00+00:00")
        generator_bias.parse_bias(self.config.bias)
        if self.config.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.config.mode!r}")
        if self.config.mode == "shop" and not self.config.activity:
            raise ValueError("shop mode needs activity: a shop's customers are seen through their orders")
        self.start_ts = int(start.timestamp())
        midnight = start.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self.t0 = int(midnight.timestamp())  # times of day count from the start date's midnight (UTC)
        self.workdays = [d for d in range(7) if (midnight + timedelta(days=d)).weekday() < 5]
        self.weekend = [d for d in range(7) if d not in self.workdays]
        self._setup(None)

    # ------------------------------------------------------------------ population
    def _setup(self, limit: int | None) -> None:
        cfg = self.config
        per_week = EVENTS_PER_WEEK[cfg.mode, cfg.activity]
        scale = 1.0 if limit is None else limit / (per_week * max(1, cfg.weeks))
        n_cust = cfg.customers if cfg.customers is not None else max(8, round(DEFAULT_CUSTOMERS * scale))
        n_emp = cfg.employees if cfg.employees is not None else max(6, round(DEFAULT_EMPLOYEES * scale))
        n_teams = cfg.teams if cfg.teams is not None else max(2, round(n_emp / 7.5))
        self.rng = random.Random(f"pulsewire-generator:{cfg.seed}")
        # its own RNG: the other events are the same with activity on or off
        self.activity_rng = random.Random(f"pulsewire-generator-activity:{cfg.seed}")
        self.habits: dict[str, generator_activity.Habit] = {}
        self.activity_seq: dict[str, int] = {}
        self.last_active: dict[str, str] = {}  # customer id -> iso time of its last activity or text, once yielded
        self.text = pools(cfg.company)
        self.planted = generator_drift.planted(cfg.shift, cfg.seed, self.text)
        self.heap: list = []
        self.n_pushed = 0
        self.text_labels: dict[str, int] = {}
        self.customers: list[Customer] = []
        self.employees: list[Employee] = []
        self.ticket_no = 0
        self.week = 0
        self.last_t: str | None = None  # occurred_at of the last good record yielded
        self.emitted_end: dict[str, str] = {}  # entity id -> iso time of its cancellation / exit, once yielded
        self.burnout_t: dict[str, int] = {}
        self.churned_pending = 0
        self.replacements: list[tuple[int, str]] = []  # (week, team_id)
        self.sizes = {"customers": n_cust, "employees": n_emp, "teams": n_teams}
        sizes = plan_sizes(self.rng, n_emp, n_teams)
        self.teams: list[dict] = []
        self.team_of: dict[str, dict] = {}
        self.agents: list[Employee] = []
        for i, size in enumerate(sizes):
            name = TEAM_NAMES[i % len(TEAM_NAMES)] + ("" if i < len(TEAM_NAMES) else f"-{i // len(TEAM_NAMES) + 1}")
            team = {"id": f"team-{name}", "channel": f"slack:#{name}", "effect": self.rng.gauss(0, 0.1),
                    "offset": i % 2}
            self.teams.append(team)
            self.team_of[team["id"]] = team
            for _ in range(size):
                self.new_employee(team["id"], 0)
        for _ in range(n_cust):
            self.new_customer(0)

    def new_customer(self, week: int) -> Customer:
        rng, w = self.rng, self.config.weeks
        c = Customer(f"cus-{len(self.customers) + 1:05d}", rng.betavariate(1.3, 3.5), week)
        c.plan = rng.choices((0, 1, 2), (0.55, 0.35, 0.10))[0]
        c.renew_day = rng.randrange(7)
        if rng.random() < min(0.9, max(0.02, 1.4 * c.p - 0.1)):
            c.churn_week = week + 5 + int(rng.random() * 1.2 * w)
            c.lead = rng.randint(3, 8)
            c.quiet = rng.random() < 0.25
        self.customers.append(c)
        t = self.at(week, rng.choice(self.workdays), rng.uniform(8, 19))
        if self.config.mode != "shop":
            self.push(c, t, "account", "signup", customer_id=c.id, plan=PLANS[c.plan][0], mrr=PLANS[c.plan][1])
        if self.config.activity:
            generator_activity.join(self, c, week)
        return c

    def new_employee(self, team_id: str, week: int) -> Employee:
        rng, w = self.rng, self.config.weeks
        team = self.team_of[team_id]
        e = Employee(f"emp-{len(self.employees) + 1:04d}", team_id,
                     min(1.0, max(0.0, rng.betavariate(2, 5) + team["effect"])), week, rng.random() < 0.7)
        e.habit = rng.uniform(0, 5)
        if rng.random() < min(0.9, max(0.01, 1.3 * e.q - 0.12)):
            e.onset = week + rng.randint(1, int(1.3 * w))
            e.ramp = rng.randint(4, 10)
            if rng.random() < 0.65:
                e.exit_week, e.exit_type = e.onset + e.ramp + rng.randint(1, 6), "voluntary"
        u = rng.random()
        if u < 0.10:  # leaves for reasons unrelated to burnout, without warning
            other = week + rng.randint(3, int(1.5 * w))
            if e.exit_week is None or other < e.exit_week:
                e.exit_week, e.exit_type = other, ("voluntary" if u < 0.06 else "involuntary")
        self.employees.append(e)
        t = self.at(week, rng.choice(self.workdays), rng.uniform(9, 12))
        self.push(e, t, "hr", "hire", employee_id=e.id, team_id=team_id, consent=e.consent)
        return e

    # ------------------------------------------------------------------ helpers used by the behaviour
    def at(self, week: int, day: int, hour: float) -> int:
        return max(self.start_ts, self.t0 + week * WEEK + day * DAY + int(hour * HOUR))

    def push(self, who, t: int, kind: str, type_: str, label: int | None = None, **fields) -> dict:
        if kind == "activity":  # numbered apart, so that the other events' ids do not depend on activity
            self.activity_seq[who.id] = n = self.activity_seq.get(who.id, 0) + 1
            digest = hashlib.sha1(f"{self.config.seed}:{who.id}:activity:{n}".encode()).hexdigest()
        else:
            who.seq += 1
            digest = hashlib.sha1(f"{self.config.seed}:{who.id}:{who.seq}".encode()).hexdigest()
        rec = {"schema_version": 1, "event_id": "gen-" + digest[:16], "source": self.config.source, "kind": kind,
               "type": type_, "occurred_at": datetime.fromtimestamp(t, timezone.utc).isoformat()}
        rec.update(fields)
        if label is not None and self.planted is not None:
            label = self.planted.apply(rec, label, (t - self.t0) // WEEK)
        if label is not None:
            self.text_labels[rec["event_id"]] = label
        heapq.heappush(self.heap, (t, self.n_pushed, rec))
        self.n_pushed += 1
        return rec

    def activity_week(self, c: Customer, w: int, ramp: float, incident: float) -> None:
        if self.config.activity:
            generator_activity.customer_week(self, c, w, ramp, incident)

    def sentences(self, who: str, label: int, n: int = 1) -> str:
        pool = self.text[who][label]
        return " ".join(pool[self.rng.randrange(len(pool))] for _ in range(n))

    def agent_reply(self) -> tuple[str, str] | None:
        if not self.agents:
            return None
        agent = self.agents[self.rng.randrange(len(self.agents))]
        return agent.id, AGENT_REPLIES[self.rng.randrange(len(AGENT_REPLIES))]

    def next_ticket(self) -> str:
        self.ticket_no += 1
        return f"tkt-{self.config.seed}-{self.ticket_no:06d}"

    # ------------------------------------------------------------------ the stream
    def _simulate_week(self, w: int) -> None:
        rng = self.rng
        for _ in range(self.churned_pending):
            self.new_customer(w)
        self.churned_pending = 0
        for _, team_id in [r for r in self.replacements if r[0] == w]:
            self.new_employee(team_id, w)
        self.replacements = [r for r in self.replacements if r[0] != w]
        staff = [e for e in self.employees if e.active and (e.exit_week is None or e.exit_week > w)]
        self.agents = [e for e in staff if e.team == self.teams[0]["id"]] or staff
        for c in list(self.customers):
            if c.active and c.signup_week < w:
                customer_week(self, c, w)
        shocks = {t["id"]: (0.2 if rng.random() < 0.08 else 0.0) for t in self.teams}
        generator_bias.apply(self, shocks)
        for e in list(self.employees):
            if e.active and e.hired_week < w:
                employee_week(self, e, w, shocks[e.team])

    def _good_records(self, limit: int | None):
        weeks, w, idle = self.config.weeks, 0, 0
        while limit is not None or w < weeks:  # events spilling past the last week (late ratings) are dropped
            self.week = w + 1  # weeks begun so far
            pushed = self.n_pushed
            self._simulate_week(w)
            idle = idle + 1 if self.n_pushed == pushed else 0
            if idle > 104:
                raise RuntimeError("the simulated SMB produces no events (no customers and no employees?)")
            end = self.t0 + (w + 1) * WEEK
            while self.heap and self.heap[0][0] < end:
                yield heapq.heappop(self.heap)[2]
            w += 1

    def records(self, limit: int | None = None):
        """Yield JSON-ready dicts (and, with ``bad_record_rate``, some bad dicts/bytes) in time order."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        self._setup(limit)
        rate, n = self.config.bad_record_rate, 0
        bad_rng = random.Random(f"pulsewire-generator-faults:{self.config.seed}")
        n_bad = 0
        for rec in self._good_records(limit):
            while rate and bad_rng.random() < rate:
                if limit is not None and n >= limit:
                    return
                fault = faults.FAULTS[n_bad % len(faults.FAULTS)]
                n_bad += 1
                n += 1
                filler = self.text["customer"][-1][bad_rng.randrange(len(self.text["customer"][-1]))]
                yield faults.make_bad(rec, fault, filler)  # own RNG: the good stream is unchanged
            if limit is not None and n >= limit:
                return
            self._note(rec)
            n += 1
            yield rec

    def _note(self, rec: dict) -> None:
        self.last_t = rec["occurred_at"]
        acted = rec["kind"] == "activity" or (rec.get("text") and rec.get("author_role") != "agent")
        if acted and rec.get("customer_id"):
            self.last_active[rec["customer_id"]] = rec["occurred_at"]
        if rec["type"] == "cancellation":
            self.emitted_end[rec["customer_id"]] = rec["occurred_at"]
        elif rec["type"] == "exit":
            self.emitted_end[rec["employee_id"]] = rec["occurred_at"]

    # ------------------------------------------------------------------ routing and truth
    @staticmethod
    def topic_for(rec) -> str:
        return faults.topic_for(rec)

    @staticmethod
    def key_for(rec) -> str:
        return faults.key_for(rec)

    def ground_truth(self, churn_inactive_days: float | None = None) -> dict:
        """Who churned / burned out / left, as of the last record yielded so far.

        In shop mode a customer churned when it stopped for good and ``churn_inactive_days`` (default:
        the learners' setting, else 45) have passed since its last activity: ``churned_at`` is that moment.
        """
        last = datetime.fromisoformat(self.last_t).timestamp() if self.last_t else -math.inf
        days = default_inactive_days() if churn_inactive_days is None else float(churn_inactive_days)
        customers = {}
        for c in self.customers:
            ended = self.emitted_end.get(c.id)
            if self.config.mode == "shop":
                ended = None
                seen = self.last_active.get(c.id)
                if not c.active and seen is not None:  # stopped for good: never active after ``seen``
                    at = datetime.fromisoformat(seen) + timedelta(days=days)
                    ended = at.isoformat() if at.timestamp() <= last else None  # later: censored
            customers[c.id] = {"churn_propensity": round(c.p, 4), "churned": ended is not None, "churned_at": ended,
                               "stopped": not c.active, "last_active_at": self.last_active.get(c.id),
                               "signup_week": c.signup_week,
                               "quiet": c.quiet}
        employees = {}
        for e in self.employees:
            bt = self.burnout_t.get(e.id)
            employees[e.id] = {"team_id": e.team, "burnout_propensity": round(e.q, 4),
                               "burned_out": bt is not None and bt <= last, "left": e.id in self.emitted_end,
                               "left_at": self.emitted_end.get(e.id),
                               "exit_type": e.exit_type if e.id in self.emitted_end else None,
                               "consent": e.consent, "hired_week": e.hired_week}
        return {"customers": customers, "employees": employees,
                "config": {**asdict(self.config), **self.sizes, "weeks_simulated": self.week,
                           "last_record_at": self.last_t, "churn_inactive_days": days,
                           "team_sizes": self.team_sizes()}}

    def team_sizes(self) -> dict[str, int]:
        sizes = {t["id"]: 0 for t in self.teams}
        for e in self.employees:
            if e.id not in self.emitted_end:
                sizes[e.team] += 1
        return sizes


def default_inactive_days() -> float:
    """The learners' ``churn_inactive_days`` when their configuration has one, else 45."""
    try:
        from pulsewire.models.learners.processor import LearnerConfig
    except ImportError:  # the generator alone, without the learners
        return CHURN_INACTIVE_DAYS_DEFAULT
    return float(getattr(LearnerConfig(), "churn_inactive_days", CHURN_INACTIVE_DAYS_DEFAULT))


def recent_start(now: datetime, weeks: int = GeneratorConfig.weeks, base: str = GeneratorConfig.start) -> str:
    """``base`` moved by whole weeks to the latest start whose ``weeks`` of simulated time end by ``now``.

    Whole weeks keep the weekdays, so the records are the same but for their times. A demo uses it so
    that its data are recent, as a live business's are: the raw-text retention and the boards' default
    time ranges then keep them, whatever the date.

    >>> recent_start(datetime(2026, 12, 1, 9, tzinfo=timezone.utc))
    '2026-05-29T00:00:00+00:00'
    >>> recent_start(datetime(2026, 10, 30, tzinfo=timezone.utc))  # ends exactly then: unchanged
    '2026-05-01T00:00:00+00:00'
    >>> recent_start(datetime(2026, 10, 29, tzinfo=timezone.utc))  # earlier: moved back
    '2026-04-24T00:00:00+00:00'
    """
    b = datetime.fromisoformat(base)
    shift = (now - (b + timedelta(weeks=weeks))) // timedelta(weeks=1)
    return (b + timedelta(weeks=shift)).isoformat()
