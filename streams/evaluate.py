"""``pulsewire evaluate``: the generator (fixed seed) through the real pipeline, scored against its ground truth.

1. start the embedded broker and one ``pulsewire worker`` subprocess (the same command a deployment runs);
2. produce the simulated SMB's events; wait until every agent has drained every topic it reads
   (``events.*`` → validate → score → ``scored.text`` → features → ``learn.*`` → learner → ``models.snapshots``,
   ``signals.metrics`` → metrics, ``alerts.*`` → audit);
3. stop the worker; read ``predictions``, ``learn_examples`` and ``alerts_audit`` from its ClickHouse store;
4. compute the figures (``models.learners.evaluation``) for the model and the trivial baseline
   (last text sentiment below a threshold) from the same predictions, and print them. Burnout figures are
   over the employees who consented: the only ones whose predictions the pipeline stores (the model
   learns from everyone).

What is measured: ``--mode`` picks the simulated business (``subscription``: accounts that cancel;
``shop``: no subscriptions), ``--churn-definition`` what counts as churn (a ``subscription`` cancellation,
or ``inactivity``: no activity for ``churn_inactive_days``; the default follows the mode) and
``--no-activity`` removes the activity events from the same generated stream (same customers, same churn),
so that figures with and without them compare fairly. The output names all three.

``--fast`` runs the same pure functions in-process instead (no Kafka): seconds instead of minutes, for
experiments; the headline figures come from the real pipeline. Its sentiment is the generator's hidden text
labels blurred with noise (``--sentiment labels``, the default) or the packaged model's, as the score agent
gives it (``--sentiment model``): the second reproduces the real pipeline's churn figures much more closely,
so choices tuned on the fast path should hold under both (docs/learners.md).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .topics import (ALERT_TOPICS, EVENT_TOPICS, GROUP_TOPICS, LEARN_BURNOUT, LEARN_CHURN, SCORED, TopicMap,
                     ensure_topics)

# Alerts are read by the worker's audit agent too (under the worker's group); waiting for them
# means the audit table is complete when the figures are read.
# how far the scorer, the features agent and the learner may trail the produced events (in records): a
# label releases up to 64 examples at once, so a tight bound here would stall on every renewal wave
DOWNSTREAM_LAG_FACTOR = 8
DRAIN_TOPICS = [t.name for t in (*GROUP_TOPICS, *ALERT_TOPICS)]
#: A worker's go-live (history before it alerts nobody) would hide the alerts evaluate judges: every alert
#: of the stream is judged, so evaluate leaves it unset (the CLI says so when it was set).
WORKER_ENV = {"PULSEWIRE_LEARN_ALERTS_FROM": ""}


class EvaluateError(RuntimeError):
    pass


@dataclass
class EvalOptions:
    events: int = 20_000
    seed: int = 7
    data_dir: Path = Path("pulsewire-evaluate")
    stall_timeout_s: float = 240.0
    show_progress: bool = True
    chunk: int = 250
    max_lag: int = 250
    bias: str | None = None  # a planted bias (generator_bias), for the bias audit's tests
    # events from a file instead of the generator (``load_input``), scored against ``load_truth(truth)``
    input: Path | None = None
    truth: Path | None = None
    mode: str = "subscription"  # the generator's mode: "subscription" or "shop"
    activity: bool = True  # False: the same stream with its activity events removed
    churn_definition: str | None = None  # None: "subscription" in subscription mode, "inactivity" in shop mode
    sentiment: str = "labels"  # the fast path's sentiment: "labels" (hidden, blurred) or "model" (the scorer's)

    def definition(self) -> str:
        return self.churn_definition or ("inactivity" if self.mode == "shop" else "subscription")

    def scorer(self):
        """The sentiment scorer a worker would load with this environment's settings."""
        from .settings import Settings

        return Settings().load_scorer()

    def fast_sentiment(self, sim, records):
        """The ``--fast`` replay's sentiment function: the packaged model's (``model_sentiment``) or the
        generator's hidden labels, blurred (a new function starts the blur's draws afresh)."""
        from pulsewire.models.learners.replay import hidden_label_sentiment

        if self.sentiment == "model":
            return model_sentiment(records, self.scorer())
        return hidden_label_sentiment(sim.text_labels)

    def learner_config(self):
        """The learners' configuration from the environment, with this run's churn definition (read as the
        worker reads it, so a setting that does not apply to that definition is refused here too)."""
        from pulsewire.models.learners.processor import LearnerConfig

        return LearnerConfig.from_env({**os.environ, **WORKER_ENV, "PULSEWIRE_LEARN_CHURN_DEFINITION": self.definition()})

    def left_out(self, n: int) -> dict:
        """How many activity events --no-activity left out of those generated, for the run's figures."""
        return {} if self.activity else {"activity_left_out": n}

    def measured(self) -> dict:
        """What a run measured, for its printed figures."""
        if self.input is not None:  # a file's events: no generator, whatever they hold
            return {"churn_definition": self.definition()}
        return {"generator_mode": self.mode, "churn_definition": self.definition(), "activity": self.activity}


def produce_paced(bootstrap: str, topics: TopicMap, records, topic_for, key_for, worker, chunk: int, max_lag: int,
                  console=None) -> int:
    """Produce in time order, a chunk at a time, waiting while the validator lags by more than ``max_lag``.

    A connector emits events as they happen; producing 26 simulated weeks at once would let the
    validator read ``events.account`` (labels) weeks ahead of ``events.ticket`` (it consumes the
    topics independently). Pacing keeps the cross-topic skew within about one chunk of events.
    """
    from kafka import KafkaProducer

    from .kafka_security import KafkaConnection
    from .progress import ProgressReader

    kinds = topics.names(EVENT_TOPICS)
    # Live, event time is wall time and the learner keeps up; a replay compresses months into minutes,
    # and without this wait the learner fell months of event time behind the predictions (the shop
    # run's model had learned no positive example by the time 80% of the stream was scored).
    downstream = topics.names((SCORED, LEARN_CHURN, LEARN_BURNOUT))
    reader = ProgressReader(bootstrap, topics.group, kinds + downstream)
    producer = KafkaProducer(**KafkaConnection.of(bootstrap).kafka_python_kwargs(
        acks="all", linger_ms=5, enable_idempotence=True, client_id="pulsewire-evaluate"))
    n, last_print = 0, time.monotonic()
    try:
        for i in range(0, len(records), chunk):
            for rec in records[i:i + chunk]:
                value = rec if isinstance(rec, bytes) else json.dumps(rec, ensure_ascii=False).encode()
                producer.send(topics.name(topic_for(rec)), key=key_for(rec).encode(), value=value)
                n += 1
            producer.flush(timeout=60)
            while True:
                if worker.poll() is not None:
                    raise EvaluateError(f"the worker exited early with code {worker.returncode}; see worker.log")
                p = reader.read()
                if (sum(max(0, p.lag(t)) for t in kinds) <= max_lag
                        and sum(max(0, p.lag(t)) for t in downstream) <= DOWNSTREAM_LAG_FACTOR * max_lag):
                    break
                time.sleep(0.05)
            if console is not None and time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                console.print(f"  produced {n}/{len(records)}")
    finally:
        producer.close(timeout=30)
        reader.close()
    return n


def generate(seed: int, events: int, bias: str | None = None, mode: str = "subscription", activity: bool = True):
    """The simulated SMB's first ``events`` records; with ``activity=False`` the same records without their
    activity events (the same customers and churn, so figures with and without activity compare fairly)."""
    sim, records, _ = generate_counted(seed, events, bias, mode, activity)
    return sim, records


def generate_counted(seed: int, events: int, bias: str | None = None, mode: str = "subscription",
                     activity: bool = True):
    """``generate``, and how many activity events ``activity=False`` left out of those generated."""
    from .connectors.generator import GeneratorConfig, SmbSimulation

    sim = SmbSimulation(GeneratorConfig(seed=seed, bias=bias, mode=mode))
    records = list(sim.records(limit=events))
    kept = records if activity else [r for r in records if not is_activity_record(r)]
    return sim, kept, len(records) - len(kept)


def is_activity_record(rec) -> bool:
    """An activity event (a bad record, bytes, is none).

    >>> is_activity_record({"kind": "activity"}), is_activity_record(b"not json")
    (True, False)
    """
    return isinstance(rec, dict) and rec.get("kind") == "activity"


def load_input(path: Path) -> tuple[list[dict], dict[str, int]]:
    """The events of a ``pulsewire replay`` file in event-time order, and its unusable lines per reason
    (not produced: ``pulsewire replay`` dead-letters them)."""
    from .replay import ReplayError, load_records

    try:
        records, bad = load_records(path)
    except ReplayError as exc:
        raise EvaluateError(str(exc)) from None
    if not records:
        raise EvaluateError(f"{path}: no line is an event ({len(bad)} unusable lines)")
    skipped: dict[str, int] = {}
    for b in bad:
        skipped[b.reason.value] = skipped.get(b.reason.value, 0) + 1
    return records, skipped


def load_truth(path: Path) -> dict:
    """A ground truth shaped like ``SmbSimulation.ground_truth()``, with the ids the events carry (raw
    employee ids: they are pseudonymised here with the run's key, as the worker does)."""
    try:
        truth = json.loads(Path(path).read_text())
    except OSError as exc:
        raise EvaluateError(f"cannot read the truth file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise EvaluateError(f"the truth file {path} is not JSON: {exc}") from None
    if problem := truth_problem(truth):
        raise EvaluateError(f"the truth file {path}: {problem}")
    return truth


def truth_problem(truth) -> str | None:
    """What keeps ``truth`` from being scored against, or None. Needed: ``customers`` {id: {churned,
    churned_at (when churned)}} and ``employees`` {id: {burned_out, consent; left, left_at, exit_type for
    lead times}}; other fields are ignored.

    >>> truth_problem({"customers": {"c1": {"churned": True}}, "employees": {}})
    "customers['c1']: churned is true but churned_at is not an ISO 8601 time"
    """
    from datetime import datetime

    def iso(v) -> bool:
        try:
            return isinstance(v, str) and datetime.fromisoformat(v).tzinfo is not None
        except ValueError:
            return False

    if not isinstance(truth, dict) or not all(isinstance(truth.get(k), dict) for k in ("customers", "employees")):
        return 'needs "customers" and "employees" objects (id -> facts), like `pulsewire generate --truth` writes'
    for cid, c in truth["customers"].items():
        if not isinstance(c, dict) or not isinstance(c.get("churned"), bool):
            return f"customers[{cid!r}]: churned must be true or false"
        if c["churned"] and not iso(c.get("churned_at")):
            return f"customers[{cid!r}]: churned is true but churned_at is not an ISO 8601 time"
    for eid, e in truth["employees"].items():
        if not isinstance(e, dict) or not all(isinstance(e.get(k), bool) for k in ("burned_out", "consent")):
            return f"employees[{eid!r}]: burned_out and consent must be true or false"
        if e.get("left") and e.get("exit_type") == "voluntary" and not iso(e.get("left_at")):
            return f"employees[{eid!r}]: left voluntarily but left_at is not an ISO 8601 time"
    return None


def wait_all_drained(bootstrap: str, topics: TopicMap, worker, produced: int, stall_timeout_s: float,
                     console=None) -> float:
    """Until the worker group has no lag on any topic it reads, twice in a row a few seconds apart."""
    from .progress import ProgressReader

    drain = [topics.name(t) for t in DRAIN_TOPICS]
    reader = ProgressReader(bootstrap, topics.group, drain)
    try:
        last, last_change, quiet_since, last_print = None, time.monotonic(), None, 0.0
        while True:
            if worker.poll() is not None:
                raise EvaluateError(f"the worker exited early with code {worker.returncode}; see worker.log")
            p = reader.read()
            lag = sum(max(0, p.lag(t)) for t in drain)
            scored = p.done(topics.name("scored.text"))
            if console is not None and time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                console.print(f"  through scoring {scored}/{produced}, lag {lag}")
            if lag == 0 and scored >= produced * 0.9:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 6.0:
                    return time.monotonic()
            else:
                quiet_since = None
            state = (lag, scored)
            if state != last:
                last, last_change = state, time.monotonic()
            elif time.monotonic() - last_change > stall_timeout_s:
                raise EvaluateError(f"no progress for {stall_timeout_s:.0f}s (lag {lag}); see worker.log")
            time.sleep(1.0)
    finally:
        reader.close()


def read_results(store_url: str) -> dict:
    from .store import open_store

    with open_store(store_url) as store:
        preds = store.query_dicts(
            "SELECT model, entity_id, toFloat64(toUnixTimestamp64Milli(predicted_at)) / 1000 AS t, "
            "toFloat64(probability) AS probability, toFloat64(baseline) AS baseline, n_labels, n_pos, alerted, "
            "consent, model_version FROM predictions FINAL")
        examples = store.query_dicts(
            "SELECT model, example_id AS id, toFloat64(probability) AS p, toFloat64(baseline) AS b, label AS y, "
            "n_labels, n_pos, learned FROM learn_examples FINAL")
        alerts = store.query_dicts(
            "SELECT alert_type, subject, subject_type, model_version, "
            "toFloat64(toUnixTimestamp64Milli(occurred_at)) / 1000 AS t FROM alerts_audit FINAL")
        metrics = store.query_dicts("SELECT metric, dimension, count() AS rows FROM metrics_daily FINAL "
                                    "GROUP BY metric, dimension ORDER BY metric, dimension")
    for p in preds:
        p["alerted"] = bool(p["alerted"])
    return {"predictions": preds, "examples": examples, "alerts": alerts, "metrics": metrics}


def figures_from(results: dict, truth: dict, pseudonymise, cfg, end_t: float,
                 churn_definition: str = "subscription") -> dict:
    from pulsewire.models.learners.evaluation import (evaluate_model, note_held_alerts, positives_from_truth,
                                                      propensity_reference)

    pos = positives_from_truth(truth, pseudonymise, consenting_only=True, churn_definition=churn_definition,
                               inactive_days=cfg.churn_inactive_days)
    out = {m: evaluate_model(m, results["examples"], results["predictions"], pos[m], end_t, cfg.policy(m),
                             cfg.baseline_policy(m), cfg.min_positives_to_alert) for m in ("churn", "burnout")}
    propensity_reference(out, truth, pos["churn"], {p["entity_id"] for p in results["predictions"] if p["model"] == "churn"})
    note_held_alerts(out, cfg)
    alerts = results.get("alerts", [])
    out["alerts_published"] = {k: sum(1 for a in alerts if a["alert_type"] == k) for k in ("churn", "burnout", "sentiment")}
    out["alerts_published"]["burnout_per_person"] = sum(1 for a in alerts if a["alert_type"] == "burnout"
                                                        and a["subject_type"] == "employee")
    out["model_versions_seen"] = {m: len({p["model_version"] for p in results["predictions"] if p["model"] == m})
                                  for m in ("churn", "burnout")}
    out["metrics_rows"] = results.get("metrics", [])
    employees = truth.get("employees", {})
    out["burnout_population"] = {"employees": len(employees),
                                 "consenting": sum(1 for e in employees.values() if e.get("consent"))}
    return out


def run_pipeline(opts: EvalOptions, console=None) -> dict:
    from pulsewire.infra.broker.embedded import EmbeddedBroker

    from .demo import demo_key, prepare_data_dir, start_worker, stop_process
    from .privacy import KeyRing
    from .settings import Settings
    t_start = time.monotonic()
    data_dir = opts.data_dir.resolve()
    prepare_data_dir(data_dir, keep=False)
    key = demo_key(data_dir)
    settings = Settings(data_dir=data_dir, pseudonym_key=key)
    topics = TopicMap.from_settings(settings)
    cfg = opts.learner_config()
    if opts.input is not None:
        from . import replay

        (records, skipped), truth = load_input(opts.input), load_truth(opts.truth)
        topic_for, key_for, source = replay.topic_for, replay.key_for, {"input": str(opts.input), "skipped": skipped}
    else:
        sim, records, left_out = generate_counted(opts.seed, opts.events, opts.bias, opts.mode, opts.activity)
        truth, topic_for, key_for, source = (sim.ground_truth(cfg.churn_inactive_days), sim.topic_for, sim.key_for,
                                             {"seed": opts.seed, **opts.left_out(left_out)})
    from datetime import datetime

    end_t = max(datetime.fromisoformat(r["occurred_at"]).timestamp() for r in records if isinstance(r, dict))
    broker = EmbeddedBroker(data_dir / "broker")
    worker = None
    try:
        bootstrap = broker.start()
        ensure_topics(bootstrap, topics)
        worker = start_worker(bootstrap, data_dir, key, topics=topics,
                              extra_env={**WORKER_ENV, "PULSEWIRE_LEARN_CHURN_DEFINITION": opts.definition()})
        t0 = time.monotonic()
        sent = produce_paced(bootstrap, topics, records, topic_for, key_for, worker, opts.chunk, opts.max_lag, console)
        if console is not None:
            console.print(f"sent {sent} events in {time.monotonic() - t0:.1f}s; waiting for the pipeline")
        # every event the validator passes reaches scored.text, activity too (passed on unscored); a bad
        # record is a dead letter instead
        expected = sum(1 for r in records if isinstance(r, dict))
        t_done = wait_all_drained(bootstrap, topics, worker, min(sent, expected), opts.stall_timeout_s, console)
        rc = stop_process(worker, timeout_s=60)
        worker = None
        if rc not in (0, -15):
            raise EvaluateError(f"the worker exited with code {rc}; see {data_dir / 'worker.log'}")
    finally:
        if worker is not None:
            stop_process(worker)
        broker.stop()
    results = read_results(settings.store_url)
    fig = figures_from(results, truth, KeyRing(key.encode()).pseudonymise, cfg, end_t, opts.definition())
    fig["run"] = {"mode": "pipeline", "events": sent, **source, "pipeline_s": round(t_done - t0, 1),
                  "wall_s": round(time.monotonic() - t_start, 1), "data_dir": str(data_dir), **opts.measured()}
    (data_dir / "evaluation.json").write_text(json.dumps(fig, indent=1, default=str))
    return fig


def model_sentiment(records, scorer):
    """The sentiment the score agent would give each record, for ``Replay.run``: the texts it scores
    (``to_score``) in one batched call, each result in the shape it publishes; ``None`` for the rest.

    >>> class Echo:  # a stand-in with the scorer's contract, for the doctest only
    ...     def score(self, texts):
    ...         return [type("R", (), {"to_dict": lambda self, t=t: {"label": t}})() for t in texts]
    >>> fn = model_sentiment([{"event_id": "a", "kind": "chat", "text": "slow"},
    ...                       {"event_id": "b", "kind": "activity", "type": "login"}], Echo())
    >>> fn({"event_id": "a"}), fn({"event_id": "b"})
    ({'label': 'slow'}, None)
    """
    from .agents.score import to_score

    events = [r for r in records if isinstance(r, dict)]
    idx = to_score(events)
    results = scorer.score([events[i]["text"] for i in idx]) if idx else []
    by_id = {events[i].get("event_id"): res.to_dict() for i, res in zip(idx, results)}
    return lambda ev: by_id.get(ev.get("event_id"))


def run_fast(opts: EvalOptions) -> dict:
    from pulsewire.models.learners.evaluation import (note_held_alerts, positives_from_truth, propensity_reference,
                                                      with_churn_definition)
    from pulsewire.models.learners.replay import Replay

    t0 = time.monotonic()
    sim, records, left_out = generate_counted(opts.seed, opts.events, opts.bias, opts.mode, opts.activity)
    cfg = opts.learner_config()
    r = Replay(cfg).run(records, opts.fast_sentiment(sim, records))
    days = cfg.churn_inactive_days
    truth = with_churn_definition(sim.ground_truth(days), opts.definition(), days)
    fig = r.figures(truth)
    propensity_reference(fig, truth, positives_from_truth(truth)["churn"],
                         {p["entity_id"] for p in r.predictions if p["model"] == "churn"})
    note_held_alerts(fig, cfg)
    fig["alerts_published"] = {k: sum(1 for a in r.alerts if a["alert_type"] == k) for k in ("churn", "burnout", "sentiment")}
    source = "the packaged model's sentiment" if opts.sentiment == "model" else "hidden text labels as sentiment"
    fig["run"] = {"mode": f"fast (in-process, {source})", "events": len(records),
                  "seed": opts.seed, "wall_s": round(time.monotonic() - t0, 1), **opts.measured(),
                  **opts.left_out(left_out)}
    return fig
