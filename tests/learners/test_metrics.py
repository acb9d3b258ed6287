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
    assert [r["n"] for r in rows if r["metric"] == "sentiment_employee"] == [18]


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
    st = new_dim_state()
    hires = [it for i in range(6) for d, it in contributions(ev("hr", "hire", 0, employee_id=f"emp_{i}", team_id="t"),
                                                              None, "employee", "t") if d == "team:t"]
    st, _, _ = apply(st, "team:t", hires)
    flags = [{"k": "flag", "e": f"emp_{i}", "on": True, "d": 20000, "t": 1.0e9 + i} for i in range(3)]
    st, _, alerts = apply(st, "team:t", flags)
    assert len(alerts) == 1 and alerts[0]["subject_type"] == "team" and "emp_" not in alerts[0]["reasons"][0]["text"]
    small = new_dim_state()
    small["hc"] = 3
    _, _, alerts = apply(small, "team:s", flags)
    assert alerts == []
