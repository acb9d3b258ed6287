"""Model cards of the churn and burnout learners, rendered from the code's declarations and the last evaluation.

A card says what a learner is for and what it must not be used for, and everything else in it comes
from the code that runs: the features and their documentation (``features.py``), the labels and how
they are joined (``labels.py``), the model, its prior and cold start (``estimators.py``, ``processor.py``),
the alert policy (``LearnerConfig``) and, for burnout, the consent rule. The figures are those of the
last ``pulsewire evaluate --write-card``, kept in ``evaluation.json`` beside the cards.

    python -m pulsewire.models.learners.card           # rewrite the cards and docs/learners.md's feature tables
    python -m pulsewire.models.learners.card --check   # exit 1 if the committed cards or tables drift

A test runs the ``--check`` logic, so a new feature, a new threshold or new figures without
regenerated cards fail CI.

>>> figs = card_figures({"churn": {"model": {"roc_auc": 0.9, "precision": 0.5}, "baseline": {"roc_auc": 0.7},
...                                "examples": 10, "positive_examples": 2, "entities": 5, "warm_at_day": 3.0}},
...                     {"mode": "fast", "events": 500, "seed": 7, "wall_s": 2.0}, "pulsewire evaluate --fast")
>>> figs["churn"]["model"]["roc_auc"], figs["churn"]["baseline"]["roc_auc"], figs["run"]["command"]
(0.9, 0.7, 'pulsewire evaluate --fast')
>>> "| ROC AUC, progressive, delayed labels | 0.900 | 0.700 |" in render_card("churn", figs)
True
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from river import compose

from pulsewire.schemas.alerts import MODEL_CARDS

from . import labels
from .estimators import Calibrated, PriorBlend, RiskPrior, Shape, make_model
from .activity import DEFAULT_TYPES_MAX
from .features import ACTIVITY_TYPE_FEATURES, FEATURES, FEATURES_OF, feature_spec, new_state
from .labels import MODEL_OF
from .processor import LearnerConfig

CARD_DIR = Path(__file__).parent
EVALUATION_FILE = "evaluation.json"
LEARNERS = ("churn", "burnout")
ENTITY_OF = {model: entity for entity, model in MODEL_OF.items()}

#: The figures a card shows, in the order of ``pulsewire evaluate``'s table: (key, label, format).
FIGURES = (
    ("roc_auc", "ROC AUC, progressive, delayed labels", "{:.3f}"),
    ("roc_auc_after_warmup", "ROC AUC after warm-up", "{:.3f}"),
    ("precision", "precision at the alert threshold", "{:.2f}"),
    ("recall", "recall at the alert threshold", "{:.2f}"),
    ("median_lead_days", "median lead time, days", "{:.1f}"),
    ("alerts_per_caught_episode", "alerts per caught episode (per {outcome} caught)", "{:.2f}"),
    ("alerts_per_alerted_entity", "alerts per alerted entity", "{:.2f}"),
    ("max_alerts_per_entity", "most alerts for one entity", "{}"),
    ("threshold", "alert threshold", "{:.2f}"),
)
COUNTS = ("examples", "positive_examples", "entities", "warm_at_day")
EPISODES = ("positives", "caught")

OUTCOME = {"churn": "cancelling (churn)", "burnout": "burning out"}
CAUGHT = {"churn": "churned customer", "burnout": "burned-out employee"}

#: Who and what each learner is about, in words (the rest of the card comes from code).
SUBJECT = {
    "churn": ("a customer", "the customer's own events: tickets, reviews, account events (signup, renewal, plan "
              "change, cancellation), what they do (activity events: logins, features used, orders) and the "
              "customer's own chat messages; an agent's replies are not used"),
    "burnout": ("an employee", "the employee's HR events (hire, overtime, leave, pulse and eNPS answers, exit) "
                "and their own chat messages that are not in a customer chat"),
}

INTENDED = {
    "churn": [
        "Tell a customer-success person which customers may be about to leave, and why (the reasons name the "
        "signals), so that a person reaches out and listens.",
        "Count customers at risk per week, plan or channel, to see where the service lets customers down.",
    ],
    "burnout": [
        "Tell an employee who said yes to it, or the person they chose to be told, that their signals look "
        "like burnout, so that they can be offered support.",
        "Show a team's burnout risk (no person named; only teams with enough people) so that workload and "
        "staffing can be looked at.",
    ],
}

FORBIDDEN = {
    "churn": [
        "Decisions about a customer without a human: pricing, refusing service, cancelling or limiting an "
        "account, credit or collections. An alert is a suggestion for a person to review.",
        "Judging the employees who served the customer (performance review, pay, discipline).",
        "Any use on customers of another business, or outside the purpose the customers were told about.",
    ],
    "burnout": [
        "Hiring, firing, promotion, pay, discipline or performance review, of the person or of their team.",
        "Any decision about an individual without a human who talks with them; an alert is a suggestion.",
        "Scoring or alerting on a person who has not consented: without an explicit yes a person only "
        "counts towards team numbers, never alone.",
        "Diagnosis: the score is not a medical or psychological assessment.",
        "Watching individuals: the inputs are collected to offer support, not to monitor.",
    ],
}

LIMITS = {
    "churn": [
        "Figures come from the generator's simulated business, not from a real one: measure again on your "
        "own outcomes (alert outcomes, labels) before trusting the numbers.",
        "Quiet churners whose risk never shows in texts or tickets, and customers with few events, are "
        "often missed; customers who complain a lot but stay are the commonest false alarms.",
        "The model learns online from the business's own cancellations: until it has learned "
        "{warmup} positive examples it does not alert at all, and early scores are mostly the prior.",
        "Sentiment inputs come from the English sentiment model (its own card lists its limits): text in "
        "other languages is scored poorly.",
        "Figures move between runs of the same code (which model version was loaded depends on timing).",
    ],
    "burnout": [
        "Figures come from the generator's simulated business, not from a real one, and from few people "
        "(see the counts): one alert moves precision by several points.",
        "Burnout that shows in none of the inputs (no overtime, no pulse answers, no negative comments) "
        "cannot be seen; pulse answers weigh heavily, so people who do not answer pulses are scored on less.",
        "The model learns online from the business's own labels: until it has learned {warmup} positive "
        "examples it does not alert at all, and early scores are mostly the prior.",
        "Sentiment inputs come from the English sentiment model (its own card lists its limits).",
    ],
}


class CardError(ValueError):
    pass


#: Illustrative values on which the documentation shows each feature's plain words (not data).
EXAMPLE_TYPE = "login"
EXAMPLE = {
    "customer": {"sent_recent": -0.45, "sent_drop": 0.6, "sent_chat": -0.5, "sent_ticket": -0.6, "neg_texts_7d": 4.0,
                 "neg_tickets_7d": 3.0, "neg_tickets_28d": 5.0, "tickets_7d": 4.0, "ticket_trend": 2.5,
                 "urgent_tickets_28d": 2.0, "csat_recent": 2.0, "csat_drop": 2.5, "rating_last": 2.0,
                 "days_since_activity": 21.0, "activity_trend": -3.0, "downgrades_90d": 1.0,
                 "days_since_renewal": 40.0, "tenure_weeks": 30.0, "activity_rate_7d": 3.0,
                 "activity_rate_long": 12.0, "activity_trend_rel": -0.75, "days_since_active": 16.0, "active_overdue": 5.3,
                 "days_since_purchase": 41.0, "purchases_90d": 2.0, "spend_90d": 84.5, "purchase_gap_days": 12.0,
                 "purchase_overdue": 3.4167, f"act_{EXAMPLE_TYPE}_rate_7d": 2.0, f"act_{EXAMPLE_TYPE}_rate_long": 9.0,
                 f"act_{EXAMPLE_TYPE}_trend": -7.0, f"act_{EXAMPLE_TYPE}_days_since": 5.0},
    "employee": {"overtime_recent": 9.0, "overtime_trend": 6.0, "sick_days_60d": 4.0, "leave_days_90d": 0.0,
                 "after_hours_share": 0.35, "chat_trend": 12.0, "workload_last": 2.0, "wellbeing_last": 2.0,
                 "wellbeing_drop": 1.5, "burnout_last": 4.0, "enps_last": 3.0, "sent_recent": -0.4,
                 "neg_comments_14d": 3.0, "tenure_weeks": 60.0},
}
DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "learners.md"


def family_names(entity: str) -> list[str]:
    """The per-activity-type feature names, shown for the example type."""
    return [f"act_{EXAMPLE_TYPE}_{suffix}" for suffix in ACTIVITY_TYPE_FEATURES] if entity == "customer" else []


def feature_table(entity: str) -> str:
    """docs/learners.md's table of ``entity``'s features: name, definition, and how an alert reason reads."""
    rows = ["| feature | definition | an alert reason reads |", "|---|---|---|"]
    example = EXAMPLE[entity]
    for name in [*FEATURES[entity], *family_names(entity)]:
        if name not in example:
            raise CardError(f"card.EXAMPLE has no illustrative value of {entity} feature {name}")
        spec = feature_spec(entity, name)
        shown = name.replace(f"act_{EXAMPLE_TYPE}_", "act_<type>_")
        rows.append(f"| `{shown}` | {spec.doc} | \"{spec.words(example)}\" |")
    return "\n".join(rows)


def _marker(entity: str) -> tuple[str, str]:
    return f"<!-- features:{entity} (generated by python -m pulsewire.models.learners.card) -->", \
        f"<!-- /features:{entity} -->"


def docs_rendered(text: str) -> str:
    """``text`` (docs/learners.md) with its generated feature tables replaced by what the code declares."""
    for entity in FEATURES:
        start, end = _marker(entity)
        head, sep, rest = text.partition(start)
        if not sep or end not in rest:
            raise CardError(f"docs/learners.md lacks the markers of the {entity} feature table: {start} ... {end}")
        text = f"{head}{start}\n{feature_table(entity)}\n{end}{rest.split(end, 1)[1]}"
    return text


# ---------------------------------------------------------------------------- evaluation figures
def card_figures(fig: dict, run: dict, command: str, measured_on: str | None = None) -> dict:
    """The part of ``pulsewire evaluate``'s figures that the cards show (small; committed as JSON)."""
    out: dict = {"run": {"command": command, "mode": run.get("mode", ""), "events": run.get("events"),
                         "seed": run.get("seed"), "wall_s": run.get("wall_s"),
                         **({"measured_on": measured_on} if measured_on else {})}}
    for m in LEARNERS:
        d = fig.get(m)
        if not d:
            continue
        keys = [k for k, _, _ in FIGURES] + list(EPISODES)
        out[m] = {who: {k: d.get(who, {}).get(k) for k in keys if k in d.get(who, {})} for who in ("model", "baseline")}
        out[m].update({k: d[k] for k in COUNTS if k in d})
    if "burnout_population" in fig:
        out["burnout_population"] = fig["burnout_population"]
    return out


def write_evaluation(figures: dict, directory: Path = CARD_DIR) -> Path:
    path = directory / EVALUATION_FILE
    path.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    return path


def read_evaluation(directory: Path = CARD_DIR) -> dict:
    path = directory / EVALUATION_FILE
    return json.loads(path.read_text()) if path.exists() else {}


# ---------------------------------------------------------------------------- what the code declares
def features_used(model: str) -> list[str]:
    """The features the learner's feature function actually computes (not the declarations)."""
    entity = ENTITY_OF[model]
    return list(FEATURES_OF[entity](new_state(entity), 0.0))


def _part(m) -> str:
    if isinstance(m, compose.Pipeline):
        return " | ".join(_part(s) for s in m.steps.values())
    if isinstance(m, Calibrated):
        return f"Calibrated({_part(m.classifier)})"
    if isinstance(m, PriorBlend):
        return f"PriorBlend({_part(m.classifier)}, {_part(m.prior)})"
    return f"{type(m).__name__}()"


def _parts(m) -> list:
    if isinstance(m, compose.Pipeline):
        return [p for s in m.steps.values() for p in _parts(s)]
    if isinstance(m, (Calibrated, PriorBlend)):
        inner = [m.classifier] + ([m.prior] if isinstance(m, PriorBlend) else [])
        return [m] + [p for i in inner for p in _parts(i)]
    return [m]


def _first_line(cls) -> str:
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).replace("``", "`")


def _label_rule(model: str) -> str:
    """The learner's bullet of the "Labels" section of ``labels.py``'s documentation."""
    text = labels.__doc__.split("Labels\n------\n", 1)[1].split("\n\n", 1)[0]
    for bullet in text.split("\n* "):
        bullet = " ".join(bullet.removeprefix("* ").split())
        if bullet.startswith(f"{model}:"):
            return bullet.removeprefix(f"{model}:").strip().replace("``", "`")
    raise CardError(f"labels.py documents no label rule for {model}")


def _fmt(value, f: str) -> str:
    return "n/a" if value is None else f.format(value)


def _prior_cell(prior: RiskPrior, name: str) -> str:
    if name not in prior.weights:
        return ""
    w, center, scale = prior.weights[name]
    return f"{w:+g} per {scale:g} from {center:g}"


# ---------------------------------------------------------------------------- the card
def render_card(model: str, figures: dict) -> str:
    """The Markdown card of ``model`` ("churn" or "burnout") with the evaluation ``figures``."""
    if model not in LEARNERS:
        raise CardError(f"no card for {model!r}: one of {', '.join(LEARNERS)}")
    entity = ENTITY_OF[model]
    declared = FEATURES[entity]
    used = features_used(model)
    undocumented = [f for f in used if f not in declared or not declared[f].doc.strip()]
    if undocumented:
        raise CardError(f"{model} uses features without a doc in features.py: {', '.join(undocumented)}")
    cfg = LearnerConfig()
    pol = cfg.policy(model)
    base = cfg.baseline_policy(model)
    est = make_model(model)
    blend = est.classifier
    prior = next(p for p in _parts(blend.prior) if isinstance(p, RiskPrior))
    who, inputs = SUBJECT[model]
    env = f"PULSEWIRE_LEARN_{model.upper()}_"
    out = [f"# Model card: pulsewire {model} learner", "",
           f"Generated by `python -m pulsewire.models.learners.card` from the code and the last evaluation; "
           "do not edit by hand (a test fails when it drifts). Every alert of this learner links here "
           f"(`data.model_card`); `pulsewire model-card {model}` prints this card.", "",
           "## What it is",
           f"An online classifier that gives {who} a probability of {OUTCOME[model]}, updated on every event "
           "of theirs, "
           "with the signals that raised it in plain words. It learns from the business's own delayed "
           "labels while it runs (River), one learner per deployment; every worker predicts with the "
           "newest signed snapshot. Its scores are suggestions for a person, never decisions.", "",
           f"Inputs: {inputs}.", "",
           f"Model: `{_part(est)}`", ""]
    seen = set()
    for part in _parts(est):
        if type(part) not in seen:
            seen.add(type(part))
            out.append(f"* `{type(part).__name__}`: {_first_line(type(part))}")
    out += ["",
            "## Features", "",
            f"The {len(used)} features of `{entity}_features` (`models/learners/features.py`). *Direction* is "
            "what the documentation expects (the model learns the sign from labels); *prior* is the fixed "
            "log-odds weight the model starts from (weight per scale unit, away from the centre); *log1p*: "
            "counts are shaped before the model sees them.", "",
            "| feature | what it is | higher means | prior | shaped |", "|---|---|---|---|---|"]
    for name in used:
        f = declared[name]
        shaped = "log1p" if name.endswith(Shape.SUFFIXES) else ""
        out.append(f"| `{name}` | {f.doc} | {'more' if f.direction > 0 else 'less'} risk | "
                   f"{_prior_cell(prior, name)} | {shaped} |")
    if family_names(entity):
        out += ["", f"And per activity type a customer is seen doing (at most {DEFAULT_TYPES_MAX} types per "
                "customer, first seen first, or `PULSEWIRE_LEARN_ACTIVITY_TYPES_MAX`; or only those of "
                "`PULSEWIRE_LEARN_ACTIVITY_TYPES`; other types count in the totals only), named with the type:", "",
                "| feature | what it is | higher means | prior | shaped |", "|---|---|---|---|---|"]
        for name in family_names(entity):
            f = feature_spec(entity, name)
            shaped = "log1p" if name.endswith(Shape.SUFFIXES) else ""
            out.append(f"| `{name.replace(f'act_{EXAMPLE_TYPE}_', 'act_<type>_')}` | {f.doc} | "
                       f"{'more' if f.direction > 0 else 'less'} risk |  | {shaped} |")
    out += ["",
            "## Labels", "",
            f"{_label_rule(model)[0].upper()}{_label_rule(model)[1:]}", "",
            "Labels arrive late. Each prediction leaves the features as they were then; a label turns the "
            f"predictions made before it (at most {labels.HORIZON_S / 86400:g} days before, one per "
            f"{labels.MIN_GAP_S / 3600:g} h, at most {labels.MAX_PENDING}) into training examples, weighted so "
            f"that one label counts about {labels.WEIGHT_PER_LABEL:g} examples. Nothing computed after a "
            "prediction leaks into its example; a label seen twice is learned once.", "",
            "## Prior and cold start", "",
            f"Before any label the model is its prior: base rate {prior.base_rate:.0%} and the weights in the "
            f"feature table (domain knowledge, never fitted). It hands over to the learned part as positive "
            f"labels arrive: the prior's share of the log-odds is {blend.strength:g} / ({blend.strength:g} + "
            f"positive examples), never below {blend.floor:g}. A worker without a snapshot yet predicts with "
            f"this untrained model (version `{model}-v0-n0`). No alert is sent before the model has learned "
            f"{cfg.min_positives_to_alert} positive examples.", "",
            "## Alerts", "",
            f"* An alert when the probability is at or above **{pol.threshold:g}** "
            + (f"for {pol.confirm} scores in a row" if pol.confirm > 1 else "(one score)")
            + (f"; **{cfg.churn_inactivity_threshold:g}** where churn is defined by inactivity "
               f"(`{env}INACTIVITY_THRESHOLD`)" if model == "churn" else "") + ".",
            *([f"* For a customer who sends activity events, where churn is a cancellation: when the probability "
               f"has stayed at or above **{cfg.churn_activity_threshold:g}** for "
               f"**{cfg.churn_activity_hold_days:g} days** (every score in between too), instead: such a "
               "customer is scored every few days, so a bad week that passes can be told from a decline that "
               f"lasts (`{env}ACTIVITY_THRESHOLD`, `{env}ACTIVITY_HOLD_DAYS`)."] if model == "churn" else []),
            f"* One episode, one alert: the {model} learner re-arms only after the score has stayed below "
            f"{pol.rearm_below:g} for {pol.rearm_days:g} days, and at least {pol.cooldown_days:g} days after "
            "the last alert (event time).",
            f"* Each alert names its top {cfg.reasons} reasons (the largest positive contributions).",
            f"* Defaults of `LearnerConfig`; a deployment may override them with `{env}THRESHOLD`, "
            f"`{env}REARM_BELOW`, `{env}REARM_DAYS`, `{env}COOLDOWN_DAYS` and `{env}CONFIRM`; the alert's "
            "`data.threshold` is the one that applied.",
            f"* Baseline it is measured against: alert when the entity's last text sentiment is at or below "
            f"{-base.threshold:g}, with the same hysteresis and cooldown."]
    if model == "burnout":
        from pulsewire.streams.settings import MIN_GROUP_FLOOR
        from pulsewire.streams.validation import DEFAULT_CONSENT_SOURCES

        out += ["", "## Consent", "",
                "* A burnout alert names a person (pseudonymised id, never a name) only when that employee said "
                "yes: `consent=true` on an HR event from a source in `PULSEWIRE_CONSENT_SOURCES` (default "
                f"`{','.join(DEFAULT_CONSENT_SOURCES)}`). No answer means no; a later `consent=false` stops it.",
                "* Without consent no prediction, reason, risk or training example of that person is stored; "
                "their probability counts only towards their team's numbers.",
                f"* A team alert (no person named) needs at least {cfg.team_burnout_min_flagged} people at or "
                f"above the threshold, among at least `min_group_size` ({MIN_GROUP_FLOOR} or more) distinct "
                "people with a probability."]
    out += ["", "## Evaluation", ""]
    out += _evaluation(model, figures)
    out += ["", "## Known limits", ""]
    out += [f"* {s.format(warmup=cfg.min_positives_to_alert)}" for s in LIMITS[model]]
    out += ["", "## Intended uses", ""] + [f"* {s}" for s in INTENDED[model]]
    out += ["", "## Forbidden uses", ""] + [f"* {s}" for s in FORBIDDEN[model]]
    out += ["", "## Regenerate", "", "```",
            "pulsewire evaluate -n 20000 --seed 7 --write-card   # new figures (evaluation.json) and cards",
            "python -m pulsewire.models.learners.card             # cards only, from the committed figures",
            "```", ""]
    return "\n".join(out)


def _evaluation(model: str, figures: dict) -> list[str]:
    d, run = figures.get(model), figures.get("run", {})
    if not d:
        return ["Not evaluated yet: run `pulsewire evaluate --write-card`."]
    out = [f"Measured with `{run['command']}` (mode {run.get('mode')}, {run.get('events')} generated events, "
           f"seed {run.get('seed')}, {run.get('wall_s')} s"
           + (f", {run['measured_on']}" if run.get("measured_on") else "") + "). The baseline is measured on "
           "the same predictions; both alert only after the model's warm-up.", "",
           f"| figure | {model} | baseline |", "|---|---|---|"]
    for key, label, f in FIGURES:
        label = label.format(outcome=CAUGHT[model])
        out.append(f"| {label} | {_fmt(d['model'].get(key), f)} | {_fmt(d['baseline'].get(key), f)} |")
    m = d["model"]
    out += ["", f"{d.get('examples')} labelled predictions ({d.get('positive_examples')} positive) over "
            f"{d.get('entities')} {ENTITY_OF[model]}s; alerts from simulated day {d.get('warm_at_day')}; "
            f"{m.get('positives')} positive episodes, {m.get('caught')} caught."]
    if model == "burnout" and (pop := figures.get("burnout_population")):
        out.append(f"Measured on the {pop['consenting']} of {pop['employees']} employees who consented "
                   "(only their predictions are stored).")
    out += ["", "Definitions: ROC AUC is progressive validation with the probability predicted before the label "
            "was known; precision is over entities first alerted at least 28 simulated days before the end; "
            "recall over entities with an outcome after warm-up; lead time from the first alert to the outcome."]
    return out


def rendered(figures: dict) -> dict[str, str]:
    """{file name: Markdown} of every learner's card."""
    return {Path(MODEL_CARDS[m]).name: render_card(m, figures) for m in LEARNERS}


def write_cards(figures: dict, directory: Path = CARD_DIR) -> list[Path]:
    paths = []
    for name, text in rendered(figures).items():
        (directory / name).write_text(text)
        paths.append(directory / name)
    return paths


def drift(directory: Path = CARD_DIR) -> list[str]:
    """Names of the cards that differ from what the committed figures render."""
    return [name for name, text in rendered(read_evaluation(directory)).items()
            if not (directory / name).exists() or (directory / name).read_text() != text]


def docs_drift(path: Path = DOCS_FILE) -> bool:
    """Whether docs/learners.md's feature tables differ from the declarations (False without the docs)."""
    return path.exists() and docs_rendered(path.read_text()) != path.read_text()


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = drift() + (["docs/learners.md (feature tables)"] if docs_drift() else [])
        if bad:
            print("model cards or feature tables drift from the code or evaluation.json: " + ", ".join(bad) +
                  "\nregenerate with: python -m pulsewire.models.learners.card", file=sys.stderr)
            return 1
        return 0
    for path in write_cards(read_evaluation()):
        print(f"wrote {path.name}")
    if DOCS_FILE.exists():
        DOCS_FILE.write_text(docs_rendered(DOCS_FILE.read_text()))
        print(f"wrote the feature tables of {DOCS_FILE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
