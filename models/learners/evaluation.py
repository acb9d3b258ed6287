"""Quality figures from what the pipeline emitted, against the generator's ground truth.

Inputs are plain lists of dicts, the same whether they come from the real
pipeline (ClickHouse tables ``predictions`` and ``learn_examples``) or from the
in-process replay:

* ``examples``: training examples (``p`` = probability predicted *before* the label was known, ``b`` = the
  baseline's score, ``y`` = label, ``n_labels`` of the model that predicted) → progressive-validation ROC AUC;
* ``predictions``: every prediction in event time (``entity_id``, ``t``, ``probability``, ``baseline``,
  ``alerted``) → alerts per entity, precision / recall at the alert threshold, lead time.

Episode-level definitions (simulated time):

* churn: a customer is *positive* if it cancelled; an alert counts if it came before the cancellation.
  Precision is over customers first alerted at least ``censor_days`` before the end of the stream (later
  alerts cannot be checked yet); recall is over customers that cancelled after the model could alert.
* every proportion comes with its 95% Wilson interval (``precision_interval``, ``recall_interval``): the
  figures rest on a few dozen entities, so a target met or missed by a few points is within the draw.
* burnout: an employee is *positive* if they burned out (ground truth ``burned_out``); lead time is measured
  to the voluntary exit of those who left. The pipeline stores burnout predictions and examples only for
  employees who consented, so ``pulsewire evaluate`` scores burnout over the consenting employees
  (``positives_from_truth(..., consenting_only=True)``); the in-process replay stores nothing and scores everyone.

>>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
0.75
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from .policy import DAY, AlertPolicy


def rank_auc(pos: list[float], neg: list[float]) -> float:
    """Mann-Whitney ROC AUC of positive against negative scores, ties counted half (both non-empty).

    >>> rank_auc([0.9, 0.5], [0.5, 0.1])
    0.875
    """
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += (i + 1 + j) / 2 * sum(y for _, y in ranked[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def roc_auc(scores: list[float], labels: list[int]) -> float | None:
    """Mann-Whitney ROC AUC with ties counted half."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    return round(rank_auc(pos, neg), 4)


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """Wilson score interval (95% by default) of a proportion ``k / n``; None when ``n`` is 0.

    The episode figures rest on a few dozen customers, so the interval says how far a figure can move
    with the draw: the same 0.6 is [0.31, 0.83] over 10 alerts and [0.50, 0.69] over 100.

    >>> wilson(6, 10), wilson(60, 100), wilson(0, 0)
    ([0.313, 0.832], [0.502, 0.691], None)
    """
    if n <= 0:
        return None
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def _median(xs):
    return round(statistics.median(xs), 1) if xs else None


def replay_alerts(predictions: list[dict], policy: AlertPolicy, score_key: str) -> dict[str, list[float]]:
    """Alert times per entity if ``policy`` had been applied to ``score_key`` (used for the baseline)."""
    by_entity = defaultdict(list)
    for p in predictions:
        by_entity[p["entity_id"]].append(p)
    out = {}
    for eid, preds in by_entity.items():
        st: dict = {}
        ts = [p["t"] for p in sorted(preds, key=lambda p: p["t"]) if policy.decide(st, float(p[score_key]), p["t"])]
        if ts:
            out[eid] = ts
    return out


def episode_figures(alert_times: dict[str, list[float]], positives: dict[str, float | None], entities: set[str],
                    end_t: float, warm_t: float, censor_days: float = 28.0) -> dict:
    """Precision, recall, median lead time, alerts per alerted entity and per caught episode.

    The generator gives each entity at most one episode (one churn, one burnout), so alerts per
    alerted entity is alerts per episode, false alarms included; alerts per caught episode counts
    only the alerts a true positive got before its outcome.

    ``positives``: entity → time of the outcome (cancellation / exit) or None when positive without an
    end event yet (burned out, still employed).
    """
    alerted = {e: ts for e, ts in alert_times.items() if e in entities}
    judged = {e: ts for e, ts in alerted.items() if ts[0] <= end_t - censor_days * DAY}
    tp = 0
    for e, ts in judged.items():
        if e in positives and (positives[e] is None or ts[0] < positives[e]):
            tp += 1
    eligible = {e: t for e, t in positives.items() if e in entities and (t is None or t >= warm_t)}
    caught, leads, per_episode = 0, [], []
    for e, t_out in eligible.items():
        ts = [t for t in alerted.get(e, []) if t_out is None or t < t_out]
        if ts:
            caught += 1
            per_episode.append(len(ts))
            if t_out is not None:
                leads.append((t_out - ts[0]) / DAY)
    per_entity = [len(ts) for ts in alerted.values()]
    return {
        "precision": round(tp / len(judged), 3) if judged else None,
        "recall": round(caught / len(eligible), 3) if eligible else None,
        "precision_interval": wilson(tp, len(judged)), "recall_interval": wilson(caught, len(eligible)),
        "median_lead_days": _median(leads),
        "alerts_per_alerted_entity": round(sum(per_entity) / len(per_entity), 3) if per_entity else None,
        "max_alerts_per_entity": max(per_entity) if per_entity else 0,
        "alerts_per_caught_episode": round(sum(per_episode) / len(per_episode), 3) if per_episode else None,
        "alerted_entities": len(alerted), "judged_alerts": len(judged), "true_positives": tp,
        "positives": len(eligible), "caught": caught,
    }


def evaluate_model(model: str, examples: list[dict], predictions: list[dict], positives: dict[str, float | None],
                   end_t: float, policy: AlertPolicy, baseline_policy: AlertPolicy, min_positives: int) -> dict:
    ex = [e for e in examples if e["model"] == model]
    preds = [p for p in predictions if p["model"] == model]
    warm = [e for e in ex if e.get("n_pos", 0) >= min_positives]
    alerted_preds = [p for p in preds if p.get("n_pos", 0) >= min_positives]
    warm_t = min((p["t"] for p in alerted_preds), default=end_t)
    entities = {p["entity_id"] for p in preds}
    model_alerts = defaultdict(list)
    for p in sorted(preds, key=lambda p: p["t"]):
        if p.get("alerted"):
            model_alerts[p["entity_id"]].append(p["t"])
    # the baseline alerts only where the model could (after warm-up), for a like-for-like comparison
    base_alerts = replay_alerts([p for p in preds if p["t"] >= warm_t], baseline_policy, "baseline")
    return {
        "model": {
            "roc_auc": roc_auc([e["p"] for e in ex], [e["y"] for e in ex]),
            "roc_auc_after_warmup": roc_auc([e["p"] for e in warm], [e["y"] for e in warm]),
            **episode_figures(model_alerts, positives, entities, end_t, warm_t),
            "threshold": policy.threshold,
        },
        "baseline": {
            "roc_auc": roc_auc([e["b"] for e in ex if e.get("b") is not None],
                               [e["y"] for e in ex if e.get("b") is not None]),
            "roc_auc_after_warmup": roc_auc([e["b"] for e in warm if e.get("b") is not None],
                                            [e["y"] for e in warm if e.get("b") is not None]),
            **episode_figures(base_alerts, positives, entities, end_t, warm_t),
            "threshold": baseline_policy.threshold,
        },
        "examples": len(ex), "positive_examples": sum(e["y"] for e in ex), "examples_after_warmup": len(warm),
        "predictions": len(preds), "entities": len(entities),
        # positives among the predicted entities, warm-up aside: follows from the input and the truth alone
        # (the episode figures' "positives" count only outcomes after warm-up, which depends on timing)
        "positive_entities": sum(1 for e in positives if e in entities), "warm_at_day": round((warm_t - min(
            (p["t"] for p in preds), default=warm_t)) / DAY, 1),
    }


def propensity_ranking(propensity: dict[str, float], positives: dict, entities: set[str], recall: float) -> dict | None:
    """Precision of ranking ``entities`` by the simulator's hidden churn propensity, cut at the first rank where
    ``recall`` of the positives among them is reached: what knowing *who* is at risk (never *when*) gives. A
    reference for the alert precision, which a static ranking of this simulator cannot push far, since each
    customer's churn is drawn at random from their propensity. None without positives or propensities.

    >>> propensity_ranking({"a": 0.9, "b": 0.8, "c": 0.5, "d": 0.1}, {"a": 1.0, "c": 2.0}, {"a", "b", "c", "d"}, 0.6)
    {'precision': 0.667, 'recall': 1.0, 'ranked': 3}
    """
    ranked = sorted((e for e in entities if e in propensity), key=lambda e: -propensity[e])
    n_pos = sum(1 for e in ranked if e in positives)
    if not n_pos:
        return None
    caught = 0
    for k, e in enumerate(ranked, 1):
        caught += e in positives
        if caught / n_pos >= recall:
            return {"precision": round(caught / k, 3), "recall": round(caught / n_pos, 3), "ranked": k}
    return None


def note_held_alerts(fig: dict, cfg) -> None:
    """Adds the held-alert rule for customers who send activity events (``LearnerConfig.policy``) to the churn
    figures, where it applies: their alerts are judged with the rest, under a threshold of their own."""
    pol = cfg.policy("churn", activity=True)
    if fig.get("churn") and pol.hold_days > 0:
        fig["churn"]["model"]["held"] = {"threshold": pol.threshold, "days": pol.hold_days}


def propensity_reference(fig: dict, truth: dict, positives: dict, entities: set[str]) -> None:
    """Adds ``fig["churn"]["propensity_ranking"]`` at the model's recall (0.6 before it has one) when the truth
    holds the simulator's churn propensities (a file's truth may not)."""
    propensity = {c: v["churn_propensity"] for c, v in truth.get("customers", {}).items()
                  if v.get("churn_propensity") is not None}
    churn = fig.get("churn")
    if churn and propensity:
        churn["propensity_ranking"] = propensity_ranking(propensity, positives, entities,
                                                         churn["model"].get("recall") or 0.6)


def positives_from_truth(truth: dict, pseudonymise=None, consenting_only: bool = False,
                         churn_definition: str = "subscription",
                         inactive_days: float | None = None) -> dict[str, dict[str, float | None]]:
    """{"churn": {customer: churned_at}, "burnout": {employee (pseudonymised): left_at or None}}; with
    ``consenting_only``, burnout positives only among the employees who consented (the ones measured).

    >>> truth = {"customers": {}, "employees": {"e1": {"burned_out": True, "consent": True},
    ...                                         "e2": {"burned_out": True, "consent": False}}}
    >>> sorted(positives_from_truth(truth)["burnout"]), sorted(positives_from_truth(truth, consenting_only=True)["burnout"])
    (['e1', 'e2'], ['e1'])

    With ``churn_definition="inactivity"`` a customer is positive when it stopped for good (cancelled or
    stopped buying) and ``inactive_days`` have passed since its last activity before the last record: the
    churn time is that moment, when an inactivity rule can know it (see ``inactivity_churn``).
    """
    from datetime import datetime

    def ts(x):
        return datetime.fromisoformat(x).timestamp() if x else None

    pz = pseudonymise or (lambda x: x)
    if churn_definition == "inactivity":
        churn = inactivity_churn(truth, inactive_days)
    elif churn_definition == "subscription":
        churn = {cid: ts(c["churned_at"]) for cid, c in truth["customers"].items() if c.get("churned")}
    else:
        raise ValueError(f"churn_definition must be 'subscription' or 'inactivity', got {churn_definition!r}")
    burn = {}
    for eid, e in truth["employees"].items():
        if e.get("burned_out") and (e.get("consent") or not consenting_only):
            burn[pz(eid)] = ts(e["left_at"]) if e.get("left") and e.get("exit_type") == "voluntary" else None
    return {"churn": churn, "burnout": burn}


def inactivity_churn(truth: dict, inactive_days: float | None = None) -> dict[str, float]:
    """Customer -> the moment it counts as churned by inactivity: its last activity plus ``inactive_days``
    (default: the days the truth was made with), for customers who stopped for good, when that moment is
    not after the last record (later: censored). A truth without ``stopped`` keeps its own churn times.

    >>> truth = {"config": {"last_record_at": "2026-07-01T00:00:00+00:00", "churn_inactive_days": 45.0},
    ...          "customers": {"a": {"stopped": True, "last_active_at": "2026-05-01T00:00:00+00:00"},
    ...                        "b": {"stopped": True, "last_active_at": "2026-06-01T00:00:00+00:00"},
    ...                        "c": {"stopped": False, "last_active_at": "2026-04-01T00:00:00+00:00"}}}
    >>> from datetime import datetime, timezone
    >>> {k: datetime.fromtimestamp(v, timezone.utc).date().isoformat() for k, v in inactivity_churn(truth).items()}
    {'a': '2026-06-15'}
    >>> list(inactivity_churn(truth, 20.0))
    ['a', 'b']
    """
    from datetime import datetime

    config = truth.get("config", {})
    days = inactive_days if inactive_days is not None else config.get("churn_inactive_days")
    end = config.get("last_record_at")
    out = {}
    for cid, c in truth["customers"].items():
        if "stopped" not in c or days is None or end is None:
            if c.get("churned") and c.get("churned_at"):
                out[cid] = datetime.fromisoformat(c["churned_at"]).timestamp()
            continue
        if c["stopped"] and c.get("last_active_at"):
            at = datetime.fromisoformat(c["last_active_at"]).timestamp() + float(days) * DAY
            if at <= datetime.fromisoformat(end).timestamp():
                out[cid] = at
    return out


def with_churn_definition(truth: dict, churn_definition: str, inactive_days: float | None = None) -> dict:
    """``truth`` whose customers' ``churned``/``churned_at`` follow ``churn_definition`` (for code that reads
    those two fields, like the in-process replay's figures)."""
    if churn_definition == "subscription":
        return truth
    from datetime import datetime, timezone

    churn = positives_from_truth(truth, churn_definition=churn_definition, inactive_days=inactive_days)["churn"]
    def iso(cid):
        return datetime.fromtimestamp(churn[cid], timezone.utc).isoformat() if cid in churn else None

    customers = {cid: {**c, "churned": cid in churn, "churned_at": iso(cid)} for cid, c in truth["customers"].items()}
    return {**truth, "customers": customers}


def _interval(d: dict, key: str, of: str, noun: str) -> str:
    iv = d.get(f"{key}_interval")
    if not iv:
        return "n/a"
    return f"{iv[0]:.2f}-{iv[1]:.2f} ({d.get(of)} {noun})"


def format_table(fig: dict) -> str:
    """The quality table printed by ``pulsewire evaluate`` (and pasted in the README)."""
    rows = [("ROC AUC, progressive, delayed labels", "roc_auc", "{:.3f}"),
            ("  after warm-up", "roc_auc_after_warmup", "{:.3f}"),
            ("precision at alert threshold", "precision", "{:.2f}"),
            ("recall at alert threshold", "recall", "{:.2f}"),
            ("median lead time, days", "median_lead_days", "{:.1f}"),
            ("alerts per alerted entity", "alerts_per_alerted_entity", "{:.2f}"),
            ("alerts per caught episode", "alerts_per_caught_episode", "{:.2f}"),
            ("max alerts for one entity", "max_alerts_per_entity", "{}"),
            ("threshold", "threshold", "{:.2f}")]
    head = f"{'':38} {'churn':>9} {'baseline':>9}   {'burnout':>9} {'baseline':>9}"
    lines = [head, "-" * len(head)]

    def cell(model, who, key, f):
        v = fig.get(model, {}).get(who, {}).get(key)
        return f.format(v) if v is not None else "n/a"

    for label, key, f in rows:
        lines.append(f"{label:38} {cell('churn', 'model', key, f):>9} {cell('churn', 'baseline', key, f):>9}   "
                     f"{cell('burnout', 'model', key, f):>9} {cell('burnout', 'baseline', key, f):>9}")
    for m in ("churn", "burnout"):
        d = fig.get(m, {})
        if d:
            lines.append(f"{m}: {d['examples']} labelled predictions ({d['positive_examples']} positive), "
                         f"{d['entities']} entities, alerts from day {d['warm_at_day']}; "
                         f"{d['model']['positives']} positive episodes, {d['model']['caught']} caught")
            if d["model"].get("precision_interval") or d["model"].get("recall_interval"):
                lines.append(f"{m}: 95% intervals (Wilson), precision "
                             f"{_interval(d['model'], 'precision', 'judged_alerts', 'judged alerts')}, recall "
                             f"{_interval(d['model'], 'recall', 'positives', 'positive episodes')}")
    held = fig.get("churn", {}).get("model", {}).get("held")
    if held:
        lines.append(f"churn alerts of customers who send activity events: at {held['threshold']:.2f} held "
                     f"{held['days']:g} days (the threshold above: customers seen only through texts)")
    ranking = fig.get("churn", {}).get("propensity_ranking")
    if ranking:
        lines.append(f"churn customers ranked by the simulator's hidden propensity (who, not when): precision "
                     f"{ranking['precision']:.2f} at recall {ranking['recall']:.2f}")
    return "\n".join(lines)
