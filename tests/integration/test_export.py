"""``pulsewire export`` on a store the real pipeline filled: the employee named by the HR system's id gets
their own events, consent history and (with consent) burnout rows, nobody else's; the look-up is recorded
without the id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.streams.privacy import KeyRing

from .test_forget import _history

pytestmark = pytest.mark.integration


def _export(p, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULSEWIRE_PSEUDONYM_KEY": key or p.key, **p.env()}
    return subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "export", *args, "--store-url",
                           f"chdb://{(p.data_dir / 'clickhouse').resolve()}"], capture_output=True, text=True,
                          timeout=180, env=env)


def test_export_of_an_employee_the_pipeline_stored(pipeline):
    p = pipeline
    tag = uuid.uuid4().hex[:6]
    me, other = f"EMP-{tag}-1", f"EMP-{tag}-2"
    start = (datetime.now(timezone.utc) - timedelta(days=30)).replace(microsecond=0)
    mine, theirs = _history(me, f"team-{tag}", start), _history(other, f"team-{tag}", start)
    p.start()
    p.produce(mine + theirs)
    p.wait_processed(len(mine) + len(theirs))
    assert p.stop() == 0

    res = _export(p, "--employee", me, "--requested-by", "hr-admin")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    keys = KeyRing(p.key.encode())
    assert doc["subject"] == {"type": "employee", "id": me, "stored_as": keys.pseudonymise(me)}
    events = doc["data"]["events_scored"]
    assert len(events) == len(mine)
    assert {e["employee_id"] for e in events} == {keys.pseudonymise(me)}
    assert {e["type"] for e in events} == {"hire", "pulse", "overtime", "enps"}
    assert all(e["text"] == "Too many late nights this sprint, I am exhausted" and e["sentiment_label"]
               for e in events if e["type"] == "pulse")
    assert [c["new_consent"] for c in doc["data"]["consent_audit"]] == [1]
    assert keys.pseudonymise(other) not in res.stdout and other not in res.stdout

    # another key finds nobody; the HR id never reaches the audit
    assert _export(p, "--employee", me, key="another-key-0123456789").returncode == 3
    audit = p.query(a="SELECT * FROM data_access_audit ORDER BY accessed_at")["a"]
    assert [(a["found"], a["requested_by"]) for a in audit] == [(1, "hr-admin"), (0, "")]
    assert me not in json.dumps(audit) and keys.pseudonymise(me) not in json.dumps(audit)
