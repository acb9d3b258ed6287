import json

import pytest
from pydantic import ValidationError

from pulsewire.schemas import generate
from pulsewire.schemas.events import EVENT_MODELS, parse_event, parse_event_json

BASE = {"event_id": "e-1", "source": "test", "occurred_at": "2026-11-01T09:30:00+01:00"}


@pytest.mark.parametrize("payload", [
    {"kind": "review", "customer_id": "c1", "rating": 2, "text": "Slow delivery", "product": "pro"},
    {"kind": "ticket", "type": "created", "customer_id": "c1", "ticket_id": "t1", "status": "new", "text": "Help"},
    {"kind": "ticket", "type": "rated", "customer_id": "c1", "ticket_id": "t1", "csat": 2},
    {"kind": "chat", "conversation_id": "x", "author_role": "customer", "customer_id": "c1", "text": "hi"},
    {"kind": "hr", "type": "pulse", "employee_id": "e1", "team_id": "t", "question": "burnout", "score": 4},
    {"kind": "hr", "type": "enps", "employee_id": "e1", "team_id": "t", "score": 9, "text": "good team"},
    {"kind": "hr", "type": "overtime", "employee_id": "e1", "team_id": "t", "hours": 6.5},
    {"kind": "hr", "type": "leave", "employee_id": "e1", "team_id": "t", "days": 2, "leave_type": "sick"},
    {"kind": "hr", "type": "hire", "employee_id": "e1", "team_id": "t", "consent": True},
    {"kind": "hr", "type": "exit", "employee_id": "e1", "team_id": "t", "exit_type": "voluntary"},
    {"kind": "account", "type": "cancellation", "customer_id": "c1", "plan": "pro", "mrr": 0},
    {"kind": "account", "type": "plan_change", "customer_id": "c1", "plan": "basic", "previous_plan": "pro"},
])
def test_every_kind_and_type_parses(payload):
    ev = parse_event({**BASE, **payload})
    assert ev.kind == payload["kind"]
    assert ev.occurred_at.utcoffset() is not None
    assert ev.schema_version == 1


@pytest.mark.parametrize("payload, fragment", [
    ({"kind": "review", "customer_id": "c1", "rating": "5"}, "rating"),          # no silent coercion
    ({"kind": "review", "customer_id": "c1", "rating": 6}, "rating"),
    ({"kind": "review"}, "customer_id"),
    ({"kind": "ticket", "type": "rated", "customer_id": "c", "ticket_id": "t"}, "csat"),
    ({"kind": "hr", "type": "pulse", "employee_id": "e", "team_id": "t", "question": "q", "score": 9}, "1-5"),
    ({"kind": "hr", "type": "exit", "employee_id": "e", "team_id": "t"}, "exit_type"),
    ({"kind": "chat", "conversation_id": "x", "author_role": "employee", "text": "hi"}, "employee_id"),
    ({"kind": "review", "customer_id": "c1", "surprise": 1}, "surprise"),      # schema drift is refused
])
def test_invalid_events_are_refused_with_the_field_named(payload, fragment):
    with pytest.raises(ValidationError) as err:
        parse_event({**BASE, **payload})
    assert fragment in str(err.value)


def test_naive_timestamp_is_refused():
    with pytest.raises(ValidationError, match="timezone"):
        parse_event_json(json.dumps({**BASE, "occurred_at": "2026-11-01T09:30:00", "kind": "review",
                                     "customer_id": "c"}))


def test_event_round_trips_through_json():
    ev = parse_event({**BASE, "kind": "review", "customer_id": "c1", "text": "ok ✓"})
    assert parse_event_json(ev.model_dump_json()) == ev


def test_committed_json_schemas_match_the_models():
    assert generate.drift() == [], "run: python -m pulsewire.schemas.generate"


def test_json_schema_accepts_what_the_models_accept_and_refuses_drift():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((generate.JSON_DIR / "event.v1.schema.json").read_text())
    good = {**BASE, "kind": "hr", "type": "enps", "employee_id": "e", "team_id": "t", "score": 3}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "kind": "nope"}, schema)
    assert set(EVENT_MODELS) == {"review", "ticket", "chat", "hr", "account", "activity"}
    order = {**BASE, "kind": "activity", "type": "order_placed", "customer_id": "c1", "amount": 9.5, "currency": "EUR"}
    jsonschema.validate(order, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**order, "type": "Order Placed"}, schema)
