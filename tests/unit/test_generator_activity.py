"""The generator's usage and purchase events, and its shop mode: valid, deterministic, declining before churn."""

from __future__ import annotations

import collections
import hashlib
import json
import statistics
from datetime import datetime, timedelta

import pytest

from pulsewire.models.learners.evaluation import positives_from_truth, rank_auc
from pulsewire.schemas.events import parse_event
from pulsewire.streams.connectors.generator import WEEK, GeneratorConfig, SmbSimulation
from pulsewire.streams.evaluate import generate

SIZE = {"customers": 300, "employees": 12, "teams": 2}


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _digest(records) -> str:
    return hashlib.sha256("".join(json.dumps(r, sort_keys=True) for r in records).encode()).hexdigest()


@pytest.fixture(scope="module", params=["subscription", "shop"])
def run(request):
    sim = SmbSimulation(GeneratorConfig(seed=5, mode=request.param, **SIZE))
    records = list(sim.records())
    return sim, records, sim.ground_truth(churn_inactive_days=30)


def test_same_seed_same_activity_other_seed_differs():
    a = _digest(SmbSimulation(GeneratorConfig(seed=11, mode="shop")).records(limit=3000))
    assert a == _digest(SmbSimulation(GeneratorConfig(seed=11, mode="shop")).records(limit=3000))
    assert a != _digest(SmbSimulation(GeneratorConfig(seed=12, mode="shop")).records(limit=3000))


def test_every_activity_record_is_valid_and_a_few_per_customer_week(run):
    sim, records, _ = run
    activity = [r for r in records if r["kind"] == "activity"]
    for r in activity:
        ev = parse_event(r)
        assert ev.kind == "activity" and ev.customer_id
        if r["type"] == "order_placed":
            assert ev.is_purchase and r["amount"] > 0 and r["currency"] == "EUR" and r["quantity"] >= 1 and r["product"]
    types = collections.Counter(r["type"] for r in activity)
    assert len(types) == 4 and types["order_placed"] > 500
    customer_weeks = SIZE["customers"] * sim.week
    assert 1.0 < len(activity) / customer_weeks < 4.0  # moderate volume


def test_usage_and_purchases_fall_in_a_churners_lead_weeks(run):
    sim, records, _ = run
    usage = collections.Counter()
    orders = collections.Counter()
    for r in records:
        if r["kind"] == "activity":
            key = (r["customer_id"], int((_ts(r["occurred_at"]) - sim.t0) // WEEK))
            (orders if r["type"] == "order_placed" else usage)[key] += 1
    lead, other = collections.defaultdict(list), collections.defaultdict(list)
    for c in sim.customers:
        stop = c.churn_week if c.churn_week is not None else sim.week
        for w in range(c.signup_week + 1, min(stop, sim.week)):
            side = lead if c.churn_week is not None and w >= c.churn_week - c.lead + c.lead // 2 else other
            side["usage"].append(usage[c.id, w])
            side["orders"].append(orders[c.id, w])
            if c.quiet:
                side["quiet"].append(usage[c.id, w])
    mean = statistics.fmean
    assert mean(lead["usage"]) < 0.6 * mean(other["usage"])  # the second half of the lead
    assert mean(lead["orders"]) < 0.6 * mean(other["orders"])
    assert mean(lead["quiet"]) < 0.6 * mean(other["usage"])  # quiet churners decline too


def test_shop_mode_has_no_account_events_and_subscription_mode_keeps_them(run):
    sim, records, _ = run
    accounts = [r for r in records if r["kind"] == "account"]
    if sim.config.mode == "shop":
        assert accounts == []
        first = {}
        for r in records:
            first.setdefault(r.get("customer_id"), r)
        late = [c for c in sim.customers if c.signup_week > 0 and c.id in first]
        assert late and all(first[c.id]["type"] == "order_placed" for c in late)  # they appear with an order
    else:
        assert {r["type"] for r in accounts} >= {"signup", "renewal", "cancellation"}


def test_truth_last_active_and_churn_as_stopping_for_good(run):
    sim, records, truth = run
    end = _ts(records[-1]["occurred_at"])
    last = {}
    for r in records:
        if r.get("customer_id") and (r["kind"] == "activity" or (r.get("text") and r.get("author_role") != "agent")):
            last[r["customer_id"]] = r["occurred_at"]
    customers = truth["customers"]
    assert {c: v["last_active_at"] for c, v in customers.items() if v["last_active_at"]} == last
    churned = {c: v for c, v in customers.items() if v["churned"]}
    assert len(churned) >= 15
    if sim.config.mode == "subscription":
        cancelled = {r["customer_id"]: r["occurred_at"] for r in records if r["type"] == "cancellation"}
        assert {c: v["churned_at"] for c, v in churned.items()} == cancelled
        return
    for cid, v in churned.items():
        assert v["stopped"]
        at = datetime.fromisoformat(v["last_active_at"]) + timedelta(days=30)
        assert v["churned_at"] == at.isoformat() and _ts(v["churned_at"]) <= end
        assert not any(r.get("customer_id") == cid and r["occurred_at"] > v["last_active_at"]
                       and r["kind"] == "activity" for r in records)
    censored = [v for v in customers.values() if v["stopped"] and not v["churned"]]
    assert censored and all(_ts(v["last_active_at"]) + 30 * 86400 > end for v in censored)
    stayers = [v for v in customers.values() if not v["stopped"]]
    assert stayers and not any(v["churned"] for v in stayers)


def test_positives_by_inactivity_match_the_shop_truth_and_follow_n(run):
    sim, _, truth = run
    if sim.config.mode != "shop":
        pytest.skip("shop truth")
    same = positives_from_truth(truth, churn_definition="inactivity", inactive_days=30)["churn"]
    assert same == positives_from_truth(truth)["churn"] and same
    longer = positives_from_truth(truth, churn_definition="inactivity", inactive_days=60)["churn"]
    assert set(longer) < set(same)  # a longer N: fewer established by the end, none new


def test_activity_off_is_the_same_stream_without_activity():
    on = SmbSimulation(GeneratorConfig(seed=9, **SIZE))
    off = SmbSimulation(GeneratorConfig(seed=9, activity=False, **SIZE))
    with_activity = list(on.records())
    assert any(r["kind"] == "activity" for r in with_activity)
    assert [r for r in with_activity if r["kind"] != "activity"] == list(off.records())
    assert not any(r["kind"] == "activity" for r in SmbSimulation(GeneratorConfig(seed=9, activity=False)).records(5000))
    big = SmbSimulation(GeneratorConfig(seed=9, activity=False))
    list(big.records(limit=20_000))
    assert big.sizes == {"customers": 316, "employees": 63, "teams": 8}  # today's population without activity


def test_no_activity_evaluation_keeps_the_customers_and_their_churn():
    sim, records = generate(3, 4000, activity=False)
    assert records and not any(r.get("kind") == "activity" for r in records if isinstance(r, dict))
    sim_on, records_on = generate(3, 4000)
    assert [r for r in records_on if r.get("kind") != "activity"] == records
    assert sim.ground_truth() == sim_on.ground_truth()


def test_a_shop_needs_activity_and_modes_are_checked():
    with pytest.raises(ValueError, match="shop mode needs activity"):
        SmbSimulation(GeneratorConfig(mode="shop", activity=False))
    with pytest.raises(ValueError, match="mode must be one of"):
        SmbSimulation(GeneratorConfig(mode="marketplace"))


@pytest.mark.parametrize("mode", ["subscription", "shop"])
def test_an_overdue_purchase_separates_churners_without_any_learner(mode):
    """How overdue the next order is (time since the last one over the customer's median gap) at the
    last record before the churn time ranks churners above customers who stay (their last record)."""
    sim = SmbSimulation(GeneratorConfig(seed=13, mode=mode, **SIZE))
    records = list(sim.records())
    truth = sim.ground_truth(churn_inactive_days=45)["customers"]
    orders = collections.defaultdict(list)
    for r in records:
        if r["type"] == "order_placed":
            orders[r["customer_id"]].append(_ts(r["occurred_at"]))
    end = _ts(records[-1]["occurred_at"])
    stays = {c.id for c in sim.customers if c.churn_week is None}
    churners, stayers = [], []
    for cid, v in truth.items():
        t_ref = _ts(v["churned_at"]) - 1 if v["churned"] else end
        seen = [t for t in orders[cid] if t < t_ref]
        if len(seen) < 3:
            continue
        overdue = (t_ref - seen[-1]) / statistics.median(b - a for a, b in zip(seen, seen[1:]))
        if v["churned"]:
            churners.append(overdue)
        elif cid in stays:
            stayers.append(overdue)
    assert len(churners) >= 20 and len(stayers) >= 150
    assert rank_auc(churners, stayers) > 0.8


def test_evaluate_says_what_it_measured_and_refuses_a_shop_with_cancellations(tmp_path):
    from typer.testing import CliRunner

    from pulsewire.streams.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["evaluate", "--fast", "--json", "-n", "3000", "--mode", "shop", "--no-activity",
                              "--data-dir", str(tmp_path / "ev")])
    assert out.exit_code == 0, out.output
    run = json.loads(out.stdout.strip().splitlines()[-1])["run"]
    assert (run["generator_mode"], run["churn_definition"], run["activity"]) == ("shop", "inactivity", False)
    assert run["events"] < 3000  # the activity events were removed from the 3000 generated
    bad = runner.invoke(app, ["evaluate", "--fast", "--mode", "shop", "--churn-definition", "subscription",
                              "--data-dir", str(tmp_path / "ev")])
    assert bad.exit_code == 2 and "no subscriptions" in bad.output and "Traceback" not in bad.output


def test_evaluate_puts_a_ranking_by_the_hidden_propensity_beside_the_alerts(tmp_path):
    from typer.testing import CliRunner

    from pulsewire.models.learners.evaluation import propensity_reference
    from pulsewire.streams.cli import app

    out = CliRunner().invoke(app, ["evaluate", "--fast", "--json", "-n", "6000", "--data-dir", str(tmp_path / "ev")])
    assert out.exit_code == 0, out.output
    churn = json.loads(out.stdout.strip().splitlines()[-1])["churn"]
    ranking = churn["propensity_ranking"]
    assert ranking["recall"] >= (churn["model"]["recall"] or 0.6)
    assert 0.0 < ranking["precision"] <= 1.0 and ranking["ranked"] <= churn["entities"]
    assert churn["model"]["held"] == {"threshold": 0.35, "days": 2.0}   # the rule its activity customers had
    text = CliRunner().invoke(app, ["evaluate", "--fast", "-n", "6000", "--data-dir", str(tmp_path / "ev")])
    assert f"hidden propensity (who, not when): precision {ranking['precision']:.2f}" in text.output
    # a file's truth without propensities (pulsewire evaluate --input) gets no such line
    fig = {"churn": {"model": {"recall": 0.5}}}
    propensity_reference(fig, {"customers": {"c1": {"churned": True}}}, {"c1": 1.0}, {"c1"})
    assert "propensity_ranking" not in fig["churn"]
