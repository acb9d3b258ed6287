"""One event through the per-entity logic: label join → feature update → prediction → alert decision.

The Faust ``features`` agent and the in-process replay (``replay.py``) both call
``process_event``; it is pure apart from mutating the state dict it is given.

>>> from .estimators import OnlineLearner
>>> cfg = LearnerConfig(min_positives_to_alert=0)
>>> models = {"churn": OnlineLearner("churn").handle()}
>>> ev = {"event_id": "e1", "kind": "ticket", "type": "created", "customer_id": "cus-1",
...       "occurred_at": "2026-05-01T10:00:00+00:00", "text": "awful", "priority": "urgent", "ticket_id": "t1"}
>>> state, out = process_event(None, ev, {"label": "negative", "score": -0.9}, models, cfg)  # no label yet: the prior
>>> out.entity_type, out.entity_id, round(out.prediction["probability"], 2), state["pending"][0]["id"]
('customer', 'cus-1', 0.62, 'e1')
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime

from .estimators import ModelHandle, OnlineLearner, explain
from .features import (FEATURES_OF, UPDATE, customer_authored, employee_authored, event_time, feature_spec, finite,
                       last_sentiment, new_state, note_sentiment)
from . import inactivity
from .activity import is_purchase
from .labels import HORIZON_S, MODEL_OF, add_pending, ends_entity, join_label, join_late, label_of, late_label
from .policy import AlertPolicy


@dataclass(frozen=True)
class LearnerConfig:
    """Thresholds of the learners and alerts; ``from_env`` reads ``PULSEWIRE_LEARN_*`` overrides."""

    # the churn alert threshold per churn definition (chosen on seeds 11 and 13, fast path, never on seed 7;
    # docs/decisions/0013-churn-threshold-per-definition.md): the two definitions label different
    # predictions, so the same calibrated probability is not the same evidence in both; 0.30 let through
    # subscription customers who renew, and is where the inactivity model is most precise
    churn_threshold: float = 0.55  # subscription
    churn_inactivity_threshold: float = 0.3  # inactivity
    # subscription, a customer who sends activity events: scored every few days whatever they write, so an
    # incident (a bad week that passes) crosses 0.55 as readily as a decline before a cancellation; asking
    # the score to stay at/above 0.35 for 2 days tells them apart (seeds 11 and 13, decision 0016). A
    # customer seen only through texts is scored days apart, where waiting would cost the lead, so the
    # plain threshold stays theirs
    churn_activity_threshold: float = 0.35
    churn_activity_hold_days: float = 2.0
    # the churn calibrator's learning rate per churn definition (seeds 11 and 13, decision 0013): labels
    # come in bursts (one cancellation or lapse labels weeks of predictions at once) and a smaller step
    # swings less with each; by inactivity the bursts are longest
    churn_calibration_lr: float = 0.01  # subscription
    churn_inactivity_calibration_lr: float = 0.005  # inactivity
    churn_rearm_below: float = 0.15
    # an episode ends when the score has stayed below 0.15 for 3 days (bench/alert_episodes.py, chosen
    # on seeds 1, 2, 3, 11, 13)
    churn_cooldown_days: float = 45.0
    churn_confirm: int = 1
    churn_rearm_days: float = 3.0
    # burnout: 3 scores in a row at/above 0.5 (chosen on seeds 11 and 13, fast path): employees post
    # often, so confirming costs days, not weeks, and cuts alerts on one bad week. The episode ends when
    # the score has stayed below 0.25 for 14 days (bench/alert_episodes.py, chosen on seeds 1, 2, 3, 11, 13):
    # one low score in a long burnout does not re-arm it
    burnout_threshold: float = 0.5
    burnout_rearm_below: float = 0.25
    burnout_cooldown_days: float = 21.0
    burnout_confirm: int = 3
    burnout_rearm_days: float = 14.0
    # warm-up: no alerts until the model has learned this many positive examples
    min_positives_to_alert: int = 20
    # the trivial baseline: alert when the entity's last text sentiment is below this
    baseline_sentiment_below: float = -0.5
    # sentiment spikes per channel / product / team
    spike_min_texts: int = 8
    spike_margin: float = 0.15
    spike_cooldown_days: float = 7.0
    # team-level burnout (for people without per-person consent): at-risk people needed
    team_burnout_min_flagged: int = 2
    reasons: int = 3
    # what churn means (docs/learners.md, "Churn definitions"): "subscription" (a cancellation) or
    # "inactivity" (no activity for N days: shops without subscriptions)
    churn_definition: str = "subscription"
    churn_inactive_days: float = 45.0  # N
    # k > 0: each customer's own N_c = clamp(k x their usual gap, churn_inactive_min_days, N); 0: N for all
    churn_inactive_rhythm: float = 0.0
    churn_inactive_min_days: float = 14.0
    # the sweep's event-time watermark trails the newest event of a partition by this much: an event
    # later than that is too late to stop a lapse that was already established
    churn_sweep_lateness_hours: float = 6.0
    # live streams only: a partition quiet for this many wall-clock hours has its watermark follow the
    # clock from its last event (0: off; never for a backfill or a replay, whose event time is not now)
    churn_sweep_idle_hours: float = 0.0
    # activity events that are not purchases predict at most this often per customer (event time)
    activity_predict_hours: float = 6.0
    # go-live of a deployment that replays its history first (a backfill): a score, sentiment spike or team
    # count with an event time before this ISO 8601 time alerts nobody and counts as no alert, so an
    # episode still open at go-live alerts once, on its next score ("": every event may alert)
    alerts_from: str = ""

    def __post_init__(self):
        if self.alerts_from:
            try:
                _epoch(self.alerts_from)
            except ValueError:
                raise inactivity.ChurnDefinitionError(
                    f"alerts_from: {self.alerts_from!r} is not an ISO 8601 time with its zone, "
                    f"e.g. 2026-12-01T00:00:00Z") from None
        inactivity.check_definition(self.churn_definition)
        inactivity.settings_of(self)
        for name in ("churn_calibration_lr", "churn_inactivity_calibration_lr"):
            if not 0 < getattr(self, name) <= 1:
                raise inactivity.ChurnDefinitionError(f"{name} must be in (0, 1] (got {getattr(self, name):g})")
        if self.churn_activity_hold_days < 0:
            raise inactivity.ChurnDefinitionError(
                f"churn_activity_hold_days must be >= 0 (got {self.churn_activity_hold_days:g})")
        if self.churn_definition == "subscription" and self.churn_rearm_below > self.churn_activity_threshold:
            raise inactivity.ChurnDefinitionError(
                f"churn_rearm_below ({self.churn_rearm_below:g}) must not exceed churn_activity_threshold "
                f"({self.churn_activity_threshold:g})")
        if self.churn_rearm_below > self.churn_alert_threshold:  # refused at start, not on every event
            name = "churn_inactivity_threshold" if self.churn_definition == "inactivity" else "churn_threshold"
            raise inactivity.ChurnDefinitionError(
                f"churn_rearm_below ({self.churn_rearm_below:g}) must not exceed {name} "
                f"({self.churn_alert_threshold:g})")

    @classmethod
    def from_env(cls, environ=os.environ) -> "LearnerConfig":
        """The defaults with ``PULSEWIRE_LEARN_<FIELD>`` overrides; a bad value raises ``ChurnDefinitionError``
        (a ``ValueError``) naming the variable.

        >>> LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity"}).churn_definition
        'inactivity'
        >>> try:
        ...     LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS": "soon"})
        ... except ValueError as exc:
        ...     print(exc)
        PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS: expected a number, got 'soon'
        >>> try:
        ...     LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_DEFINITION": "silence"})
        ... except ValueError as exc:
        ...     print(exc)
        PULSEWIRE_LEARN_CHURN_DEFINITION: 'silence' is not one of subscription, inactivity
        >>> try:
        ...     LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS": "-3"})
        ... except ValueError as exc:
        ...     print(exc)
        PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS must be > 0 (got -3)
        >>> try:
        ...     LearnerConfig.from_env({"PULSEWIRE_LEARN_CHURN_DEFINITION": "inactivity",
        ...                             "PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.4"})
        ... except ValueError as exc:
        ...     print(exc)
        PULSEWIRE_LEARN_CHURN_THRESHOLD does not apply to the inactivity churn definition; set PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD instead
        """
        kw = {}
        for name, f in cls.__dataclass_fields__.items():
            var = f"PULSEWIRE_LEARN_{name.upper()}"
            v = environ.get(var)
            if v is not None:
                try:
                    kw[name] = type(f.default)(v)
                except ValueError:
                    raise inactivity.ChurnDefinitionError(f"{var}: expected a number, got {v!r}") from None
        if "alerts_from" in kw:  # blank is unset, as an empty value is
            kw["alerts_from"] = kw["alerts_from"].strip()
        if kw.get("churn_definition", "subscription") not in inactivity.DEFINITIONS:
            raise inactivity.ChurnDefinitionError(
                f"PULSEWIRE_LEARN_CHURN_DEFINITION: {kw['churn_definition']!r} is not one of "
                f"{', '.join(inactivity.DEFINITIONS)}")
        if kw.get("churn_definition") == "inactivity":
            for sub in ("churn_activity_threshold", "churn_activity_hold_days"):
                if sub in kw:
                    raise inactivity.ChurnDefinitionError(
                        f"PULSEWIRE_LEARN_{sub.upper()} applies to the subscription churn definition only; under "
                        f"inactivity set PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD")
            for sub, own in (("churn_threshold", "churn_inactivity_threshold"),
                             ("churn_calibration_lr", "churn_inactivity_calibration_lr")):
                # the subscription names read as if they were general: set alone under inactivity they would
                # be ignored without a word (a shop believing it chose its threshold), so refuse them
                if sub in kw and own not in kw:
                    raise inactivity.ChurnDefinitionError(
                        f"PULSEWIRE_LEARN_{sub.upper()} does not apply to the inactivity churn definition; "
                        f"set PULSEWIRE_LEARN_{own.upper()} instead")
        try:
            return cls(**kw)
        except inactivity.ChurnDefinitionError as exc:
            # the rules over several settings name fields: name the variables a user sets instead
            raise inactivity.ChurnDefinitionError(
                re.sub(r"\b(?:churn_\w+|alerts_from)\b", lambda m: f"PULSEWIRE_LEARN_{m.group(0).upper()}", str(exc))) from None

    def quiet(self, t: float) -> bool:
        """Whether a score at event time ``t`` is before ``alerts_from`` (history: it alerts nobody).

        >>> cfg = LearnerConfig(alerts_from="2026-12-01T00:00:00Z")
        >>> cfg.quiet(_epoch("2026-11-30T23:59:59+00:00")), cfg.quiet(_epoch("2026-12-01T00:00:00Z"))
        (True, False)
        >>> LearnerConfig().quiet(0.0)
        False
        >>> try:
        ...     LearnerConfig.from_env({"PULSEWIRE_LEARN_ALERTS_FROM": "2026-12-01"})
        ... except ValueError as exc:
        ...     print(exc)
        PULSEWIRE_LEARN_ALERTS_FROM: '2026-12-01' is not an ISO 8601 time with its zone, e.g. 2026-12-01T00:00:00Z
        """
        return bool(self.alerts_from) and t < _epoch(self.alerts_from)

    def alerts_from_line(self, now: float) -> str | None:
        """What the worker says at start when ``alerts_from`` is set (None: unset); a go-live still ahead
        holds back every alert until then, so that is said too (a mistyped year must not go unseen).

        >>> cfg = LearnerConfig(alerts_from="2026-12-01T00:00:00Z")
        >>> print(cfg.alerts_from_line(_epoch("2026-12-03T12:00:00Z")))
        alerts: events before 2026-12-01T00:00:00Z alert nobody (PULSEWIRE_LEARN_ALERTS_FROM: history replayed before go-live)
        >>> print(cfg.alerts_from_line(_epoch("2026-11-21T00:00:00Z")))
        alerts: events before 2026-12-01T00:00:00Z alert nobody (PULSEWIRE_LEARN_ALERTS_FROM: history replayed before go-live); that is 10.0 days from now: no alert is sent for events until then
        """
        if not self.alerts_from:
            return None
        line = (f"alerts: events before {self.alerts_from} alert nobody "
                f"(PULSEWIRE_LEARN_ALERTS_FROM: history replayed before go-live)")
        ahead = _epoch(self.alerts_from) - now
        if ahead > 0:
            line += f"; that is {ahead / 86400:.1f} days from now: no alert is sent for events until then"
        return line

    @property
    def alerts_from_t(self) -> float | None:
        """``alerts_from`` in epoch seconds (None: unset)."""
        return _epoch(self.alerts_from) if self.alerts_from else None

    @property
    def churn_alert_threshold(self) -> float:
        """The churn alert threshold of this deployment's churn definition.

        >>> LearnerConfig().churn_alert_threshold, LearnerConfig(churn_definition="inactivity").churn_alert_threshold
        (0.55, 0.3)
        """
        return self.churn_inactivity_threshold if self.churn_definition == "inactivity" else self.churn_threshold

    def calibration_lr(self, model: str) -> float | None:
        """The calibrator's learning rate of ``model`` under this deployment's churn definition (None: the
        model's own).

        >>> LearnerConfig().calibration_lr("churn"), LearnerConfig(churn_definition="inactivity").calibration_lr("churn")
        (0.01, 0.005)
        """
        if model != "churn":
            return None
        return self.churn_inactivity_calibration_lr if self.churn_definition == "inactivity" else self.churn_calibration_lr

    def policy(self, model: str, activity: bool = False) -> AlertPolicy:
        """The alert policy of ``model``; for churn by cancellation, a customer who sends activity events
        (``activity``) has the score held at its own threshold for ``churn_activity_hold_days`` first (0: no
        hold, the plain threshold for everyone).

        >>> cfg = LearnerConfig()
        >>> cfg.policy("churn").threshold, cfg.policy("churn").hold_days
        (0.55, 0.0)
        >>> pol = cfg.policy("churn", activity=True)
        >>> pol.threshold, pol.hold_days
        (0.35, 2.0)
        >>> LearnerConfig(churn_definition="inactivity").policy("churn", activity=True).hold_days
        0.0
        """
        if model == "churn":
            if activity and self.churn_definition == "subscription" and self.churn_activity_hold_days > 0:
                return AlertPolicy(self.churn_activity_threshold, self.churn_rearm_below, self.churn_cooldown_days,
                                   self.churn_confirm, self.churn_rearm_days, self.churn_activity_hold_days)
            return AlertPolicy(self.churn_alert_threshold, self.churn_rearm_below, self.churn_cooldown_days,
                               self.churn_confirm, self.churn_rearm_days)
        return AlertPolicy(self.burnout_threshold, self.burnout_rearm_below, self.burnout_cooldown_days,
                           self.burnout_confirm, self.burnout_rearm_days)

    def baseline_policy(self, model: str) -> AlertPolicy:
        """The baseline alerts when -last_sentiment >= -baseline_sentiment_below, same hysteresis and cooldown."""
        thr = -self.baseline_sentiment_below
        cd = self.churn_cooldown_days if model == "churn" else self.burnout_cooldown_days
        return AlertPolicy(thr, thr - 0.3, cd)


@functools.lru_cache(maxsize=8)
def _epoch(iso: str) -> float:
    """An aware ISO 8601 time in epoch seconds; a time without its zone is a ValueError (whose midnight?)."""
    iso = iso.strip()
    t = datetime.fromisoformat(iso[:-1] + "Z" if iso.endswith("z") else iso)  # RFC 3339 allows a small z
    if t.tzinfo is None:
        raise ValueError(f"{iso!r} has no zone")
    return t.timestamp()


_COLD: dict[str, ModelHandle] = {}


def cold_handle(model_name: str) -> ModelHandle:
    """The model as it is before any label (version 0), for a worker that has no snapshot yet: for
    churn that is the prior, which already ranks by the obvious signals and gives reasons, instead
    of one constant for everybody. Never trained, so one shared instance is safe.

    >>> cold_handle("churn").version_str
    'churn-v0-n0'
    """
    if model_name not in _COLD:
        _COLD[model_name] = OnlineLearner(model_name).handle()
    return _COLD[model_name]


SEEN_WINDOW_S = 120 * 86400.0  # event ids remembered per entity: this far behind its newest event


def skip_reason(state: dict, event_id: str, t: float, window_s: float = SEEN_WINDOW_S) -> str | None:
    """Why the entity must not process this event again, or None (and then it is remembered).

    'duplicate_event': the entity has processed this event id before (a replay, a redelivery).
    'too_late_event': it is more than ``window_s`` of event time older than the entity's newest event,
    older than any id still remembered; too late to change the entity's features, and possibly a replay.
    So a replay of any length changes no feature, prediction, example or alert, and the state stays small.

    >>> st = {}
    >>> skip_reason(st, "ev-1", 100.0), skip_reason(st, "ev-2", 200.0), skip_reason(st, "ev-1", 100.0)
    (None, None, 'duplicate_event')
    >>> skip_reason(st, "ev-3", 50.0), skip_reason(st, "ev-4", 150.0 * 86400), skip_reason(st, "ev-5", 100.0)
    (None, None, 'too_late_event')
    >>> skip_reason(st, "", 300.0 * 86400), skip_reason(st, "", 300.0 * 86400)   # no id: cannot tell
    (None, None)
    """
    newest = state.get("seen_newest")
    if newest is not None and t < newest - window_s:
        return "too_late_event"
    if not event_id:
        return None
    seen = state.setdefault("seen_ids", {})
    h = hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()
    if h in seen:
        return "duplicate_event"
    seen[h] = t
    if newest is None or t > newest:
        state["seen_newest"] = newest = t
    if len(seen) % 64 == 0:
        for k in [k for k, v in seen.items() if v < newest - window_s]:
            del seen[k]
    return None


@dataclass
class Output:
    entity_type: str | None = None
    entity_id: str | None = None
    team_id: str = ""
    examples: list = field(default_factory=list)
    prediction: dict | None = None
    alert: dict | None = None          # per-entity alert decision (before consent gating)
    consent: bool = True               # employees: True only after an explicit yes (unknown means no)
    # employees: this event's burnout probability for the team aggregates and whether the model is past
    # its warm-up (team alerts wait for it): {"p": 0.42, "warm": True}
    team_risk: dict | None = None
    previous_team: str = ""            # the team the employee left with this event (moved or exited)
    consent_change: dict | None = None  # {"old": True/False/None, "new": bool}: audited
    notes: list = field(default_factory=list)  # 'label_unknown_entity', 'label_duplicate', 'ended', ...
    # (an event the entity must not process again (``skip_reason``) gives an Output with no entity and that
    # reason as its note: it changes no state, so it contributes to no metric either)


def route(ev: dict) -> tuple[str, str] | None:
    """Which entity's features an event updates (customer-authored or employee-authored), or None."""
    if ev.get("customer_id") and (customer_authored(ev) or ev.get("kind") == "activity"):
        return "customer", ev["customer_id"]
    if ev.get("employee_id") and employee_authored(ev):
        return "employee", ev["employee_id"]
    return None


def reasons_for(handle: ModelHandle, x: dict, entity_type: str, n: int = 3) -> list[dict]:
    """The top positive contributions, in plain words (per-activity-type features included)."""
    out = []
    for name, c in explain(handle.model, x):
        if c <= 0 or len(out) >= n:
            break
        spec = feature_spec(entity_type, name) if name in x else None
        if spec is not None:
            out.append({"feature": name, "value": round(float(x[name]), 4), "contribution": round(c, 4),
                        "text": spec.words(x)})
    return out


def folded_activity(state: dict, ev: dict, t: float, cfg: LearnerConfig) -> bool:
    """An activity event that only updates the features: not a purchase, and the customer was predicted
    less than ``activity_predict_hours`` of event time ago. High-volume usage (a login every few minutes)
    then costs a prediction row a few times a day, not one per click.

    >>> cfg, st = LearnerConfig(), {"last_pred_t": 1000.0}
    >>> login, order = {"kind": "activity", "type": "login"}, {"kind": "activity", "type": "order_placed"}
    >>> folded_activity(st, login, 2000.0, cfg), folded_activity(st, order, 2000.0, cfg)
    (True, False)
    >>> folded_activity(st, login, 1000.0 + 6 * 3600, cfg), folded_activity(st, {"kind": "ticket"}, 2000.0, cfg)
    (False, False)
    """
    if ev.get("kind") != "activity" or is_purchase(ev):
        return False
    last = state.get("last_pred_t")
    return last is not None and 0 <= t - last < cfg.activity_predict_hours * 3600


def process_event(state: dict | None, ev: dict, sentiment: dict | None, models: dict[str, ModelHandle],
                  cfg: LearnerConfig) -> tuple[dict | None, Output]:
    r = route(ev)
    if r is None:
        return state, Output()
    etype, eid = r
    model_name = MODEL_OF[etype]
    t = event_time(ev)
    if state is None:
        state = new_state(etype)
    state.setdefault("entity_id", eid)  # the sweep reads states, not events
    skip = skip_reason(state, ev.get("event_id", ""), t)
    if skip:
        dup_label = skip == "duplicate_event" and label_of(etype, ev) is not None
        return state, Output(notes=[skip, "label_duplicate"] if dup_label else [skip])
    out = Output(entity_type=etype, entity_id=eid)
    by_inactivity = etype == "customer" and cfg.churn_definition == "inactivity"
    y = inactivity.label_of(ev) if by_inactivity else label_of(etype, ev)
    if by_inactivity and y == 0:
        # back after N_c days or more: churned first (labelled at D, whether or not a sweep saw it), then a new life
        if inactivity.sweep_decision(state, t, cfg) == "lapse":
            out.notes.append("lapsed")
        out.examples = inactivity.lapse(state, eid, t, cfg)
        # active again: what was predicted since the last activity did not lapse
        out.examples += join_label(state, model_name, eid, ev.get("event_id", ""), 0, t, inactivity.horizon_s(cfg))
        if inactivity.note_active(state, t):
            out.notes.append("reactivated")
    elif y is not None:
        if state["events"] == 0:
            out.notes.append("label_unknown_entity")
        n_before = len(state.get("labels_seen", []))
        dup = ev.get("event_id") in state.get("labels_seen", [])
        out.examples = join_label(state, model_name, eid, ev.get("event_id", ""), y, t,
                                  inactivity.horizon_s(cfg) if by_inactivity else HORIZON_S)
        if dup or len(state.get("labels_seen", [])) == n_before:
            out.notes.append("label_duplicate")
    consent_before, team_before = state["f"].get("consent"), state["f"].get("team_id", "")
    UPDATE[etype](state, ev, sentiment, t)
    note_sentiment(state, sentiment)
    f = state["f"]
    out.team_id = f.get("team_id", "") if etype == "employee" else ""
    out.consent = bool(f.get("consent", False)) if etype == "employee" else True
    if etype == "employee":
        if ev.get("consent") is not None and consent_before != f.get("consent"):
            out.consent_change = {"old": consent_before, "new": f["consent"]}
        if team_before and team_before != out.team_id:
            out.previous_team = team_before
        for ex in out.examples:  # stored (learn_examples) only for people who consented
            ex["consent"] = out.consent
    if ends_entity(etype, ev):
        state["ended_at"] = t
        state["pending"] = []
        if etype == "employee":
            out.previous_team, out.team_risk = out.team_id, None
        out.notes.append("ended")
        return state, out
    if state.get("ended_at") is not None and t >= state["ended_at"]:
        out.notes.append("after_end")
        return state, out
    if folded_activity(state, ev, t, cfg):
        out.notes.append("activity_folded")
        return state, out
    state["last_pred_t"] = t
    handle = models.get(model_name) or cold_handle(model_name)
    x = finite(FEATURES_OF[etype](state, t))
    ls = last_sentiment(state)
    baseline = -ls if ls is not None else 0.0
    p = handle.predict(x)
    version, n_labels, n_pos = handle.version_str, handle.n_labels, handle.n_pos
    entry = {"id": ev.get("event_id", ""), "t": t, "x": x, "p": p, "b": baseline, "v": version, "n": n_labels,
             "np": n_pos}
    late = late_label(state, t, inactivity.horizon_s(cfg) if by_inactivity else HORIZON_S)
    if late is not None:  # this event arrived after a later label was processed: label it at once
        out.examples.extend(dict(ex, consent=out.consent) for ex in join_late(state, model_name, eid, entry, late))
    else:
        add_pending(state, entry)
    pol = cfg.policy(model_name, activity=x.get("activity_rate_long", 0.0) > 0)
    warm = n_pos >= cfg.min_positives_to_alert
    fire = pol.decide(state["alert"], p, t, ev.get("event_id", ""), quiet=cfg.quiet(t)) if warm else False
    reasons = reasons_for(handle, x, etype, cfg.reasons) if fire or p >= pol.threshold else []
    out.prediction = {"model": model_name, "entity_type": etype, "entity_id": eid, "team_id": out.team_id,
                      "probability": p, "baseline": baseline, "model_version": version, "n_labels": n_labels, "n_pos": n_pos,
                      "event_id": ev.get("event_id", ""), "t": t, "reasons": reasons, "alerted": fire,
                      "consent": out.consent}
    if etype == "employee":
        out.team_risk = {"p": round(float(p), 4), "warm": warm}
    if fire:
        out.alert = {"alert_type": model_name, "subject": eid, "subject_type": etype, "team_id": out.team_id,
                     "score": p, "threshold": pol.threshold, "model_version": version, "reasons": reasons,
                     "inputs": x, "t": t, "trigger_event_id": ev.get("event_id", ""),
                     "episode": state["alert"]["episode"], "n_alerts": state["alert"].get("n", 1)}
        if model_name == "churn":
            out.alert["churn_definition"] = cfg.churn_definition
    return state, out


def sweep_entity(state: dict, now: float, models: dict[str, ModelHandle], cfg: LearnerConfig) -> Output:
    """The daily event-time sweep of one customer's state at ``now`` (inactivity definition only):
    a lapse labels its pending predictions y = 1; a silent customer is predicted with the features as
    of ``now`` (a pending prediction like any other) and the alert policy may send a win-back alert.
    Deterministic ids, decisions kept in ``state``: sweeping again changes nothing.

    >>> cfg = LearnerConfig(churn_definition="inactivity", churn_inactive_days=30, min_positives_to_alert=0)
    >>> ev = {"event_id": "o1", "kind": "activity", "type": "order_placed", "customer_id": "cus-1",
    ...       "occurred_at": "2026-05-01T10:00:00+00:00"}
    >>> state, _ = process_event(None, ev, None, {}, cfg)
    >>> t0 = state["first_t"]
    >>> out = sweep_entity(state, t0 + 5 * 86400, {}, cfg)
    >>> out.prediction["event_id"], len(state["pending"]), sweep_entity(state, t0 + 5 * 86400, {}, cfg).prediction
    ('silence:cus-1:2026-05-06', 2, None)
    >>> [(e["pred_event_id"], e["y"]) for e in sweep_entity(state, t0 + 31 * 86400, {}, cfg).examples]
    [('o1', 1), ('silence:cus-1:2026-05-06', 1)]
    """
    if cfg.churn_definition != "inactivity" or not state or state.get("type") != "customer":
        return Output()
    eid = state.get("entity_id") or ""
    decision = inactivity.sweep_decision(state, now, cfg)
    out = Output(entity_type="customer", entity_id=eid)
    if decision == "lapse":
        out.examples = inactivity.lapse(state, eid, now, cfg)
        out.notes.append("lapsed")
    if decision != "silent":
        return out
    handle = models.get("churn") or cold_handle("churn")
    x = finite(FEATURES_OF["customer"](state, now))
    entry = inactivity.silent_prediction(state, eid, now, cfg, handle, x)
    p, pol = entry["p"], cfg.policy("churn")
    warm = handle.n_pos >= cfg.min_positives_to_alert
    fire = pol.decide(state["alert"], p, now, entry["id"], quiet=cfg.quiet(now)) if warm else False
    reasons = reasons_for(handle, x, "customer", cfg.reasons) if fire or p >= pol.threshold else []
    out.prediction = {"model": "churn", "entity_type": "customer", "entity_id": eid, "team_id": "",
                      "probability": p, "baseline": 0.0, "model_version": entry["v"], "n_labels": entry["n"],
                      "n_pos": entry["np"], "event_id": entry["id"], "t": now, "reasons": reasons, "alerted": fire,
                      "consent": True}
    if fire:
        out.alert = {"alert_type": "churn", "subject": eid, "subject_type": "customer", "team_id": "",
                     "score": p, "threshold": pol.threshold, "model_version": entry["v"], "reasons": reasons,
                     "inputs": x, "t": now, "trigger_event_id": entry["id"], "episode": state["alert"]["episode"],
                     "n_alerts": state["alert"].get("n", 1), "churn_definition": "inactivity", "action": "win_back",
                     "win_back": inactivity.win_back(state, now, cfg)}
    return out
