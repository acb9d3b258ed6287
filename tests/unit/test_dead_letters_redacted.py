"""Dead letters of personal sources reach ClickHouse without a value: the leaks issue 10 found
(a connector's raw e-mail address, HR id, Slack id and comment; a raw id shaped like a pseudonym; an
undecodable payload), values quoted by details, stable keyed ids, and the table's TTL."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from pulsewire.schemas.dead_letter import DeadLetter, Reason
from pulsewire.streams.connectors.hr import Hris, PulseSurvey
from pulsewire.streams.connectors.webhook import Webhook
from pulsewire.streams.privacy import KeyRing
from pulsewire.streams.rows import dead_letter_row
from pulsewire.streams.sdk import Connector, Raw, Reject, to_messages
from pulsewire.streams.testing import ConformanceError, check_conformance, run_connector
from pulsewire.streams.validation import validate_record

KEYS = KeyRing(b"unit-test-key-0123456789")
EMAIL = "ann.canary@example.com"
HR_ID = "EMP-CANARY-1042"
SLACK_ID = "U0CANARY42"
COMMENT = "My manager Bob humiliates me in meetings"
QUOTED = "Canary Ann hates the night shift"  # lands in a field whose detail quotes it
EMP_SHAPED = "emp_" + "c0ffee" * 4
CANARIES = (EMAIL, HR_ID, SLACK_ID, COMMENT, QUOTED, EMP_SHAPED, "Bob")


def leaked(row: dict) -> list[str]:
    """The canaries found anywhere in a stored row, the payload decoded from base64 included."""
    text = " ".join(str(v) for v in row.values())
    if row.get("payload_encoding") == "base64" and row.get("payload"):
        text += base64.b64decode(row["payload"]).decode("utf-8", "replace")
    return [c for c in CANARIES if c in text]


def stored(store, rows: list[dict]) -> list[dict]:
    """Insert the rows and read them back as ClickHouse holds them."""
    store.insert_rows("dead_letters", rows)
    return store.query_dicts("SELECT * FROM dead_letters FINAL WHERE dl_id IN {ids:Array(String)}",
                             {"ids": [r["dl_id"] for r in rows]})


def connector_dead_letters(connector, tmp_path, name: str, text: str) -> list[DeadLetter]:
    path = tmp_path / name
    path.write_text(text)
    connector.config.path = path
    return run_connector(connector).dead_letters


def test_connector_dead_letters_keep_no_email_hr_id_slack_id_or_comment(store, tmp_path):
    day = (datetime.now(timezone.utc) - timedelta(days=3)).date().isoformat()
    pulse = connector_dead_letters(PulseSurvey({"path": str(tmp_path)}), tmp_path, "pulse.csv",
                                   "Response ID,Employee ID,Team,Submitted At,eNPS,Comment,Workload,Burnout\n"
                                   f"r-1,{EMAIL},Sales,{QUOTED},3,{COMMENT},4,2\n")
    hris = connector_dead_letters(Hris({"path": str(tmp_path)}), tmp_path, "employees.csv",
                                  "Employee #,Department,Hire Date,Termination Date,Termination Type\n"
                                  f"{HR_ID},Sales,{day},{day},{QUOTED}\n")
    slack = {"type": "event_callback", "event_id": "Ev1", "team_id": "T1",
             "event": {"type": "message", "channel": "C1", "user": SLACK_ID, "text": COMMENT, "ts": QUOTED}}
    hook = Webhook({"port": 0, "routes": [{"provider": "slack", "secret_env": "UNUSED_SLACK_SECRET"}]})
    msgs, outcome = to_messages(hook, Raw({"route": "/slack", "received_at": f"{day}T10:00:00+00:00",
                                           "body_sha256": "ab" * 32, "body": slack}))
    assert outcome == "dead_lettered"
    dls = [*pulse, *hris, DeadLetter.model_validate_json(msgs[0].value)]
    assert [dl.reason.value for dl in dls] == ["invalid_value", "invalid_value", "invalid_value"]
    # the raw records are on events.dlq, as the sources sent them, and the details quoted the values
    assert EMAIL in dls[0].payload and HR_ID in dls[1].payload and SLACK_ID in dls[2].payload
    assert all(QUOTED in dl.detail for dl in dls)

    rows = stored(store, [dead_letter_row(dl, KEYS) for dl in dls])
    assert len(rows) == 3
    assert [leaked(r) for r in rows] == [[], [], []]
    for row, dl in zip(sorted(rows, key=lambda r: r["source_topic"]), sorted(dls, key=lambda d: d.source_topic)):
        assert (row["reason"], row["redacted"], row["payload"]) == ("invalid_value", 1, "")
        assert row["payload_bytes"] == len(dl.payload.encode()) and row["payload_hash"] == KEYS.payload_hash(
            dl.payload.encode())
        assert "[value]" in row["detail"]
    hook_row = next(r for r in rows if r["source_topic"] == "webhook")
    assert hook_row["payload_fields"] == ["body", "body_sha256", "received_at", "route"]  # not inside "body"


def test_field_names_that_are_people_are_counted_not_stored_and_details_keep_their_words(store, tmp_path):
    from pulsewire.streams.connectors.files import Files

    day = (datetime.now(timezone.utc) - timedelta(days=3)).date().isoformat()
    record = {"id": "r-1", "customer": "c-1", "at": "not a time", "text": "fine",
              "Bob Miller": 1, "bob.miller": 2, "Carla Diaz": 3, "mgr_bob_humiliates_me": 4}
    assert day  # the record is rejected for its time, whatever today is
    files = Files({"path": str(tmp_path / "r.jsonl"),
                   "columns": {"event_id": "id", "customer_id": "customer", "occurred_at": "at", "text": "text"}})
    dls = connector_dead_letters(files, tmp_path, "r.jsonl", json.dumps(record) + "\n")
    assert len(dls) == 1 and "not a time" in dls[0].detail
    row = stored(store, [dead_letter_row(dls[0], KEYS)])[0]
    assert row["payload_fields"] == ["at", "customer", "id", "text", "+4 other fields"]
    assert not [n for n in ("Bob", "bob", "Carla", "mgr_") if n in " ".join(row["payload_fields"])]
    assert "not a timestamp" in row["detail"] and "[value]stamp" not in row["detail"]
    shortened = DeadLetter.make("files", json.dumps({"text": COMMENT + " and nobody listens"}), Reason.MAPPING_FAILED,
                                f"ValidationError: input_value='{COMMENT[:20]}...nobody listens', input_type=str")
    assert leaked(stored(store, [dead_letter_row(shortened, KEYS)])[0]) == []
    scored = DeadLetter.make("scored.text", json.dumps({"schema_version": 1, "event": record, "sentiment": None}),
                             Reason.CONFLICTING_DUPLICATE, "x", where="sink")
    assert dead_letter_row(scored, KEYS)["payload_fields"] == ["event", "schema_version", "sentiment"]
    assert "not a time" not in row["detail"].replace("not a timestamp", "")


def test_validator_dead_letters_keep_no_pseudonym_shaped_raw_id_and_no_undecodable_payload(store):
    def dead(raw: bytes, topic: str, offset: int) -> DeadLetter:
        ev, dl = validate_record(raw, topic, keys=KEYS, max_text_chars=20_000,
                                 max_payload_bytes=256 * 1024, partition=0, offset=offset)
        assert ev is None
        return dl

    shaped = dead(b'{"kind": "chat", "author": "' + EMP_SHAPED.encode() + b'", "text": "hi", oops', "events.chat", 1)
    undecodable = dead(b'{"kind": "review", "customer_id": "' + EMAIL.encode() + b'", "text": "\xff\xfe"}',
                       "events.review", 2)
    unknown = dead(json.dumps({"kind": SLACK_ID, "employee_id": HR_ID}).encode(), "events.hr", 3)
    assert (shaped.reason, undecodable.reason, unknown.reason) == (
        Reason.MALFORMED_JSON, Reason.INVALID_ENCODING, Reason.UNKNOWN_KIND)
    assert undecodable.payload_encoding == "base64" and SLACK_ID in unknown.detail

    rows = stored(store, [dead_letter_row(dl, KEYS) for dl in (shaped, undecodable, unknown)])
    assert len(rows) == 3 and [leaked(r) for r in rows] == [[], [], []]
    assert all(r["redacted"] == 1 and r["partition"] == 0 and r["offset"] in (1, 2, 3) for r in rows)
    assert next(r for r in rows if r["offset"] == 3)["payload_fields"] == ["employee_id", "kind"]


def test_a_source_that_declares_no_personal_field_keeps_its_payload_unless_it_holds_one():
    plain = DeadLetter.make("metrics-feed", b'{"sku": "A-1", "qty": "x"}', Reason.WRONG_TYPE, "qty: 'x'",
                            personal_fields=[])
    row = dead_letter_row(plain, KEYS)
    assert (row["payload"], row["detail"], row["redacted"]) == ('{"sku": "A-1", "qty": "x"}', "qty: 'x'", 0)
    smuggled = DeadLetter.make("metrics-feed", json.dumps({"text": COMMENT}), Reason.WRONG_TYPE, "x",
                               personal_fields=[])
    assert dead_letter_row(smuggled, KEYS)["payload"] == ""
    undeclared = DeadLetter.make("metrics-feed", b'{"sku": "A-1"}', Reason.WRONG_TYPE, "x")
    assert dead_letter_row(undeclared, KEYS)["redacted"] == 1


def test_dl_id_is_keyed_and_the_same_bad_record_is_one_dead_letter_across_offsets_and_runs(tmp_path):
    raw = json.dumps({"kind": "review", "event_id": "r-1", "source": "s", "customer_id": EMAIL,
                      "occurred_at": "2026-01-01T00:00:00Z", "text": "x" * 30}).encode()

    def validated(offset: int) -> dict:
        _, dl = validate_record(raw, "events.review", keys=KEYS, max_text_chars=10,
                                max_payload_bytes=256 * 1024, partition=0, offset=offset)
        return dead_letter_row(dl, KEYS)

    # a connector run again from the start re-sends the record: new offsets, the same dead letter
    assert validated(5)["dl_id"] == validated(900)["dl_id"]
    assert validated(5)["dl_id"] != dead_letter_row(DeadLetter.make("events.review", raw, Reason.TEXT_TOO_LARGE, "x"),
                                                   KeyRing(b"another-key-0123456789"))["dl_id"]

    path = tmp_path / "pulse.csv"
    path.write_text("Response ID,Employee ID,Team,Submitted At,eNPS,Comment,Workload,Burnout\n"
                    f"r-1,{EMAIL},Sales,not a time,3,{COMMENT},4,2\n")
    first = [dead_letter_row(dl, KEYS)["dl_id"] for dl in run_connector(PulseSurvey({"path": str(path)})).dead_letters]
    again = [dead_letter_row(dl, KEYS)["dl_id"] for dl in run_connector(PulseSurvey({"path": str(path)})).dead_letters]
    assert len(first) == 1 and first == again


def test_dead_letters_have_a_ttl(store):
    assert "TTL toDateTime(least(failed_at, stored_at)) + toIntervalDay(30)" in store.client.command(
        "SHOW CREATE TABLE dead_letters")


def test_the_dead_letter_ttl_follows_the_setting_and_old_rows_are_scrubbed_by_the_migration(tmp_path):
    """A store migrated up to 0030 holding raw dead letters, then migrated with a 12-day TTL."""
    code = f"""
import base64, json, sys
from datetime import datetime, timezone
from pulsewire.streams.store import Store, load_migrations, open_store
url = sys.argv[1]
s = Store(url)
s.client.command("CREATE TABLE schema_migrations (version UInt32, name String, checksum String, "
                 "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version")
for m in load_migrations():
    if m.version < 40:
        for st in m.statements():
            s.client.command(st)
        s.client.insert("schema_migrations", [[m.version, m.name, ""]], column_names=["version", "name", "checksum"])
now = datetime.now(timezone.utc)
row = dict(reason="invalid_value", payload_encoding="utf-8", stage="connector:pulse", partition=None, offset=None,
           failed_at=now)
s.insert_rows("dead_letters", [
    dict(row, dl_id="old-1", source_topic="pulse", detail="unknown termination type {QUOTED!r}",
         payload=json.dumps({{"Employee ID": {EMAIL!r}, "Comment": {COMMENT!r}, {SLACK_ID!r}: 1}})),
    dict(row, dl_id="old-2", source_topic="events.review", payload_encoding="base64", detail="bad bytes",
         payload=base64.b64encode(b"\\xff {HR_ID}").decode()),
])
s.close()
with open_store(url, retention={{"dead_letter_ttl_days": 12}}) as s:
    print(json.dumps({{"create": s.client.command("SHOW CREATE TABLE dead_letters"),
                      "rows": s.query_dicts("SELECT dl_id, detail, payload, payload_fields, payload_bytes, redacted "
                                            "FROM dead_letters FINAL ORDER BY dl_id")}}))
"""
    r = subprocess.run([sys.executable, "-c", code, f"chdb://{tmp_path / 'store'}"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert "TTL toDateTime(least(failed_at, stored_at)) + toIntervalDay(12)" in out["create"]
    assert [leaked(row) for row in out["rows"]] == [[], []]
    assert out["rows"][0] == {"dl_id": "old-1", "detail": "unknown termination type [value]", "payload": "",
                              # a source's own column names may be a person's: only canonical names stay
                              "payload_fields": [], "payload_bytes": out["rows"][0][
                                  "payload_bytes"], "redacted": 1}
    assert out["rows"][1]["payload_bytes"] == len(b"\xff " + HR_ID.encode()) and out["rows"][1]["payload"] == ""


class Undeclared(Connector):
    name = "undeclared"

    def poll(self, cursor):
        yield Raw({"id": "r-1", "email": EMAIL, "at": "2026-01-01T00:00:00Z"})

    def map(self, r):
        if "at" not in r:
            raise Reject(Reason.MISSING_FIELD, "no time")
        return {"kind": "review", "source": "u", "event_id": r["id"], "customer_id": r["email"], "occurred_at": r["at"]}


class Compressed(Undeclared):
    """Reads compressed records: the dead letter keeps the bytes as read, which name no value, so a
    detail that quotes a value cannot be scrubbed by what the table sees."""

    name = "compressed"
    personal_fields = ("email",)

    def poll(self, cursor):
        rec = {"id": "r-1", "email": EMAIL, "at": "2026-01-01T00:00:00Z"}
        yield Raw(rec, raw=zlib.compress(json.dumps(rec).encode()))

    def map(self, r):
        if "at" not in r:
            raise Reject(Reason.MISSING_FIELD, f"no time for {r['email']}")
        return super().map(r)


def test_conformance_requires_the_declaration_and_checks_that_rejected_rows_come_out_redacted():
    with pytest.raises(ConformanceError, match="declares no personal_fields, so all its dead letters are treated as "
                                               "personal"):
        check_conformance(Undeclared, bad=[{"id": "r-2"}])
    dl = DeadLetter.model_validate_json(to_messages(Undeclared(), Raw({"id": "r-2", "email": EMAIL}))[0][0].value)
    assert dl.personal_fields is None and dead_letter_row(dl, KEYS)["redacted"] == 1  # fail closed

    class Declared(Undeclared):
        personal_fields = ("email",)

    report = check_conformance(Declared, bad=[{"id": "r-2", "email": EMAIL}])
    assert report["personal_fields"] == ["email"] and report["dead_letters_redacted"] is True
    with pytest.raises(ConformanceError, match="holds the value of a declared personal field"):
        check_conformance(Compressed)


def test_every_installed_built_in_connector_declares_its_personal_fields_and_a_config_adds_more(tmp_path):
    from pulsewire.streams.connectors.files import Files
    from pulsewire.streams.sdk import registry

    builtin = {name: ep.load() for name, ep in registry.available().items()
               if ep.value.startswith("pulsewire.streams.connectors.")}
    assert set(builtin) >= {"files", "webhook", "hris", "pulse", "generator"}
    assert {name: cls.personal_fields is None for name, cls in builtin.items()} == dict.fromkeys(builtin, False)
    files = Files({"path": str(tmp_path / "x.csv"), "columns": {"customer_id": "E-mail", "text": "Body"},
                   "attributes": ["Title"], "personal_fields": ["Phone"]})
    assert set(files.declared_personal_fields()) == {"E-mail", "Body", "employee_id", "Title", "Phone"}
