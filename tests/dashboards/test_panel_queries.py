"""Every panel's and alert rule's SQL, macros expanded, against an embedded ClickHouse filled with
data: no errors, rows of the types the panel draws, and small-group suppression."""

from __future__ import annotations

import json

import pytest

SUPPRESSED = "suppressed (<5)"


def _expect_types(p: dict) -> None:
    kinds, t = p["kinds"], p["type"]
    where = f"{p['board']} / {p['title']}: {list(zip(p['columns'], p['types']))}"
    if t in ("timeseries", "status-history"):
        assert kinds[0] == "time", where
        assert "number" in kinds[1:], where
        assert all(k in ("string", "number") for k in kinds[1:]), where
    elif t == "stat":
        assert kinds and all(k == "number" for k in kinds), where
        assert len(p["rows"]) == 1, where
    elif t == "barchart":
        assert kinds[0] == "string" and all(k == "number" for k in kinds[1:]) and len(kinds) >= 2, where
    elif t == "table":
        assert "other" not in kinds, where
    else:  # pragma: no cover
        raise AssertionError(f"unexpected panel type {t}")


def test_every_panel_runs_and_fills_on_the_sample(sample_results):
    panels = sample_results["panels"]
    assert len(panels) == 42
    for p in panels:
        assert p["error"] is None, f"{p['board']} / {p['title']}: {p['error']}"
        assert p["rows"], f"{p['board']} / {p['title']} returned no rows"
        _expect_types(p)
        if p["type"] == "stat":
            assert any(v is not None for v in p["rows"][0]), p["title"]


def test_every_panel_runs_on_generator_events(generator_results):
    for p in generator_results["panels"]:
        assert p["error"] is None, f"{p['board']} / {p['title']}: {p['error']}"
        if p["rows"]:
            _expect_types(p)
    filled = [p["title"] for p in generator_results["panels"] if p["rows"]]
    assert len(filled) >= 25, filled


@pytest.mark.parametrize("which", ["sample_results", "generator_results"])
def test_alert_rules_return_one_number(which, request):
    res = request.getfixturevalue(which)
    assert len(res["rules"]) == 4
    for r in res["rules"]:
        assert r["error"] is None, r
        assert len(r["rows"]) == 1 and len(r["rows"][0]) == 1, r
        assert r["kinds"] == ["number"] and r["rows"][0][0] is not None, r


def test_negative_spike_rule_fires_at_the_planted_spike(sample_results):
    at_spike = sample_results["spike_rule_at_spike"]
    assert at_spike["error"] is None
    assert at_spike["rows"][0][0] > 0.2  # the rule's threshold
    quiet = next(r for r in sample_results["rules"] if r["uid"] == "pulsewire-negative-spike")
    assert quiet["rows"][0][0] <= 0.2


@pytest.mark.parametrize("which", ["sample_results", "generator_results"])
def test_a_team_below_five_never_appears(which, request):
    res = request.getfixturevalue(which)
    small = {t for t, n in res["team_sizes"].items() if n < 5}
    if which == "sample_results":
        assert res["team_sizes"]["team-legal"] == 4 and small == {"team-legal"}
    if not small:
        pytest.skip("the generator made no team below 5 with this seed")
    hidden = small | set(res["small_team_employees"])
    for p in res["panels"]:
        blob = json.dumps(p["rows"])
        for ident in hidden:
            assert ident not in blob, f"{ident} shows on {p['board']} / {p['title']}"


def test_suppression_is_visible_as_such(sample_results):
    team_panels = [p for p in sample_results["panels"] if p["team_panel"]]
    assert {p["title"] for p in team_panels} == {"Team heat map", "Burnout alerts by team",
                                                   "Team pulse by week (heat map)", "Voluntary turnover by team"}
    for p in team_panels:
        labels = [v for row in p["rows"] for v in row if isinstance(v, str)]
        assert SUPPRESSED in labels, f"{p['title']} hides the small team silently"
        ti = p["columns"].index("team")
        for row in p["rows"]:
            if row[ti] == SUPPRESSED:  # a suppressed row carries no number (NULL, or NaN in the weekly heat map)
                numbers = [v for c, v in zip(p["columns"], row) if c not in ("team", "teams", "time", "note")]
                assert all(v is None or v == "NaN" for v in numbers), (p["title"], row)
    stat = next(p for p in sample_results["panels"] if p["title"] == "Teams shown / suppressed")
    assert stat["rows"] == [[4, 1]]


def test_comment_sentiment_needs_ten_commenters(sample_results):
    heat = next(p for p in sample_results["panels"] if p["title"] == "Team heat map")
    cols = heat["columns"]
    checked = 0
    for row in heat["rows"]:
        rec = dict(zip(cols, row))
        if rec["team"] == SUPPRESSED:
            continue
        commenters = sample_results["commenters"][rec["team"]]
        if commenters == 0:  # no comments: no data
            assert rec["comment sentiment"] is None and rec["note"] == ""
        elif commenters < 10:  # too few commenters: suppressed (NaN)
            assert rec["comment sentiment"] == "NaN" and "fewer than 10 commenters" in rec["note"]
        else:
            assert rec["comment sentiment"] is not None
        checked += 1
    assert checked == 4


def test_lag_writer_round_trip(sample_results):
    assert sample_results["lag_written"] == 2
    assert sample_results["lag_rows"] == [["events.chat", -1, 40, 100, 60], ["events.chat", 0, 10, 30, 20]]


@pytest.mark.parametrize("which", ["sample_results", "empty_results"])
def test_every_panel_reads_only_what_grafana_may_read(which, request):
    """Grafana's ClickHouse user has SELECT on the privacy views and pipeline aggregates only: a panel, an
    alert rule or the board's time anchor that read anything else would fail in Grafana (and, on a store
    without that user, would read per-person rows)."""
    from pulsewire.streams.store_access import GRANTED

    res = request.getfixturevalue(which)
    queries = [(f"{p['board']} / {p['title']}", p["reads"]) for p in res["panels"]]
    queries += [(r["uid"], r["reads"]) for r in res["rules"]] + list(res["anchors"].items())
    assert len(queries) == 42 + 4 + 4
    for name, reads in queries:
        assert reads, f"{name} reads nothing?"
        assert set(reads) <= set(GRANTED), f"{name} reads {sorted(set(reads) - set(GRANTED))}"
