"""Panels that tell the truth: each checked against a small store whose answers are known
(_store_worker.TRUTH), against the sample, and against an empty store."""

from __future__ import annotations

import json

import pytest

from pulsewire.dashboards import build
from pulsewire.models.learners.processor import LearnerConfig


def _truth(results: dict) -> dict:
    return results["info"]["truth"]


def _panel(results: dict, title: str) -> dict:
    return next(p for p in results["panels"] if p["title"] == title)


def _rule(results: dict, uid: str) -> float:
    return next(r for r in results["rules"] if r["uid"] == uid)["rows"][0][0]


def test_dead_letter_rate_counts_every_dead_letter(truth_results):
    TRUTH = _truth(truth_results)
    # the validator counted none of them in pipeline_health: the rate must come from dead_letters itself
    want = TRUTH["dead_letters"] / (TRUTH["stored_events"] + TRUTH["dead_letters"])
    assert _panel(truth_results, "Dead-letter rate")["rows"] == [[round(want, 4)]]
    assert _rule(truth_results, "pulsewire-dead-letter-rate") == pytest.approx(want)
    assert want > 0.05  # so the "Dead-letter rate high" rule fires on it


def test_events_stored_counts_each_event_once_not_the_sinks_rereads(truth_results):
    TRUTH = _truth(truth_results)
    assert _panel(truth_results, "Events stored")["rows"] == [[TRUTH["stored_events"]]]


def test_dead_letter_rate_on_the_sample_matches_the_dead_letters_table(sample_results):
    stored = _panel(sample_results, "Events stored")["rows"][0][0]
    dead = sum(r[1] for r in _panel(sample_results, "Dead letters by reason (total)")["rows"])
    rate = _panel(sample_results, "Dead-letter rate")["rows"][0][0]
    assert dead > 0 and rate == round(dead / (stored + dead), 4)


def test_consumer_lag_is_the_latest_sample(truth_results):
    TRUTH = _truth(truth_results)
    assert _panel(truth_results, "Consumer lag (latest)")["rows"] == [[TRUTH["latest_lag"]]]
    assert _rule(truth_results, "pulsewire-consumer-lag") == TRUTH["latest_lag"]
    by_topic = _panel(truth_results, "Consumer lag by topic")["rows"]
    assert max(r[2] for r in by_topic) == TRUTH["max_lag"]  # the chart still shows the peak


def test_a_week_without_a_survey_is_no_data_not_suppressed(truth_results):
    heat = _panel(truth_results, "Team pulse by week (heat map)")
    assert heat["error"] is None
    weeks = truth_results["info"]["weeks"]
    cells = {(t, team): v for t, team, v in heat["rows"]}
    assert isinstance(cells[(weeks[0], "team-alpha")], float)      # 6 respondents: shown
    assert (weeks[1], "team-alpha") not in cells                   # no survey: no cell, drawn as no data
    # 3 people active: the team is merged into the suppressed row that week, and the one other team that
    # answered is hidden too, or the company's 10 answers minus beta's 7 would be alpha's 3
    assert (weeks[2], "team-alpha") not in cells
    assert cells[(weeks[2], "suppressed (<5)")] == "NaN"
    assert cells[(weeks[2], "team-beta")] == "NaN"
    assert isinstance(cells[(weeks[3], "team-beta")], float)
    assert not any(t == weeks[4] for t, _ in cells)                # nobody answered that week
    assert all(v == "NaN" or isinstance(v, float) for v in cells.values())  # never NULL


def test_team_numbers_tell_suppressed_from_no_data(truth_results):
    heat = _panel(truth_results, "Team heat map")
    rows = {r[0]: dict(zip(heat["columns"], r)) for r in heat["rows"]}
    alpha, beta = rows["team-alpha"], rows["team-beta"]
    assert isinstance(alpha["pulse (1-5)"], float) and isinstance(beta["pulse (1-5)"], float)
    assert alpha["eNPS"] == "NaN" and beta["eNPS"] is None                             # 2 people vs none
    assert alpha["comment sentiment"] is None and beta["comment sentiment"] == "NaN"   # none vs 3 people
    assert alpha["note"] == "" and beta["note"] == "comments: fewer than 10 commenters"
    assert alpha["burnout risk"] is None  # no risk scores at all: no data, not suppressed
    # the company's eNPS: 2 respondents is a suppressed value (a row with NULL); nobody would be no row
    assert _panel(truth_results, "eNPS")["rows"] == [[None]]


def test_risk_colours_come_from_the_alert_policy():
    for learner in (LearnerConfig(), LearnerConfig(churn_threshold=0.42, churn_rearm_below=0.2,
                                                   burnout_threshold=0.6, burnout_rearm_below=0.3)):
        churn, burnout = learner.policy("churn"), learner.policy("burnout")
        cust, work, *_ = build.boards(learner=learner)
        for title in ("Top churn risks", "Recent churn alerts"):
            panel = next(p for p in cust.dashboard["panels"] if p["title"] == title)
            assert _steps(panel, "churn risk") == [(None, "green"), (churn.rearm_below, "orange"),
                                                   (churn.threshold, "red")], title
        heat = next(p for p in work.dashboard["panels"] if p["title"] == "Team heat map")
        assert _steps(heat, "burnout risk")[-1] == (burnout.threshold, "red")


def _steps(panel: dict, column: str) -> list[tuple]:
    ov = next(o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == column)
    th = next(p["value"] for p in ov["properties"] if p["id"] == "thresholds")
    return [(s["value"], s["color"]) for s in th["steps"]]


def test_churn_alerts_say_which_time_is_which(truth_results):
    alerts = _panel(truth_results, "Recent churn alerts")
    cols = alerts["columns"]
    assert "event time" in cols and "sent at" in cols
    (row,) = alerts["rows"]
    rec = dict(zip(cols, row))
    assert rec["event time"] == truth_results["info"]["alert_event_time"]
    assert rec["sent at"] == truth_results["info"]["alert_sent_at"]


@pytest.mark.parametrize("which", ["truth_results", "sample_results"])
def test_long_text_ends_in_an_ellipsis(which, request):
    res = request.getfixturevalue(which)
    if which == "truth_results":
        for title in ("Top churn risks", "Recent churn alerts"):
            p = _panel(res, title)
            why = dict(zip(p["columns"], p["rows"][0]))["why"]
            assert why.endswith("…") and res["info"]["long_reason"].startswith(why[:-1]), (title, why)
            assert len(why) == build.CELL_CHARS
    for p in res["panels"]:
        for row in p["rows"]:
            for v in row:
                if isinstance(v, str):
                    assert len(v) <= build.CELL_CHARS, (p["title"], v)


def test_tables_show_human_column_names(sample_results):
    for p in sample_results["panels"]:
        shown = p["columns"] if p["type"] in ("table", "stat") else []
        numbers = [c for c, k in zip(p["columns"], p["kinds"]) if k == "number"]
        if p["type"] == "timeseries" and len(numbers) > 1:  # several values: their names are the legend
            shown = numbers
        for c in shown:
            assert "_" not in c, f"{p['title']}: raw SQL name {c!r}"
    # every coloured column of the heat map is a column the query returns (else Grafana colours nothing)
    for d in build.boards():
        for panel in d.dashboard["panels"]:
            res = next(p for p in sample_results["panels"] if p["board"] == d.uid and p["title"] == panel["title"])
            for ov in panel["fieldConfig"]["overrides"]:
                if ov["matcher"]["id"] == "byName":
                    assert ov["matcher"]["options"] in res["columns"], (panel["title"], ov["matcher"])


def test_a_series_has_one_colour_on_every_panel(sample_results):
    from pulsewire.dashboards.render import panel_color

    panels = {(b.uid, p["title"]): p for b in build.boards() for p in b.dashboard["panels"]}
    checked = set()
    for res in sample_results["panels"]:
        if res["type"] not in ("timeseries", "barchart"):
            continue
        panel = panels[(res["board"], res["title"])]
        labels = {v for row in res["rows"] for v, k in zip(row, res["kinds"]) if k == "string"}
        for name in labels & set(build.SERIES_COLORS):
            # Grafana gets the fixed colour from the panel itself; the board draws with the same lookup
            assert panel_color(panel, name) == build.SERIES_COLORS[name], (res["title"], name)
            checked.add(name)
    assert {"chat", "email", "validate", "sink", "malformed_json", "events.chat"} <= checked
    for names in build.SERIES_DOMAINS.values():  # distinct inside one chart
        assert len({build.SERIES_COLORS[n] for n in names}) == min(len(names), len(build.PALETTE))


def test_an_empty_store_gives_no_data_and_valid_sql(empty_results):
    assert len(empty_results["panels"]) == 42
    for p in empty_results["panels"]:
        assert p["error"] is None, f"{p['board']} / {p['title']}: {p['error']}"
        values = [v for row in p["rows"] for v in row]
        assert all(v is None for v in values), f"{p['board']} / {p['title']} shows {json.dumps(p['rows'])}"
    for r in empty_results["rules"]:
        assert r["error"] is None and r["rows"] == [[0]] or r["rows"] == [[0.0]], r
