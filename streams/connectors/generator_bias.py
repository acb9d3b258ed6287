"""A planted bias for testing the bias audit: one group's alerts made unfair on purpose.

``GeneratorConfig(bias="plan:business")`` (or ``"team:team-sales"``) makes the people of that group
*look* distressed without being any likelier to churn or burn out: every week they write more
negative text and open more tickets (customers), or report more strain (employees), while who
churns, burns out or leaves, and when, stays drawn exactly as without the bias. A fair model would
learn that these signals mean less in that group; an online model fed the same features gives the
group more alerts at the same churn or burnout rate. ``pulsewire audit`` must find exactly that
group, and nothing on the same seed without the bias.

>>> parse_bias("plan:business")
('plan', 'business')
>>> parse_bias(None) is None
True
>>> parse_bias("region:north")
Traceback (most recent call last):
...
ValueError: bias must be 'plan:<starter|growth|business>' or 'team:<team id>', got 'region:north'
"""

from __future__ import annotations

from .generator_people import PLANS

#: How much each week's hidden distress is raised in a biased plan: about what a customer shows two
#: thirds of the way through the ramp before a cancellation, so that the unfair alerts it causes stand
#: out of the audit's many comparisons (its flag is corrected for their number).
PLAN_LIFT = 0.6
#: How much each week's strain is raised in a biased team.
TEAM_LIFT = 0.35


def parse_bias(spec: str | None) -> tuple[str, str] | None:
    if not spec:
        return None
    attribute, _, group = spec.partition(":")
    if attribute == "plan" and group in [name for name, _ in PLANS]:
        return attribute, group
    if attribute == "team" and group.startswith("team-") and len(group) > 5:
        return attribute, group
    raise ValueError(f"bias must be 'plan:<{'|'.join(n for n, _ in PLANS)}>' or 'team:<team id>', got {spec!r}")


def apply(sim, shocks: dict[str, float]) -> None:
    """Called once a week between the customers' and the employees' turn. A customer's ``carry`` is
    the part of next week's distress that an incident leaves (``customer_week`` adds it and decays
    it), so raising it to ``PLAN_LIFT`` raises the observable distress without touching the churn draw;
    a team's ``shocks`` entry is added to this week's strain of each of its employees the same way."""
    bias = parse_bias(sim.config.bias)
    if bias is None:
        return
    attribute, group = bias
    if attribute == "plan":
        for c in sim.customers:
            if c.active and PLANS[c.plan][0] == group:
                c.carry = max(c.carry, PLAN_LIFT)
    elif group in shocks:
        shocks[group] += TEAM_LIFT
