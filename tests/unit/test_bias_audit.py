"""The bias audit: its statistics on hand-made groups, and the same audit read from a chDB store."""

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from pulsewire.models.oversight.audit import SUPPRESSED, Subject, audit_model, flagged, suppress
from pulsewire.streams.bias_audit import daily_rows, render_html, run_audit, text_lines


def group(name, n, alerted, *, label_pos=0, risk=0.3, attribute="team", outcomes=()):
    """n people of one group: the first ``alerted`` alerted, the first ``label_pos`` with label 1."""
    return [Subject({attribute: name}, alerted=i < alerted, risk=risk, score=risk + (0.5 if i < label_pos else 0),
                    label=int(i < label_pos), outcomes=outcomes) for i in range(n)]


def rows_of(rows, measure):
    return {r.group: r for r in rows if r.measure == measure}


def test_a_clear_disparity_is_flagged_against_the_lowest_alert_rate():
    rows = audit_model("burnout", group("team-a", 30, 3) + group("team-b", 30, 15), ("team",), min_group=5)
    a = rows_of(rows, "alert_rate")
    assert a["team-a"].reference == "team-a" and a["team-a"].ratio == 1.0 and not a["team-a"].flagged
    assert a["team-b"].ratio == pytest.approx(0.2) and a["team-b"].ratio_hi < 0.8 and a["team-b"].four_fifths
    # nobody burnt out: every alert is a false positive, so the labelled measure carries the alarm
    assert flagged(rows) == [("burnout", "team", "team-b", "fpr")]


def cohort(name, pos, pos_alerted, neg, neg_alerted, attribute="plan"):
    """``pos`` people with label 1 (``pos_alerted`` of them alerted) and ``neg`` with label 0."""
    return ([Subject({attribute: name}, alerted=i < pos_alerted, risk=0.6, score=0.6 if i < pos_alerted else 0.4,
                     label=1) for i in range(pos)]
            + [Subject({attribute: name}, alerted=i < neg_alerted, risk=0.3, score=0.5 if i < neg_alerted else 0.2,
                       label=0) for i in range(neg)])


def test_more_alerts_explained_by_a_higher_base_rate_are_shown_but_not_flagged():
    # same recall (0.8) and false-positive rate (0.1) in both plans; 'pro' churns six times as often,
    # so it gets 52 alerts per 100 people against 17, and 'basic' has the lower precision (16 of 34
    # against 96 of 104): both follow from the base rates, not unequal treatment
    people = cohort("basic", 20, 16, 180, 18) + cohort("pro", 120, 96, 80, 8)
    rows = audit_model("churn", people, ("plan",), min_group=5)
    a = rows_of(rows, "alert_rate")["pro"]
    assert a.ratio == pytest.approx(17 / 52) and a.ratio_hi < 0.8 and a.four_fifths  # shown as information
    assert rows_of(rows, "fpr")["pro"].ratio == pytest.approx(1.0)
    assert rows_of(rows, "recall")["pro"].ratio == pytest.approx(1.0)
    p = rows_of(rows, "precision")["basic"]
    assert p.ratio == pytest.approx((16 / 34) / (96 / 104)) and p.ratio_hi < 0.8 and p.four_fifths
    assert flagged(rows) == []
    # the same alerts without labels: alert rate is the only evidence, and it raises the flag
    bare = [Subject(s.groups, s.alerted, s.risk, s.score) for s in people]
    assert flagged(audit_model("churn", bare, ("plan",), min_group=5)) == [("churn", "plan", "pro", "alert_rate")]


def test_a_small_difference_between_small_groups_breaks_four_fifths_but_is_not_flagged():
    # 2 of 10 against 3 of 10: the point ratio 0.67 is below 0.8, the interval reaches far above it
    rows = audit_model("burnout", group("team-a", 10, 2) + group("team-b", 10, 3), ("team",), min_group=5)
    b = rows_of(rows, "alert_rate")["team-b"]
    assert b.four_fifths and b.ratio == pytest.approx(2 / 3)
    assert b.ratio_hi > 0.8 and not b.flagged
    assert flagged(rows) == []


def test_a_chance_edge_of_line_difference_among_many_comparisons_is_not_flagged():
    # six fair channels, 15 ratios tested (fpr, recall, auc): phone's 3 of 19 alerts at no churn against
    # web-chat's 4 of 131 is the kind of difference one of that many comparisons shows by chance (the
    # 95% interval ends just under 0.8); sms, alerted at 30 of 90, is far past it
    fair = [("web-chat", 131, 4), ("phone", 19, 3), ("email", 60, 3), ("app", 70, 3), ("social", 40, 2)]
    people = [p for name, neg, fp in fair for p in cohort(name, 20, 16, neg, fp, attribute="channel")]
    rows = audit_model("churn", people, ("channel",), min_group=5)
    phone = rows_of(rows, "fpr")["phone"]
    assert phone.reference == "web-chat" and phone.ratio == pytest.approx((4 / 131) / (3 / 19))
    assert phone.ratio_hi < 0.8 and phone.four_fifths  # the 95% interval shown, alone, would flag it
    assert phone.flag_hi > 0.8 and not phone.flagged
    assert sum(r.tested for r in rows) == 12
    assert flagged(rows) == []
    # a real disparity in the same audit is still found
    people += cohort("sms", 20, 16, 90, 30, attribute="channel")
    rows = audit_model("churn", people, ("channel",), min_group=5)
    assert sum(r.tested for r in rows) == 15
    assert flagged(rows) == [("churn", "channel", "sms", "fpr")]


def test_groups_below_the_threshold_are_not_reported_and_the_smallest_other_is_hidden_with_them():
    people = group("team-a", 40, 4) + group("team-b", 7, 6) + group("team-c", 3, 3)
    rows = audit_model("burnout", people, ("team",), min_group=5)
    shown = {r.group for r in rows if r.state == "shown"}
    assert shown == {"team-a"}  # team-c (3 people) hidden; team-b would give team-c away by subtraction
    merged = [r for r in rows if r.group == SUPPRESSED and r.measure == "alert_rate"]
    assert len(merged) == 1 and merged[0].people is None and merged[0].value is None and merged[0].groups == 2
    assert not any(r.group in ("team-b", "team-c") for r in rows)
    assert suppress({"a": 40, "b": 7, "c": 6}, 5) == {"a", "b", "c"}


def test_a_measure_with_fewer_people_behind_it_than_the_threshold_is_suppressed():
    # 20 people, 3 with label 1: recall over 3 people would tell about each of them
    rows = audit_model("burnout", group("team-a", 20, 5, label_pos=3) + group("team-b", 20, 5, label_pos=8),
                       ("team",), min_group=5)
    recall = rows_of(rows, "recall")
    assert recall["team-a"].state == "suppressed" and recall["team-a"].value is None
    assert recall["team-b"].state == "shown" and recall["team-b"].ratio is None  # no second group to compare
    assert rows_of(rows, "auc")["team-a"].state == "suppressed"
    report = {"window": {"from": "2031-01-01", "to": "2031-02-01"}, "people": {"churn": 0, "burnout": 40},
              "min_group": 5, "rows": [r.as_dict() for r in rows], "flagged": [],
              "family": {"comparisons": 1, "alpha": 0.05, "z": 1.96}}
    text = "\n".join(text_lines(report))  # the text says what it leaves out, as the JSON and HTML do
    line = next(x for x in text.splitlines() if "team-a" in x and "suppressed" in x)
    assert "recall" in line and "auc" in line and "fewer than 5 people" in line


def test_quality_measures_take_the_best_served_group_as_reference():
    a = group("pro", 80, 40, label_pos=36, attribute="plan")     # alerted 40, 36 right
    b = group("basic", 80, 40, label_pos=12, attribute="plan")   # alerted 40, 12 right
    rows = audit_model("churn", a + b, ("plan",), min_group=5)
    p = rows_of(rows, "precision")
    assert p["pro"].reference == "pro" and p["basic"].ratio == pytest.approx(12 / 36) and p["basic"].four_fifths
    # basic's 28 wrong alerts among 68 people who stayed carry the alarm (its recall is 1, like pro's)
    assert flagged(rows) == [("churn", "plan", "basic", "fpr")]
    assert rows_of(rows, "auc")["pro"].value is not None


def test_judged_outcomes_count_only_with_enough_people():
    a = group("team-a", 10, 10, outcomes=("acted",))
    b = group("team-b", 10, 10, outcomes=("wrong",))
    rows = audit_model("burnout", a + b, ("team",), min_group=5, measures=["judged_useful"])
    j = rows_of(rows, "judged_useful")
    assert j["team-a"].value == 1.0 and j["team-b"].value == 0.0 and j["team-b"].flagged
    few = audit_model("burnout", group("team-a", 10, 10, outcomes=()) + group("team-b", 10, 10), ("team",),
                      min_group=5, measures=["judged_useful"])
    assert all(r.state == "suppressed" for r in few)


# ----------------------------------------------------------------------------------- from a chDB store
T0 = datetime(2031, 3, 2, tzinfo=timezone.utc)  # a window no other test writes into


def _seed_store(store, tag, with_events=True):
    """60 customers: 20 on 'alpha' (plan), alerted 12; 40 on 'beta', alerted 4; label 1 for every fifth.
    Without events: the customers' events (plan, channel, signup), to insert later."""
    preds, examples, events = [], [], []
    for i in range(60):
        cid = f"cus-{tag}-{i:03d}"
        plan = "alpha" if i < 20 else "beta"
        alerted = i < 12 or 20 <= i < 24
        t = T0 + timedelta(days=40 + i % 7)
        preds.append({"model": "churn", "entity_id": cid, "team_id": "", "event_id": f"e-{tag}-{i}",
                      "predicted_at": t, "probability": 0.7 if alerted else 0.2, "baseline": 0.0,
                      "model_version": "t", "n_labels": 1, "n_pos": 1, "alerted": int(alerted), "consent": 1})
        examples.append({"model": "churn", "example_id": f"x-{tag}-{i}", "entity_id": cid, "pred_event_id": "",
                         "label_event_id": "", "predicted_at": t, "labelled_at": t, "label": int(i % 5 == 0),
                         "probability": 0.5, "baseline": 0.0, "model_version": "t", "n_labels": 1, "n_pos": 1,
                         "weight": 1.0, "learned": 1, "features": "{}"})
        events.append({"event_id": f"s-{tag}-{i}", "source": "test", "kind": "account", "type": "signup",
                       "occurred_at": T0 + timedelta(days=i % 3), "ingested_at": T0, "customer_id": cid,
                       "plan": plan, "attributes": {"region": "north" if i % 2 else "south"}})
        events.append({"event_id": f"c-{tag}-{i}", "source": "test", "kind": "chat", "type": "message",
                       "occurred_at": T0 + timedelta(days=5), "ingested_at": T0, "customer_id": cid,
                       "channel": "web-chat", "sentiment_label": "neutral", "attributes": {}})
    store.insert_rows("predictions", preds)
    store.insert_rows("learn_examples", examples)
    if not with_events:
        return events
    store.insert_rows("events_scored", events[0::2])
    store.insert_rows("events_scored", events[1::2])


def test_the_store_audit_finds_the_group_and_writes_idempotent_daily_rows(store):
    _seed_store(store, "a1")
    report = run_audit(store, min_group=5, since=T0, until=T0 + timedelta(days=60), extra=("region",))
    assert report["people"] == {"churn": 60, "burnout": 0}
    region = {r["group"]: r["people"] for r in report["rows"] if r["attribute"] == "region" and r["measure"] == "fpr"}
    assert region == {"north": 30, "south": 30}  # a connector's auditable field, from the events' attributes
    alert = {r["group"]: r for r in report["rows"] if r["attribute"] == "plan" and r["measure"] == "alert_rate"}
    assert alert["alpha"]["value"] == pytest.approx(0.6) and alert["beta"]["value"] == pytest.approx(0.1)
    assert alert["beta"]["reference"] == "beta"
    tenure = {r["group"] for r in report["rows"] if r["attribute"] == "tenure" and r["state"] == "shown"}
    assert tenure == {"< 3 months"}
    assert alert["alpha"]["four_fifths"] and not alert["alpha"]["flagged"]  # labelled: fpr carries the alarm
    assert [(f["attribute"], f["group"]) for f in report["flagged"] if f["measure"] == "fpr"] == [("plan", "alpha")]
    family = report["family"]  # the flags are corrected for every ratio tested in this audit
    assert family["comparisons"] == sum(r["tested"] for r in report["rows"]) > 1 and family["z"] > 2
    assert all(f["flag_hi"] > f["ratio_hi"] for f in report["flagged"])
    assert "cus-a1" not in str(report)  # group aggregates only
    assert any("FLAGGED" in line and "alpha" in line for line in text_lines(report))
    page = render_html(report, source="chdb:///x")
    assert "<li>churn: plan = alpha, fpr ratio 0.17" in page and "cus-a1" not in page

    day = date(2031, 5, 1)
    for _ in range(2):  # the same day twice: one set of rows
        store.insert_rows("bias_audit_daily", daily_rows(report, day))
    got = store.query_dicts("SELECT count() AS n, sum(flagged) AS f FROM oversight_bias_audit WHERE day = {d:Date}",
                            {"d": day})
    assert got[0]["n"] == len(report["rows"]) and got[0]["f"] == len(report["flagged"])


def test_the_worker_writes_the_daily_rows_once_and_the_panels_and_rule_read_them(store):
    import asyncio
    from types import SimpleNamespace

    from pulsewire.dashboards import build, oversight_audit
    from pulsewire.dashboards.macros import TimeRange
    from pulsewire.dashboards.runner import run_panel, run_sql
    from pulsewire.streams.agents.audit import record_daily
    from pulsewire.streams.settings import Settings
    from pulsewire.streams.sinks import SINKS, TableSink

    late_events = _seed_store(store, "w1", with_events=False)  # the worker's first audit: before the events land
    dead = []

    async def dead_letter(dl):
        dead.append(dl)

    sink = TableSink(SINKS["bias_audit_daily"], lambda: store, chunk_rows=500, dead_letter=dead_letter)
    ctx = SimpleNamespace(sinks={"bias_audit_daily": sink}, settings=Settings(min_group_size=5))
    day = date(2031, 6, 1)
    newest = f"SELECT * FROM oversight_bias_audit WHERE {oversight_audit.newest_audit(repr(day.isoformat()))}"

    def unknown_plan_people():
        return sum(r["people"] or 0 for r in store.query_dicts(newest) if r["attribute"] == "plan"
                   and r["group_name"] == "(unknown)" and r["measure"] == "alert_rate")

    first = asyncio.run(record_daily(ctx, day))
    assert first > 0 and dead == []
    before = unknown_plan_people()
    assert before >= 60  # the 60 customers, no plan known yet
    store.insert_rows("events_scored", late_events[0::2])  # signups, then chats (not the same columns)
    store.insert_rows("events_scored", late_events[1::2])
    second = asyncio.run(record_daily(ctx, day))  # the next hourly check, same day, more data: it replaces
    assert second > 0 and dead == []
    assert unknown_plan_people() <= before - 60  # the partial audit's "(unknown)" group does not linger
    assert len(store.query_dicts(newest)) == second  # the panels read the newest computation only

    broken = SimpleNamespace(sinks={"bias_audit_daily": TableSink(SINKS["bias_audit_daily"], lambda: _NoTables(store),
                                                                    chunk_rows=500, dead_letter=dead_letter)},
                             settings=ctx.settings)
    assert asyncio.run(record_daily(broken, date(2031, 6, 2))) == 0  # a failing query: logged, no exception

    # the session's store holds other tests' people too: the panels read an audit of this test's window only
    report = run_audit(store, min_group=5, since=T0, until=T0 + timedelta(days=60))
    assert report["flagged"]
    store.insert_rows("bias_audit_daily", daily_rows(report, date(2031, 6, 3)))
    p = build._Panels()
    assert oversight_audit.add_panels(p, 4) == 12
    board = build.Board(build._dashboard("audit-test", "Audit", "", p.panels, "now-7d", "1m"),
                        "SELECT max(window_to) FROM oversight_bias_audit")
    tr = TimeRange(datetime(2031, 5, 26, tzinfo=timezone.utc), datetime(2031, 6, 3, 12, tzinfo=timezone.utc))
    stat, table = (run_panel(store, panel, tr) for panel in board.dashboard["panels"])
    assert stat.error is None and table.error is None
    flagged_count, audited = stat.frames[0].rows[0]
    assert flagged_count >= 1 and audited >= 2
    cols = table.frames[0].columns
    first_row = dict(zip(cols, table.frames[0].rows[0]))
    assert first_row["flag"].startswith("flagged") and first_row["group"] == "alpha"
    rows = [dict(zip(cols, r)) for r in table.frames[0].rows]
    order = [0 if r["flag"].startswith("flagged") else 1 if r["flag"] and r["measure"] != "mean_risk"
             else 3 if r["measure"] == "mean_risk" else 2 for r in rows]
    assert order == sorted(order) and 1 in order and 3 in order  # flags, then <4/5 that can flag; mean_risk last
    panels = board.dashboard["panels"]
    assert all("family-wise" in panel["description"] and "Bonferroni" in panel["description"] for panel in panels)
    rule = next(r for r in build.RULES if r.uid == "pulsewire-bias-audit")
    assert run_sql(store, rule.sql).rows[0][0] >= 1
    assert "pulsewire-bias-audit" in {r["uid"] for r in build.rules_provisioning()["groups"][0]["rules"]}


class _NoTables:
    """A store whose queries fail (as one missing a migration would)."""

    def __init__(self, store):
        self.store = store

    def query_dicts(self, *a, **k):
        raise RuntimeError("Code: 60. Unknown table expression identifier 'predictions'")


@pytest.mark.parametrize("args, needles", [
    (["--data-dir", "no-such-dir"], ["no data directory no-such-dir"]),
    (["--since", "2026-01-01", "--days", "3"], ["--since and --days"]),
    (["--since", "last week"], ["--since 'last week'", "ISO 8601"]),
    (["--store-url", "chdb:///nonexistent/store/path"], []),
])
def test_audit_user_errors_are_one_line(tmp_path, args, needles):
    from tests.unit.test_cli_user_errors import assert_user_error, pulsewire

    assert_user_error(pulsewire("audit", *args, cwd=tmp_path), *needles)


def test_an_audit_of_a_window_without_predictions_says_so(tmp_path):
    from tests.unit.test_cli_user_errors import assert_user_error, pulsewire

    setup = ("import sys; from pulsewire.streams.store import open_store\n"
             "with open_store(sys.argv[1]) as s: pass\n")
    subprocess.run([sys.executable, "-c", setup, f"chdb://{tmp_path / 'clickhouse'}"], check=True, timeout=120)
    res = pulsewire("audit", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert_user_error(res, "no predictions in this window")
    assert "flagged: none" not in res.stdout


@pytest.mark.parametrize("cmd", [["evaluate", "--bias", "plan:gold"], ["demo", "--bias", "region:north"]])
def test_an_unknown_planted_bias_is_one_line(tmp_path, cmd):
    from tests.unit.test_cli_user_errors import assert_user_error, pulsewire

    assert_user_error(pulsewire(*cmd, "--data-dir", str(tmp_path / "d"), cwd=tmp_path), "bias must be")
    assert not (tmp_path / "d").exists()


def test_human_outcomes_are_read_when_the_store_has_them(store):
    """alert_outcomes (written by the outcomes agent) is optional: used when it exists, joined by alert id."""
    _seed_store(store, "o1")
    exists = store.query_dicts("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() "
                               "AND name = 'alert_outcomes'")[0]["n"]
    if not exists:
        store.command("CREATE TABLE alert_outcomes (alert_id String, outcome String) ENGINE = MergeTree ORDER BY alert_id")
    try:
        alerts, outcomes = [], []
        for i in list(range(12)) + list(range(20, 24)):  # the alerted customers of _seed_store
            cid = f"cus-o1-{i:03d}"
            alerts.append({"alert_id": f"al-o1-{i}", "alert_type": "churn", "subject": cid, "subject_type": "customer",
                           "score": 0.7, "threshold": 0.5, "model_version": "t", "reasons": [], "inputs": "{}",
                           "topic": "alerts.churn", "created_at": T0, "occurred_at": T0 + timedelta(days=40)})
            outcomes.append({"alert_id": f"al-o1-{i}", "outcome": "acted" if i < 6 else "wrong"})
        store.insert_rows("alerts_audit", alerts)
        store.insert_rows("alert_outcomes", outcomes)
        report = run_audit(store, min_group=5, since=T0, until=T0 + timedelta(days=60))
        assert report["outcomes_table"] is True
        judged = {r["group"]: r for r in report["rows"] if r["attribute"] == "plan" and r["measure"] == "judged_useful"}
        assert judged["alpha"]["value"] == pytest.approx(0.5) and judged["alpha"]["n"] == 12
        assert judged["beta"]["state"] == "suppressed"  # 4 people with judged alerts: below 5
    finally:
        if not exists:
            store.command("DROP TABLE alert_outcomes")


def test_the_board_shows_an_audit_whose_window_ends_inside_a_second(store):
    """The board's range ends at its anchor, a whole second; an audit window ending at .5 s is still shown."""
    from pulsewire.dashboards import oversight
    from pulsewire.dashboards.macros import TimeRange
    from pulsewire.dashboards.runner import anchor_time, run_panel
    from pulsewire.models.oversight.audit import AuditRow
    from pulsewire.streams.bias_audit import daily_rows

    end = datetime(2032, 2, 3, 4, 5, 6, 500_000, tzinfo=timezone.utc)  # later than any other test's audit
    report = {"window": {"from": (end - timedelta(days=30)).isoformat(), "to": end.isoformat()}, "min_group": 5,
              "rows": [AuditRow("churn", "plan", g, "alert_rate", "shown", people=40, n=40, value=0.1).as_dict()
                       for g in ("subsecond-a", "subsecond-b")]}
    store.insert_rows("bias_audit_daily", daily_rows(report, date(2032, 2, 3)))
    board = oversight.model_oversight()
    now = anchor_time(store, board.anchor_sql)
    assert now is not None and now >= end.replace(microsecond=0)
    stat = next(p for p in board.dashboard["panels"] if p["title"] == "Groups flagged by the bias audit")
    res = run_panel(store, stat, TimeRange(now - timedelta(days=90), now))
    assert res.error is None and res.frames and res.frames[0].rows[0][1] == 2, res
