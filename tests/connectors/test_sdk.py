import json
import sys
import threading
import time

import pytest

from pulsewire.streams.connectors.simulated import Simulated
from pulsewire.streams.sdk import Connector, ConnectorError, Raw, Reason, Reject, Runner, registry, to_messages
from pulsewire.streams.testing import TestingSink, check_conformance, run_connector

GOOD = {"id": "o-1", "customer": "c-1", "stars": 4, "at": "2026-10-01T00:00:00Z"}


class Tiny(Connector):
    name = "tiny"

    def __init__(self, rows=(), fail_at=None, **kw):
        super().__init__(kw)
        self.rows, self.fail_at = list(rows), fail_at

    def poll(self, cursor):
        for i in range(int(cursor or 0), len(self.rows)):
            if i == self.fail_at:
                raise OSError("disk went away")
            yield Raw(self.rows[i], cursor=str(i + 1))

    def map(self, r):
        if r.get("skip"):
            return None
        if "boom" in r:
            raise Reject(Reason.INVALID_VALUE, "boom")
        return {"kind": "review", "source": "tiny", "event_id": r["id"], "customer_id": r["customer"],
                "rating": r["stars"], "occurred_at": r["at"]}


def test_outcomes():
    c = Tiny()
    assert to_messages(c, Raw(GOOD))[1] == "produced"
    assert to_messages(c, Raw({"skip": 1})) == ([], "skipped")
    for bad, reason in [({"boom": 1}, "invalid_value"), ({"id": "x"}, "mapping_failed"),
                        ({**GOOD, "stars": 9}, "invalid_value"), ({**GOOD, "at": "2026-10-01T00:00:00"}, "naive_timestamp"),
                        (b"\xff", "invalid_encoding")]:
        raw = Raw(bad, raw=bad, reject=(Reason.INVALID_ENCODING, "x")) if isinstance(bad, bytes) else Raw(bad)
        msgs, outcome = to_messages(c, raw)
        dl = json.loads(msgs[0].value)
        assert (outcome, msgs[0].topic, msgs[0].key, dl["reason"]) == ("dead_lettered", "events.dlq", b"tiny", reason)
        assert dl["where"] == "connector:tiny" and dl["payload"]


def test_cursor_is_stored_after_the_batch_and_resume_has_no_gaps():
    rows = [{**GOOD, "id": f"o-{i}"} for i in range(10)]
    order = []

    class Recorder(TestingSink):
        def deliver(self, m):
            order.append(("deliver", len(m)))
            super().deliver(m)

        def save_cursor(self, k, c):
            order.append(("cursor", c))
            super().save_cursor(k, c)

    sink = Recorder()
    Runner(Tiny(rows), sink, batch_size=4, limit=6).run()
    assert order[:2] == [("deliver", 4), ("cursor", "4")] and sink.cursors["tiny"] == "6"
    run_connector(Tiny(rows), sink=sink)
    assert [e.event_id for e in sink.events] == [f"o-{i}" for i in range(10)]


def test_fatal_error_delivers_what_was_read_then_stops():
    rows = [{**GOOD, "id": f"o-{i}"} for i in range(5)]
    sink = TestingSink()
    with pytest.raises(ConnectorError, match="failed while reading: OSError: disk went away"):
        run_connector(Tiny(rows, fail_at=3), sink=sink)
    assert len(sink.events) == 3 and sink.cursors["tiny"] == "3"

    class BadSetup(Tiny):
        def setup(self):
            raise PermissionError("no access to /srv/export")
    with pytest.raises(ConnectorError, match="could not start: PermissionError: no access"):
        run_connector(BadSetup())


def test_backpressure_a_slow_sink_slows_the_source():
    read = []

    class Endless(Tiny):
        def poll(self, cursor):
            i = 0
            while True:
                read.append(i)
                yield {**GOOD, "id": f"o-{i}"}
                i += 1

    class Slow(TestingSink):
        def deliver(self, m):
            time.sleep(0.05)
            super().deliver(m)

    stop, sink = threading.Event(), Slow()
    t = threading.Thread(target=Runner(Endless(), sink, batch_size=100, stop=stop).run)
    t.start()
    time.sleep(0.5)
    stop.set()
    t.join(5)
    in_flight = len(read) - len(sink.messages)
    assert 0 <= in_flight <= 100, in_flight  # never more than one batch read ahead of the broker


def test_config_is_validated_and_extra_keys_refused():
    from pydantic import ValidationError

    from pulsewire.streams.connectors.files import Files

    with pytest.raises(ValidationError, match="delimeter"):
        Files({"path": "x.csv", "delimeter": ";"})


def test_registry_lists_builtins_and_rejects_unknown():
    eps = registry.available()
    assert {"files", "webhook", "hris", "pulse", "generator"} <= set(eps)
    assert registry.load("files").__name__ == "Files"
    with pytest.raises(ConnectorError, match="no connector named 'nope'; installed: .*files"):
        registry.load("nope")


def test_duplicate_names_are_rejected(tmp_path, monkeypatch):
    dist = tmp_path / "evil_dup-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-dup\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pulsewire.connectors]\nfiles = evil_dup:Files\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(registry.DuplicateConnectorError, match="'files' is registered twice: by .*evil-dup"):
        registry.available()


def test_generator_on_the_sdk():
    report = check_conformance(lambda: Simulated({"events": 300, "bad_record_rate": 0.02, "seed": 3}),
                               bad=[b'{"kind": "review", "text": "cut', {"kind": "survey"}])
    assert report["events"] > 250 and report["dead_letters"] >= 1 and report["cursor"] == "round-trips"
    sink = run_connector(Simulated({"events": 300, "bad_record_rate": 0.05, "seed": 3}))
    reasons = {d.reason.value for d in sink.dead_letters}
    assert {"malformed_json", "missing_field"} <= reasons and len(sink.events) + len(sink.dead_letters) >= 300


def test_kafka_sink_retries_with_backoff_until_delivered(monkeypatch, caplog):
    from pulsewire.streams.sdk.runtime import KafkaSink, Message

    sink, calls = KafkaSink("127.0.0.1:1", backoff_max_s=0.05), []

    def flaky(msgs):
        calls.append(len(msgs))
        return (msgs[1:], "KafkaTimeoutError: flush timed out") if len(calls) < 3 else ([], "")
    monkeypatch.setattr(sink, "_try", flaky)
    sink.deliver([Message("events.review", b"k", b"v")] * 3)
    assert calls == [3, 2, 1] and "retrying 2 records" in caplog.text
    sink.stop.set()
    monkeypatch.setattr(sink, "_try", lambda msgs: (msgs, "down"))
    with pytest.raises(ConnectorError, match="1 records not delivered; the cursor was not advanced"):
        sink.deliver([Message("events.review", b"k", b"v")])


@pytest.mark.parametrize("value", ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00+00:00", "2300-06-01T12:00:00Z",
                                   "1989-12-31", 32503680000])  # the last: epoch seconds of 3000-01-01
def test_parse_time_refuses_far_dated_timestamps(value):
    from pulsewire.streams.sdk import parse_time

    with pytest.raises(Reject) as exc:
        parse_time(value, assume_tz="UTC")
    assert exc.value.reason == Reason.TIMESTAMP_OUT_OF_RANGE


def test_parse_time_window_is_relative_to_now_and_can_be_widened():
    from datetime import date, datetime, timedelta, timezone

    from pulsewire.streams.sdk import TimeWindow, parse_time

    now = datetime.now(timezone.utc)
    assert parse_time((now + timedelta(hours=23)).isoformat())
    with pytest.raises(Reject, match="in the future"):
        parse_time((now + timedelta(hours=25)).isoformat())
    wide = TimeWindow(max_future_days=30, earliest_event_date=date(1900, 1, 1))
    assert parse_time((now + timedelta(days=29)).isoformat(), window=wide)
    assert parse_time("1950-01-01T00:00:00Z", window=wide) == "1950-01-01T00:00:00+00:00"


def test_runner_dead_letters_out_of_range_times_with_its_window_even_without_parse_time():
    from datetime import date, datetime, timedelta, timezone

    from pulsewire.streams.sdk import TimeWindow

    soon = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    rows = [GOOD, {**GOOD, "id": "o-2", "at": "9999-01-01T00:00:00Z"}, {**GOOD, "id": "o-3", "at": soon},
            {**GOOD, "id": "o-4", "at": "1980-01-01T00:00:00Z"}]
    sink = run_connector(Tiny(rows))
    assert [e.event_id for e in sink.events] == ["o-1"]
    assert [d.reason for d in sink.dead_letters] == [Reason.TIMESTAMP_OUT_OF_RANGE] * 3
    sink = TestingSink()
    Runner(Tiny(rows), sink, max_idle=1, window=TimeWindow(7, date(1970, 1, 1))).run()
    assert [e.event_id for e in sink.events] == ["o-1", "o-3", "o-4"]


def test_stable_id_refuses_a_natural_key_with_nothing_in_it():
    from pulsewire.streams.sdk import stable_id

    for key in [(), ("",), (None,), ("  ", None)]:
        with pytest.raises(Reject) as exc:
            stable_id("shop", *key)
        assert exc.value.reason == Reason.INVALID_SOURCE_ID
    assert stable_id("shop", "order-1", "") != stable_id("shop", "order-2", "")


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", float("nan"), "1e999"])
def test_to_float_refuses_non_finite_numbers(value):
    from pulsewire.streams.sdk import to_float

    with pytest.raises(Reject) as exc:
        to_float(value)
    assert exc.value.reason == Reason.NON_FINITE_NUMBER
