"""Keyed identity and consent through the real worker: what reaches ClickHouse.

A small simulated SMB (its generator is a declared consent source in the test worker, as in the demo)
plus one HR event from an undeclared source that tries to switch a non-consenting employee's consent on.
"""

from __future__ import annotations

import json

import pytest

from .conftest import generated

pytestmark = pytest.mark.integration


def test_employee_ids_are_keyed_and_burnout_rows_need_consent(pipeline):
    from pulsewire.streams.privacy import KeyRing

    good = generated(2500, seed=21)
    records = [json.loads(v) for _, _, v in good]
    hires = [r for r in records if r["kind"] == "hr" and r["type"] == "hire"]
    refusing = next(r for r in hires if r.get("consent") is False)
    forged = {**refusing, "event_id": "forged-consent", "source": "itest-webhook", "type": "leave", "days": 1.0,
              "consent": True}
    pipeline.produce(good + [("events.hr", forged["employee_id"], json.dumps(forged).encode())])
    pipeline.start()
    pipeline.wait_processed(len(good) + 2)  # the forged event is stored and dead-lettered
    assert pipeline.stop() in (0, -15)

    keys = KeyRing(pipeline.key.encode())
    yes = {keys.pseudonymise(r["employee_id"]) for r in hires if r.get("consent") is True}
    everyone = {keys.pseudonymise(r["employee_id"]) for r in hires}
    raw_ids = {r["event_id"] for r in records if r.get("employee_id")} | {"forged-consent"}
    r = pipeline.query(
        ids="SELECT event_id FROM events_scored FINAL WHERE employee_id != ''",
        preds="SELECT DISTINCT entity_id FROM predictions FINAL WHERE model = 'burnout'",
        risk="SELECT DISTINCT entity_id FROM risk_latest FINAL WHERE model = 'burnout'",
        audit="SELECT entity_id, old_consent, new_consent, source, event_id FROM consent_audit FINAL",
        dead="SELECT reason, count() AS n FROM dead_letters FINAL GROUP BY reason",
    )
    ids = {x["event_id"] for x in r["ids"]}
    assert ids and all(i.startswith("ek_") for i in ids) and not ids & raw_ids
    preds, risk = {x["entity_id"] for x in r["preds"]}, {x["entity_id"] for x in r["risk"]}
    assert preds and preds <= yes and risk <= yes
    assert keys.pseudonymise(refusing["employee_id"]) not in preds | risk  # the forged yes was ignored
    assert {(a["entity_id"], a["new_consent"]) for a in r["audit"]} == {
        (keys.pseudonymise(h["employee_id"]), int(h["consent"])) for h in hires if h.get("consent") is not None}
    assert {a["source"] for a in r["audit"]} == {"generator"} and all(a["event_id"].startswith("ek_") for a in r["audit"])
    assert {a["entity_id"] for a in r["audit"]} <= everyone
    assert {d["reason"]: d["n"] for d in r["dead"]} == {"consent_source_not_allowed": 1}
