"""A backfill before go-live (``PULSEWIRE_LEARN_ALERTS_FROM``): the history trains the learners and
fills the metrics but alerts nobody; episodes still open at go-live alert once, after it."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from pulsewire.models.learners.features import event_time
from pulsewire.models.learners.metrics import apply, contributions, new_dim_state
from pulsewire.models.learners.processor import LearnerConfig
from pulsewire.models.learners.replay import Replay, hidden_label_sentiment
from pulsewire.schemas.alerts import make_cloudevent
from pulsewire.streams.connectors.generator import GeneratorConfig, SmbSimulation

from .helpers import NEG, POS, T0, ev

CFG = LearnerConfig(min_positives_to_alert=0)  # alerts from the start, so a short stream has many


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


@pytest.fixture(scope="module")
def stream():
    sim = SmbSimulation(GeneratorConfig(seed=11, activity=False))
    records = [r for r in sim.records(limit=6000) if isinstance(r, dict) and "kind" in r]
    sentiment = hidden_label_sentiment(sim.text_labels)
    scored = [(r, sentiment(r)) for r in records]
    times = sorted(event_time(r) for r in records)
    return scored, times


def _run(scored, cfg) -> Replay:
    r = Replay(cfg)
    for e, s in scored:
        r.feed(e, s)
    return r


def test_history_before_go_live_alerts_nobody_and_open_episodes_alert_once_after(stream):
    scored, times = stream
    live = times[len(times) // 2]
    plain, backfill = _run(scored, CFG), _run(scored, replace(CFG, alerts_from=_iso(live)))

    assert sum(a["t"] < live for a in plain.alerts) >= 10  # the history does raise alerts when allowed
    assert {a["subject_type"] for a in plain.alerts if a["t"] < live} >= {"customer", "employee", "team"}
    assert [a for a in backfill.decisions if a["t"] < live] == []  # nothing before go-live, of any kind
    assert len([a for a in backfill.alerts if a["t"] >= live]) >= 10

    # learning, predictions and metrics are the history's whatever alerts_from says
    assert [(p["event_id"], p["probability"]) for p in backfill.predictions] == \
        [(p["event_id"], p["probability"]) for p in plain.predictions]
    assert [(x["pred_event_id"], x["y"]) for x in backfill.examples] == \
        [(x["pred_event_id"], x["y"]) for x in plain.examples]
    assert backfill.metric_rows == plain.metric_rows
    assert not any(p["alerted"] for p in backfill.predictions if p["t"] < live)

    # an episode opened in the history and still open at go-live reaches the consumer, once
    carried = [a for a in backfill.alerts if a.get("episode") and a["episode"]["t"] < live]
    assert carried
    ids = [make_cloudevent(a)["id"] for a in backfill.alerts]
    assert len(ids) == len(set(ids))


def test_alerts_from_before_the_first_event_changes_nothing(stream):
    scored, times = stream
    plain = _run(scored[:3000], CFG)
    early = _run(scored[:3000], replace(CFG, alerts_from=_iso(times[0] - 1)))
    assert plain.alerts and [make_cloudevent(a)["id"] for a in early.alerts] == \
        [make_cloudevent(a)["id"] for a in plain.alerts]


def test_a_sentiment_spike_before_go_live_is_not_sent():
    def spikes(alerts_from):
        st, alerts = new_dim_state(), []
        for day in range(20):
            bad = day in (12, 13, 14)
            for i in range(20):
                s = NEG if (i < (14 if bad else 3)) else POS
                e = ev("chat", "message", day, hour=i * 0.3, customer_id=f"c{i}", author_role="customer",
                       conversation_id="q", text="x", channel="web-chat")
                st, _, a = apply(st, "channel:web-chat", [it for d, it in contributions(e, s, "customer")
                                                          if d == "channel:web-chat"], alerts_from=alerts_from)
                alerts += a
        return alerts

    assert len(spikes(None)) == 1
    assert spikes(T0.timestamp() + 30 * 86400) == []


@pytest.mark.parametrize("value", ["2026-12-01", "2026-12-01T00:00:00", "tomorrow", "2026-13-01T00:00:00Z",
                                   "2026-12-01T00:00:00+25:00"])
def test_a_go_live_that_is_not_an_aware_time_is_refused_with_the_variable_named(value):
    with pytest.raises(ValueError, match=r"^PULSEWIRE_LEARN_ALERTS_FROM: '.*' is not an ISO 8601 time with its zone"):
        LearnerConfig.from_env({"PULSEWIRE_LEARN_ALERTS_FROM": value})


@pytest.mark.parametrize("value", ["2026-12-01T00:00:00+01:00", " 2026-11-30T23:00:00Z ", "2026-11-30T23:00:00z"])
def test_a_go_live_is_read_as_written(value):
    cfg = LearnerConfig.from_env({"PULSEWIRE_LEARN_ALERTS_FROM": value})
    assert cfg.alerts_from == value.strip() and cfg.alerts_from_t == T0.replace(2026, 11, 30, 23, 0).timestamp()


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_go_live_is_unset(value):
    cfg = LearnerConfig.from_env({"PULSEWIRE_LEARN_ALERTS_FROM": value})
    assert cfg.alerts_from_t is None and not cfg.quiet(0.0) and cfg.alerts_from_line(0.0) is None


def test_evaluate_judges_every_alert_whatever_go_live_the_shell_has(tmp_path):
    """A go-live left set in the shell would hide the alerts evaluate judges: it is ignored, and said."""
    def evaluate(**env):
        run = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "evaluate", "--fast", "-n", "3000",
                              "--seed", "11", "--json"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                             env={**os.environ, "PULSEWIRE_DATA_DIR": str(tmp_path / "data"), **env})
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout), run.stderr

    plain, _ = evaluate()
    after_the_stream, said = evaluate(PULSEWIRE_LEARN_ALERTS_FROM="2999-01-01T00:00:00Z")
    assert sum(plain["alerts_published"].values()) > 0
    assert after_the_stream["alerts_published"] == plain["alerts_published"]
    assert "PULSEWIRE_LEARN_ALERTS_FROM (a worker's go-live) is ignored here" in said
