import json
import math

from pulsewire.models.learners import features as F
from pulsewire.models.learners.features import (CUSTOMER_FEATURES, EMPLOYEE_FEATURES, customer_features,
                                                employee_features, event_time, new_state, update_customer,
                                                update_employee)

from .helpers import NEG, POS, ev


def _cust(events):
    s = new_state("customer")
    for e, sent in events:
        update_customer(s, e, sent, event_time(e))
    return s


def test_customer_windows_and_csat_drop():
    s = _cust([(ev("account", "signup", 0, customer_id="c", plan="growth", mrr=99.0), None),
               (ev("ticket", "rated", 1, customer_id="c", ticket_id="a", csat=5), None),
               (ev("ticket", "rated", 2, customer_id="c", ticket_id="b", csat=4), None),
               *[(ev("ticket", "created", 20 + i, customer_id="c", ticket_id=f"n{i}", priority="urgent",
                     text="bad"), NEG) for i in range(3)],
               (ev("ticket", "rated", 23, customer_id="c", ticket_id="n0", csat=1), None)])
    f = customer_features(s, event_time(ev("x", "x", 23.5)))
    assert f["neg_tickets_7d"] == 3 and f["urgent_tickets_28d"] == 3
    assert f["csat_drop"] > 0.5 and f["csat_recent"] < 3
    reason = CUSTOMER_FEATURES["csat_drop"].words(f)
    assert reason.startswith("CSAT fell from") and CUSTOMER_FEATURES["neg_tickets_7d"].words(f) == "3 negative tickets in 7 days"
    # a week later the 7-day window has emptied, the 28-day one has not
    f2 = customer_features(s, event_time(ev("x", "x", 31)))
    assert f2["neg_tickets_7d"] == 0 and f2["neg_tickets_28d"] == 3


def test_out_of_order_events_give_the_same_features():
    evs = [(ev("ticket", "created", d, customer_id="c", ticket_id=f"t{d}", text="x"), NEG if d % 2 else POS)
           for d in range(10)]
    a = customer_features(_cust(evs), event_time(ev("x", "x", 10)))
    b = customer_features(_cust(list(reversed(evs))), event_time(ev("x", "x", 10)))
    for k in ("neg_tickets_7d", "neg_tickets_28d", "tickets_7d", "neg_texts_7d", "urgent_tickets_28d"):
        assert a[k] == b[k], k


def test_state_is_json_and_features_are_declared_and_finite():
    s = _cust([(ev("review", "review", 0, customer_id="c", rating=2, text="meh"), NEG),
               (ev("account", "plan_change", 1, customer_id="c", plan="starter", previous_plan="growth"), None)])
    assert json.loads(json.dumps(s)) == s
    f = customer_features(s, event_time(ev("x", "x", 2)))
    assert set(f) == set(CUSTOMER_FEATURES) and all(math.isfinite(v) for v in f.values())
    assert f["downgrades_90d"] == 1 and f["rating_last"] == 2
    e = new_state("employee")
    for x, sent in [(ev("hr", "hire", 0, employee_id="emp_x", team_id="t", consent=True), None),
                    (ev("hr", "overtime", 7, employee_id="emp_x", team_id="t", hours=12.0), None),
                    (ev("hr", "leave", 8, employee_id="emp_x", team_id="t", days=2.0, leave_type="sick"), None),
                    (ev("hr", "pulse", 9, employee_id="emp_x", team_id="t", question="burnout", score=5), None),
                    (ev("chat", "message", 12, hour=12, employee_id="emp_x", team_id="t", author_role="employee",
                        conversation_id="c", text="late again"), NEG)]:
        update_employee(e, x, sent, event_time(x))
    g = employee_features(e, event_time(ev("x", "x", 13)))
    assert set(g) == set(EMPLOYEE_FEATURES)
    assert g["sick_days_60d"] == 2 and g["burnout_last"] == 5 and g["after_hours_share"] == 1.0
    assert g["overtime_recent"] == 12.0 and e["f"]["consent"] is True
    for feat in (*CUSTOMER_FEATURES.values(), *EMPLOYEE_FEATURES.values()):
        assert feat.doc and isinstance(feat.words(f if feat.name in CUSTOMER_FEATURES else g), str)


def test_ew_is_event_time_not_wall_clock():
    s = F.ew_update([0.0, 0.0, 0.0], 1.0, 0.0, 7)
    s = F.ew_update(s, 0.0, 7 * F.DAY, 7)
    assert abs(s[0] - 1 / 3) < 1e-9
