"""The SMB metrics math, small-group suppression, sentiment spikes, team-level burnout."""

import pytest

from pulsewire.models.learners.metrics import apply, contributions, new_dim_state
from pulsewire.streams.settings import Settings

from .helpers import NEG, POS, ev


def _apply(dim, items, **kw):
    return apply(new_dim_state(), dim, items, **kw)


def _items(dim_filter, events):
    out = []
    for e, s, et, team in events:
        out += [it for d, it in contributions(e, s, et, team, entity_id=e.get("employee_id")) if d == dim_filter]
    return out


def test_enps_csat_and_sentiment():
    evs = [(ev("hr", "enps", 0, employee_id=f"emp_{i}", team_id="t", score=v), None, "employee", "t")
           for i, v in enumerate([10, 9, 8, 6, 0, 9])]
    _, rows, _ = _apply("team:t", _items("team:t", evs))
    enps = [r for r in rows if r["metric"] == "enps"]
    assert len(enps) == 1 and enps[0]["value"] == pytest.approx(100 * (3 - 2) / 6, abs=1e-3) and enps[0]["n"] == 6
    cs = [(ev("ticket", "rated", 0, customer_id=f"c{i}", ticket_id="x", csat=v, channel="email"), None, "customer", "")
          for i, v in enumerate([5, 4, 2, 1])]
    cs += [(ev("chat", "message", 0, customer_id="c9", author_role="customer", conversation_id="q", text="x",
               channel="email"), s, "customer", "") for s in (NEG, POS)]
    _, rows, _ = _apply("channel:email", _items("channel:email", cs))
    got = {r["metric"]: (r["value"], r["n"]) for r in rows}
    assert got["csat"] == (50.0, 4) and got["sentiment_customer"] == (0.0, 2)


def test_small_groups_are_suppressed():
    evs = [(ev("hr", "enps", 0, employee_id=f"emp_{i}", team_id="t", score=9), None, "employee", "t") for i in range(4)]
    _, rows, _ = _apply("team:t", _items("team:t", evs), min_group_size=5)
    assert rows == []
    comments = [(ev("chat", "message", 0, employee_id=f"emp_{i}", team_id="t", author_role="employee",
                    conversation_id="c", text="x"), NEG, "employee", "t") for i in range(9)]
    _, rows, _ = _apply("team:t", _items("team:t", comments), min_comment_group_size=10)
    assert [r for r in rows if r["metric"] == "sentiment_employee"] == []
    _, rows, _ = _apply("team:t", _items("team:t", comments * 2), min_comment_group_size=10)
    assert [r for r in rows if r["metric"] == "sentiment_employee"] == []  # 18 texts, but 9 people
    ten = comments + [(ev("chat", "message", 0, employee_id="emp_9", team_id="t", author_role="employee",
                          conversation_id="c", text="x"), NEG, "employee", "t")]
    _, rows, _ = _apply("team:t", _items("team:t", ten * 2), min_comment_group_size=10)
    assert [r["n"] for r in rows if r["metric"] == "sentiment_employee"] == [10]  # n counts people


def _day_of_texts(team, day, authors, per_author, negative):
    return [(ev("chat", "message", day, employee_id=a, team_id=team, author_role="employee", conversation_id="c",
                text="x"), NEG if i < negative else POS, "employee", team)
            for i, (a, _) in enumerate((a, j) for j in range(per_author) for a in authors)]


@pytest.mark.parametrize("authors, alerted", [(["emp_solo"], False), ([f"emp_{i}" for i in range(12)], True)])
def test_team_sentiment_numbers_and_alerts_count_people_not_texts(authors, alerted):
    """The issue's finding: a one-person team writing 12 messages got "12 of 12 messages negative (100%)"."""
    per_author = 12 // len(authors)
    evs = []
    for day in range(7):  # a usual week (1 of 12 negative), then a day of 12 negative messages, then one more day
        evs += _day_of_texts("t", day, authors, per_author, 1)
    evs += _day_of_texts("t", 7, authors, per_author, 12) + _day_of_texts("t", 8, authors, 1, 0)
    st, rows, alerts = new_dim_state(), [], []
    for e in evs:  # one event at a time, as the aggregator sees them
        st, r, a = apply(st, "team:t", _items("team:t", [e]), min_comment_group_size=10)
        rows, alerts = rows + r, alerts + a
    assert bool([a for a in alerts if a["alert_type"] == "sentiment"]) is alerted
    assert bool([r for r in rows if r["metric"] == "sentiment_employee"]) is alerted


def _risks(team, probs, t=1.0e9, warm=True):
    return [{"k": "risk", "e": f"emp_{i}", "p": p, "w": warm, "d": int(t // 86400), "t": t + i}
            for i, p in enumerate(probs)]


def test_team_burnout_numbers_need_enough_people():
    st, rows, _ = apply(new_dim_state(), "team:t", _risks("t", [0.9, 0.1, 0.6, 0.2, 0.3]), min_group_size=5)
    got = {r["metric"]: (r["value"], r["n"], r["dimension"]) for r in rows}
    assert got == {"burnout_mean_risk": (pytest.approx(0.42), 5, "team"), "burnout_at_risk": (2.0, 5, "team")}
    _, rows, _ = apply(new_dim_state(), "team:s", _risks("s", [0.9, 0.1, 0.6, 0.2]), min_group_size=5)
    assert rows == []
    # a person who leaves no longer counts; the same person predicted twice counts once
    leave = [{"k": "risk", "e": "emp_4", "p": None, "w": False, "d": int(1.0e9 // 86400), "t": 1.0e9 + 10}]
    _, rows, _ = apply(st, "team:t", leave + _risks("t", [0.95], t=1.0e9 + 20))
    assert rows == []


def test_group_floors_can_only_be_raised(monkeypatch):
    with pytest.raises(ValueError):
        Settings(min_group_size=3)
    with pytest.raises(ValueError):
        Settings(min_comment_group_size=5)
    assert Settings(min_group_size=8).min_group_size == 8


def test_retention_and_turnover():
    acct = [(ev("account", "signup", 0, customer_id=f"c{i}", plan="growth"), None, "customer", "") for i in range(10)]
    acct += [(ev("account", "cancellation", 40, customer_id="c0"), None, "customer", "")]
    st, rows, _ = _apply("all", _items("all", acct))
    ret = [r for r in rows if r["metric"] == "retention_rate"]
    assert ret[-1]["value"] == pytest.approx(90.0) and ret[-1]["n"] == 10
    hr = [(ev("hr", "hire", 0, employee_id=f"emp_{i}", team_id="t"), None, "employee", "t") for i in range(8)]
    hr += [(ev("hr", "exit", 35, employee_id="emp_0", team_id="t", exit_type="voluntary"), None, "employee", "t"),
           (ev("hr", "exit", 36, employee_id="emp_1", team_id="t", exit_type="involuntary"), None, "employee", "t")]
    _, rows, _ = _apply("team:t", _items("team:t", hr))
    vt = [r for r in rows if r["metric"] == "voluntary_turnover_rate"]
    assert vt[-1]["value"] == pytest.approx(100 / 8) and vt[-1]["window_days"] == 28


def test_sentiment_spike_against_own_baseline_fires_once():
    st, alerts = new_dim_state(), []
    for day in range(20):
        bad = day in (12, 13, 14)  # a bad stretch
        for i in range(20):
            s = NEG if (i < (14 if bad else 3)) else POS
            e = ev("chat", "message", day, hour=i * 0.3, customer_id=f"c{i}", author_role="customer",
                   conversation_id="q", text="x", channel="web-chat")
            st, _, a = apply(st, "channel:web-chat", [it for d, it in contributions(e, s, "customer")
                                                      if d == "channel:web-chat"], spike_cooldown_days=7)
            alerts += a
    assert len(alerts) == 1
    a = alerts[0]
    assert a["alert_type"] == "sentiment" and a["subject_type"] == "channel" and a["score"] > a["threshold"]
    assert "were negative" in a["reasons"][0]["text"]


def test_team_burnout_alert_needs_a_big_enough_team():
    st, _, alerts = apply(new_dim_state(), "team:t", _risks("t", [0.9, 0.8, 0.7, 0.1, 0.2, 0.3]))
    assert len(alerts) == 1 and alerts[0]["subject_type"] == "team" and "emp_" not in alerts[0]["reasons"][0]["text"]
    assert alerts[0]["inputs"] == {"at_risk": 3, "people": 5}  # as soon as 5 people have a probability
    _, _, alerts = apply(new_dim_state(), "team:s", _risks("s", [0.9, 0.8, 0.7, 0.6]))  # 4 people: none
    assert alerts == []
    _, _, alerts = apply(new_dim_state(), "team:w", _risks("w", [0.9, 0.8, 0.7, 0.1, 0.2, 0.3], warm=False))
    assert alerts == []  # the model is still warming up
