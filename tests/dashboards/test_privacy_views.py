"""Small-group leaks, reproduced through the real panel SQL on chDB, and what Grafana's user may read.

Each scenario fills its own store (_privacy_worker.py, in a subprocess: chDB runs one store per process)
in whole ISO weeks that are over, relative to today, and reads it back the way a dashboard viewer can:
every panel of every board over the given ranges, and every view Grafana's read-only user is granted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pulsewire.streams.store_access import GRANTED, NOT_GRANTED, grafana_user_statements

HERE = Path(__file__).resolve().parent
NOW = datetime.now(timezone.utc)
THIS_MONDAY = (NOW - timedelta(days=NOW.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
WEEK_A = THIS_MONDAY - timedelta(weeks=2)
WEEK_B = THIS_MONDAY - timedelta(weeks=1)
WORKFORCE = "pulsewire-workforce/"


def _run(tmp_path: Path, spec: dict) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec_file, out = tmp_path / "spec.json", tmp_path / "out.json"
    spec_file.write_text(json.dumps(spec, default=str))
    proc = subprocess.run([sys.executable, str(HERE / "_privacy_worker.py"), str(spec_file), str(out)],
                          capture_output=True, text=True, timeout=240, cwd=HERE,
                          env={**os.environ, "PYTHONPATH": str(HERE)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    res = json.loads(out.read_text())
    for panels in res["ranges"]:
        for title, p in panels.items():
            assert p["error"] is None, (title, p["error"])
    return res


def _ev(eid: str, team: str, person: int, at: datetime, **fields) -> dict:
    return {"event_id": eid, "source": "hris", "kind": "hr", "type": "pulse", "occurred_at": at.isoformat(),
            "employee_id": f"emp-{team}-{person}", "team_id": team, **fields}


def _answers(team: str, people: int, week: datetime, kind: str = "enps", answer=9, offset: int = 0) -> list[dict]:
    """One answer per person, each an hour after the previous one, on the Tuesday of ``week``."""
    return [_ev(f"{kind}-{team}-{week:%Y%m%d}-{i}", team, i, week + timedelta(days=1, hours=offset + i),
                type=kind, answer=answer(i) if callable(answer) else answer) for i in range(people)]


def _rows(panel: dict) -> list[dict]:
    return [dict(zip(panel["columns"], r)) for r in panel["rows"]]


def _heat(res: dict, i: int = 0) -> dict[str, dict]:
    return {r["team"]: r for r in _rows(res["ranges"][i][WORKFORCE + "Team heat map"])}


def _shown(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _assert_no_small_remainder(res: dict) -> None:
    """Company total minus the teams whose value a viewer can read is nobody, or at least the minimum group,
    for every week and measure (complementary suppression)."""
    g = res["thresholds"]["min_group"]
    team_rows = _rows(res["granted"]["workforce_team_week"])
    for company in _rows(res["granted"]["workforce_company_week"]):
        teams = [r for r in team_rows if r["week"] == company["week"] and r["team"]]
        for measure, count in (("pulse", "pulse_k"), ("enps", "enps_k")):
            if company[f"{measure}_state"] == "shown":
                shown = sum(r[count] for r in teams if r[f"{measure}_state"] == "shown")
                # answers stand in for people: every scenario gives one answer per person and week
                rest = company[count] - shown
                assert rest == 0 or rest >= g, (company["week"], measure, company[count], shown)
        if company["alerts_state"] == "shown":
            # a named team's 'none' reads as 0 alerts: its people are as known as a shown team's
            known = sum(r["people"] for r in teams if r["alerts_state"] in ("shown", "none"))
            rest = company["people"] - known
            assert rest == 0 or rest >= g, (company["week"], "alerts", company["people"], known)


def _values(doc) -> list:
    """Every scalar in a JSON-shaped document, numbers as numbers and strings as strings.

    >>> _values({"a": [1, "31.5", {"b": 2.0}], "c": None})
    [1, '31.5', 2.0, None]
    """
    if isinstance(doc, dict):
        return [v for x in doc.values() for v in _values(x)]
    if isinstance(doc, (list, tuple)):
        return [v for x in doc for v in _values(x)]
    return [doc]


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
def test_one_persons_overtime_is_never_shown(tmp_path):
    """A team of six answers the pulse; one of them logs overtime: the team qualifies, the overtime
    figure would be that one person's hours."""
    events = _answers("team-six", 6, WEEK_A, "pulse", 4)
    events.append(_ev("ot-1", "team-six", 0, WEEK_A + timedelta(days=2), type="overtime", hours=31.5))
    res = _run(tmp_path, {"events": events, "ranges": [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]})
    row = next(r for t, r in _heat(res).items() if t == "team-six")
    overtime = next(v for k, v in row.items() if k.startswith("overtime"))
    assert overtime == "NaN", row  # suppressed: one person with overtime
    assert isinstance(row["pulse (1-5)"], float)  # six respondents: shown
    # nowhere, as a number or in a text; a time whose seconds read "31.5" is not the person's hours
    leaks = [v for v in _values(res) if v == 31.5 or (isinstance(v, str) and "31.5" in v and not _is_time(v))]
    assert leaks == [], leaks


def test_a_one_person_team_is_never_shown(tmp_path):
    """One person's 12 negative messages, and metrics rows whose n counts the 12 texts, not the person."""
    events = [_ev(f"msg-solo-{i}", "team-solo", 0, WEEK_A + timedelta(days=1, hours=i), kind="chat",
                  type="message", source="slack", text="sample text (test data)", sentiment_label="negative",
                  sentiment_score=-0.9) for i in range(12)]
    events += _answers("team-big", 12, WEEK_A, "pulse", 3)
    day = (WEEK_A + timedelta(days=2)).date().isoformat()
    metrics = [[day, "sentiment_employee", "team", "team-solo", -0.9, 12],
               [day, "voluntary_turnover_rate", "team", "team-solo", 100.0, 12],
               [day, "burnout_mean_risk", "team", "team-solo", 0.93, 12]]
    res = _run(tmp_path, {"events": events, "metrics": metrics,
                          "ranges": [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]})
    blob = json.dumps(res)
    assert "team-solo" not in blob and "emp-team-solo" not in blob
    assert "-0.9" not in blob and "0.93" not in blob
    assert "team-big" in json.dumps(res["ranges"])  # the large team is there: the panels did run


def test_moving_the_range_by_minutes_reveals_no_answer(tmp_path):
    """Five promoters, then a sixth respondent, a detractor, an hour later: a range that ends between
    them and one that ends just after the sixth must show the same numbers."""
    events = _answers("team-x", 6, WEEK_B, "enps", lambda i: 10 if i < 5 else 0)
    events += _answers("team-x", 6, WEEK_B, "pulse", lambda i: 5 if i < 5 else 1, offset=10)
    sixth = WEEK_B + timedelta(days=1, hours=5)
    ranges = [[WEEK_A.isoformat(), (sixth - timedelta(minutes=2)).isoformat()],
              [WEEK_A.isoformat(), (sixth + timedelta(minutes=2)).isoformat()],
              [(WEEK_B + timedelta(minutes=7)).isoformat(), (sixth + timedelta(hours=11)).isoformat()]]
    # a week in progress is never shown: its numbers change as answers arrive
    current = max(THIS_MONDAY, NOW - timedelta(minutes=1))
    events += [_ev(f"enps-now-{i}", "team-x", i, current, type="enps", answer=0) for i in range(6)]
    ranges.append([WEEK_A.isoformat(), NOW.isoformat()])
    res = _run(tmp_path, {"events": events, "ranges": ranges})
    first = {k: v for k, v in res["ranges"][0].items() if k.startswith(WORKFORCE)}
    for other in res["ranges"][1:]:
        assert {k: v for k, v in other.items() if k.startswith(WORKFORCE)} == first
    enps = res["ranges"][0][WORKFORCE + "eNPS"]["rows"]
    assert enps == [[round(100 * (5 - 1) / 6, 1)]]  # the whole week, all six answers
    weeks = {r[0] for r in res["ranges"][3][WORKFORCE + "eNPS over time"]["rows"]}
    assert weeks == {WEEK_B.isoformat()}


def test_the_company_total_never_gives_a_hidden_team_away(tmp_path):
    """Teams of 8, 6 and 3 answer eNPS; the 3 are all detractors. With the company's eNPS and both larger
    teams shown, (company x 17 - a x 8 - b x 6) / 3 would be the small team's eNPS."""
    events = (_answers("team-a", 8, WEEK_A) + _answers("team-b", 6, WEEK_A)
              + _answers("team-c", 3, WEEK_A, answer=0))
    day = (WEEK_A + timedelta(days=3)).date().isoformat()
    metrics = [[day, "voluntary_turnover_rate", "all", "", 100 / 17, 17],
               [day, "voluntary_turnover_rate", "team", "team-a", 0.0, 8],
               [day, "voluntary_turnover_rate", "team", "team-b", 0.0, 6],
               [day, "voluntary_turnover_rate", "team", "team-c", 100 / 3, 3]]
    res = _run(tmp_path, {"events": events, "metrics": metrics,
                          "ranges": [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]})
    panels = res["ranges"][0]
    company = panels[WORKFORCE + "eNPS"]["rows"][0][0]
    assert company == round(100 * (14 - 3) / 17, 1)
    heat = _heat(res)
    assert heat["team-a"]["eNPS"] == 100.0
    assert heat["team-b"]["eNPS"] == "NaN"  # hidden too: the next-smallest team
    assert "team-c" not in heat and heat["suppressed (<5)"]["eNPS"] == "NaN"
    turnover = {(r["team"]) for r in _rows(panels[WORKFORCE + "Voluntary turnover by team"])
                if r["turnover"] is not None}
    assert turnover == {"company", "team-a"}
    _assert_no_small_remainder(res)


def test_alert_counts_never_give_a_small_team_away(tmp_path):
    """Teams of 8 (no alert), 9 (two alerts) and 3 (one alert), and customers' chats that carry an agent's
    id but no team. Company alerts (3) minus the larger teams' counts (0 and 2) would be the small team's one
    alert: the agents must not count as hidden people, and a team hidden by the complementary rule must not
    read as 'no alerts'."""
    events = (_answers("team-a", 8, WEEK_A, "pulse", 4) + _answers("team-b", 9, WEEK_A, "pulse", 3)
              + _answers("team-c", 3, WEEK_A, "pulse", 2))
    events += [{"event_id": f"cust-chat-{i}", "source": "intercom", "kind": "chat", "type": "message",
                "occurred_at": (WEEK_A + timedelta(days=3, minutes=i)).isoformat(), "customer_id": f"cust-{i}",
                "employee_id": f"agent-{i}", "text": "sample text (test data)", "sentiment_label": "positive",
                "sentiment_score": 0.8} for i in range(20)]
    at = (WEEK_A + timedelta(days=4)).isoformat()
    alerts = [["team-b", "emp-team-b-0", at], ["team-b", "emp-team-b-1", at], ["team-c", "emp-team-c-0", at]]
    res = _run(tmp_path, {"events": events, "alerts": alerts, "ranges": [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]})
    panels = res["ranges"][0]
    assert panels[WORKFORCE + "Burnout alerts"]["rows"] == [[3]]
    by_team = {r["team"]: r["alerts"] for r in _rows(panels[WORKFORCE + "Burnout alerts by team"])}
    assert by_team["team-b"] == 2 and by_team.get("team-a") is None and by_team["suppressed (<5)"] is None
    team_a = next(r for r in _rows(res["granted"]["workforce_team_week"]) if r["team"] == "team-a")
    assert team_a["alerts_state"] == "suppressed"
    _assert_no_small_remainder(res)


def test_thresholds_come_from_the_settings_and_can_only_be_raised(tmp_path):
    events = (_answers("team-six", 6, WEEK_A, "pulse", 4) + _answers("team-eight", 8, WEEK_A, "pulse", 3)
              + _answers("team-ten", 10, WEEK_A, "pulse", 2))
    span = [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]
    raised = _run(tmp_path / "raised", {"events": events, "ranges": span,
                                        "access": {"min_group_size": 7, "min_comment_group_size": 12}})
    assert raised["thresholds"] == {"min_group": 7, "min_comment_group": 12}
    heat = _heat(raised)
    assert "team-six" not in heat and heat["suppressed (<7)"]["pulse (1-5)"] == "NaN"
    assert heat["team-eight"]["pulse (1-5)"] == "NaN"  # the complementary rule: 6 hidden people are too few
    assert heat["team-ten"]["pulse (1-5)"] == 2.0
    # a row written into privacy_settings by hand cannot go below the floors
    lowered = _run(tmp_path / "lowered", {"events": events, "ranges": span,
                                          "settings_rows": [["min_group_size", 2], ["min_comment_group_size", 1]]})
    assert lowered["thresholds"] == {"min_group": 5, "min_comment_group": 10}
    assert _heat(lowered)["team-six"]["pulse (1-5)"] == 4.0


def test_every_view_grafana_reads_holds_no_person():
    assert not set(GRANTED) & set(NOT_GRANTED)
    sql = (HERE.parents[1] / "infra/clickhouse/0042_privacy_views.sql").read_text()
    views = re.findall(r"CREATE VIEW IF NOT EXISTS (\w+) SQL SECURITY DEFINER AS", sql)
    assert len(views) == sql.count("CREATE VIEW")  # every view runs with its definer's rights
    for name in views:
        assert (name in GRANTED) != (name in NOT_GRANTED), f"{name}: say whether Grafana may read it"


def test_grafana_user_statements_parse_in_clickhouse():
    """chDB has no user directory (CREATE USER is refused there); ClickHouse's own parser checks the DDL the
    store runs on a server."""
    stmts = grafana_user_statements("pulsewire_grafana", "a 'quoted' secret\\", GRANTED)
    assert "secret" not in " ".join(stmts)  # only its SHA-256 goes to the server (and its query log)
    code = ("import chdb, json, sys\n"
            "for s in json.load(sys.stdin): print(chdb.query('EXPLAIN AST ' + s, 'TSV'))")
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(stmts), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("CreateUserQuery") == 2 and proc.stdout.count("GrantQuery") == len(GRANTED) + 1


def test_the_grafana_user_name_is_checked_where_it_is_set():
    from pydantic import ValidationError

    from pulsewire.streams.settings import Settings

    assert Settings(grafana_store_user="pulsewire_grafana").grafana_store_user == "pulsewire_grafana"
    with pytest.raises(ValidationError, match="letters, digits and '_'"):
        Settings(grafana_store_user="grafana`; DROP TABLE events_scored")
    with pytest.raises(ValueError, match="needs a password"):
        grafana_user_statements("pulsewire_grafana", "")


def _viewer_sees(res: dict) -> dict:
    """Everything about employees a dashboard viewer can read: the workforce panels and granted views."""
    return {"panels": [{k: v for k, v in r.items() if k.startswith(WORKFORCE)} for r in res["ranges"]],
            "views": {k: v for k, v in res["granted"].items() if k.startswith("workforce_")}}


def _presence(team: str, people: int, week: datetime) -> list[dict]:
    """Each person active in ``week`` (a chat message without sentiment: no answer, no comment)."""
    return [_ev(f"seen-{team}-{week:%Y%m%d}-{i}", team, i, week + timedelta(days=2, hours=i), kind="chat",
                type="message", source="slack", text="sample text (test data)") for i in range(people)]


def test_whose_alert_it_is_does_not_show(tmp_path):
    """A team of 6 (hidden by the complementary rule) and a team of 3 (merged): one burnout alert, in the
    one team or in the other. The company shows 1 alert; what the teams show must not say whose it is."""
    events = _presence("team-support", 6, WEEK_A) + _presence("team-small", 3, WEEK_A)
    at = (WEEK_A + timedelta(days=4)).isoformat()
    span = [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]
    support = _run(tmp_path / "support", {"events": events, "ranges": span,
                                          "alerts": [["team-support", "emp-team-support-0", at]]})
    small = _run(tmp_path / "small", {"events": events, "ranges": span,
                                      "alerts": [["team-small", "emp-team-small-0", at]]})
    assert support["ranges"][0][WORKFORCE + "Burnout alerts"]["rows"] == [[1]]
    by_team = {r["team"]: r["alerts"] for r in _rows(support["ranges"][0][WORKFORCE + "Burnout alerts by team"])}
    assert by_team == {"team-support": None, "suppressed (<5)": None}
    assert _viewer_sees(support) == _viewer_sees(small)
    _assert_no_small_remainder(support)
    _assert_no_small_remainder(small)


def test_whether_a_small_group_answered_does_not_show(tmp_path):
    """Teams of 6 and 8 run no survey in a week; a team of 3 answers pulse and eNPS, logs overtime and
    writes comments, or does none of it. The viewer must read the same either way ('suppressed' both times,
    never 'no survey' for the merged row or the company)."""
    quiet = _presence("team-a", 6, WEEK_B) + _presence("team-b", 8, WEEK_B) + _presence("team-c", 3, WEEK_B)
    answered = quiet + _answers("team-c", 3, WEEK_B, "pulse", 2) + _answers("team-c", 3, WEEK_B, "enps", 0,
                                                                             offset=5)
    answered += [_ev(f"ot-c-{i}", "team-c", i, WEEK_B + timedelta(days=3, hours=i), type="overtime", hours=12.0)
                 for i in range(3)]
    answered += [_ev(f"msg-c-{i}", "team-c", i, WEEK_B + timedelta(days=4, hours=i), kind="chat", type="message",
                     source="slack", text="sample text (test data)", sentiment_label="negative",
                     sentiment_score=-0.7) for i in range(3)]
    span = [[WEEK_A.isoformat(), THIS_MONDAY.isoformat()]]
    res_quiet = _run(tmp_path / "quiet", {"events": quiet, "ranges": span})
    res_answered = _run(tmp_path / "answered", {"events": answered, "ranges": span})
    merged = next(r for r in _rows(res_quiet["granted"]["workforce_team_week"]) if r["team"] == "")
    assert {merged[f"{m}_state"] for m in ("alerts", "pulse", "enps", "comment", "overtime")} == {"suppressed"}
    assert _viewer_sees(res_quiet) == _viewer_sees(res_answered)


def test_the_board_names_the_thresholds_in_force(tmp_path):
    """The worker raised the thresholds to 7 and 12; the board, rendered with the defaults, must say 7 and 12.
    Two teams of 8 and 3: the board must count 1 shown and 1 suppressed team."""
    events = (_answers("team-eight", 8, WEEK_A, "pulse", 3) + _answers("team-three", 3, WEEK_A, "pulse", 2)
              + _answers("team-eight", 8, WEEK_B, "pulse", 3) + _presence("team-three", 3, WEEK_B)
              + _presence("team-new", 2, WEEK_A))
    span = [WEEK_A.isoformat(), THIS_MONDAY.isoformat()]
    res = _run(tmp_path, {"events": events, "ranges": [span], "board": span,
                          "access": {"min_group_size": 7, "min_comment_group_size": 12}})
    html = res["board_html"]
    assert "at least 7 distinct people (12 for comment sentiment)" in html
    assert "suppressed (&lt;7 respondents)" in html
    assert "&lt;5" not in html and "at least 5 " not in html and "(10 for" not in html
    teams = _rows(res["ranges"][0][WORKFORCE + "Teams shown / suppressed"])
    assert teams == [{"teams shown": 1, "teams suppressed": 1}]  # the latest week: team-eight, team-three
