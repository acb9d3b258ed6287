"""The planted bias changes how a group looks, never who churns or burns out."""

import pytest

from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation


def _run(bias, n=8000):
    sim = SmbSimulation(GeneratorConfig(seed=11, bias=bias, activity=False))
    records = [r for r in sim.records(limit=n) if isinstance(r, dict)]
    return sim, records


def _negative_share(sim, records, customers):
    labels = [sim.text_labels[r["event_id"]] for r in records
              if r.get("customer_id") in customers and r["event_id"] in sim.text_labels and not r.get("employee_id")]
    return sum(1 for x in labels if x < 0) / len(labels), len(labels) / len(customers)


def test_a_biased_plan_writes_more_negative_text_at_the_same_churn_draws():
    clean, clean_records = _run(None)
    biased, biased_records = _run("plan:business")
    n0 = clean.sizes["customers"]  # the customers created before the first week: drawn before any bias acts
    for a, b in zip(clean.customers[:n0], biased.customers[:n0]):
        assert (a.id, a.p, a.churn_week, a.lead, a.quiet) == (b.id, b.p, b.churn_week, b.lead, b.quiet)
    business = {c.id for c in clean.customers[:n0]
                if next(r["plan"] for r in clean_records if r.get("customer_id") == c.id and r.get("plan")) == "business"}
    others = {c.id for c in clean.customers[:n0]} - business
    assert len(business) >= 5
    neg_clean, texts_clean = _negative_share(clean, clean_records, business)
    neg_biased, texts_biased = _negative_share(biased, biased_records, business)
    assert neg_biased > neg_clean + 0.07 and texts_biased > texts_clean * 1.2, (neg_clean, neg_biased, texts_clean, texts_biased)
    other_clean, _ = _negative_share(clean, clean_records, others)
    other_biased, _ = _negative_share(biased, biased_records, others)
    assert abs(other_biased - other_clean) < 0.05  # the other plans look as before


def test_a_team_bias_raises_that_teams_strain_only():
    clean, clean_records = _run(None)
    biased, biased_records = _run("team:team-sales")

    def overtime(records, team):
        hours = [r["hours"] for r in records if r.get("type") == "overtime" and r.get("team_id") == team]
        return sum(hours) / len(hours)

    assert overtime(biased_records, "team-sales") > overtime(clean_records, "team-sales") + 2
    assert abs(overtime(biased_records, "team-engineering") - overtime(clean_records, "team-engineering")) < 1


def test_a_bias_that_names_no_known_group_is_refused():
    with pytest.raises(ValueError, match="bias must be"):
        SmbSimulation(GeneratorConfig(bias="plan:platinum"))
