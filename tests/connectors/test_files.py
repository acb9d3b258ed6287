import json
import threading
import time

import pytest

from pulsewire.streams.connectors.files import Files
from pulsewire.streams.sdk import ConnectorError
from pulsewire.streams.testing import check_conformance, run_connector, running

from .conftest import JSONL_COLUMNS, REVIEWS_CSV, REVIEWS_JSONL

COLUMNS = {"event_id": "review_id", "text": "body", "occurred_at": "created_at", "channel": "store"}


def reviews(path, **kw):
    return Files({"path": str(path), "source": "shop", "columns": COLUMNS, "attributes": ["title"], **kw})


@pytest.fixture
def csv_file(tmp_path):
    p = tmp_path / "reviews.csv"
    p.write_text(REVIEWS_CSV)
    return p


def test_review_export_csv(csv_file):
    sink = run_connector(reviews(csv_file))
    ev = sink.events
    assert [e.event_id for e in ev] == ["shop:rv-1001", "shop:rv-1002", "shop:rv-1003", "shop:rv-1004"]
    assert ev[1].rating == 2 and 'email "support" twice' in ev[1].text
    assert ev[2].text == "Billing charged me twice.\nStill waiting for the refund."  # quoted newline
    assert ev[0].attributes == {"title": "Love it"} and ev[3].attributes == {}
    assert ev[1].occurred_at.utcoffset().total_seconds() == 7200 and ev[0].channel == "app_store"
    assert not sink.dead_letters


def test_jsonl_with_nested_fields(tmp_path):
    p = tmp_path / "trustpilot.jsonl"
    p.write_text(REVIEWS_JSONL)
    sink = run_connector(Files({"path": str(p), "source": "trustpilot", "columns": JSONL_COLUMNS}))
    assert [(e.customer_id, e.rating) for e in sink.events] == [("c-77", 4), ("c-78", 1), ("c-79", 3)]


def test_conformance(csv_file, tmp_path):
    report = check_conformance(lambda: reviews(csv_file), bad=[{"review_id": "x"}, {**dict.fromkeys(COLUMNS.values(), ""),
                                                                                   "customer_id": "c", "rating": "9"}])
    assert report["cursor"] == "round-trips" and report["bad_dead_lettered"] == 2
    p = tmp_path / "r.jsonl"
    p.write_text(REVIEWS_JSONL)
    check_conformance(lambda: Files({"path": str(p), "columns": JSONL_COLUMNS}), bad=[{"id": "no customer"}])


def test_bom_is_stripped(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + REVIEWS_CSV.encode())
    assert len(run_connector(reviews(p)).events) == 4


def test_missing_column_stops_with_a_clear_message(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(REVIEWS_CSV.replace("customer_id", "client"))
    with pytest.raises(ConnectorError, match="missing column.*'customer_id'.*header has"):
        run_connector(reviews(p))


def test_wrong_delimiter_gets_a_hint(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("review_id;customer_id;rating;body;created_at;store;title\nr1;c1;5;ok;2026-10-01T00:00:00Z;web;t\n")
    with pytest.raises(ConnectorError, match="looks ';'-delimited: set delimiter = ';'"):
        run_connector(reviews(p))
    assert len(run_connector(reviews(p, delimiter=";")).events) == 1


def test_bad_lines_become_dead_letters(tmp_path):
    p = tmp_path / "r.csv"
    head, *rows = REVIEWS_CSV.splitlines(keepends=True)
    long_row = "rv-2,cust-1,3,t," + "x" * 5000 + ",2026-10-01T00:00:00Z,web\n"
    p.write_bytes((head + rows[0]).encode() + b"rv-3,cust-2,4,t,caf\xe9 latin-1,2026-10-01T00:00:00Z,web\n"
                  + long_row.encode() + b"rv-4,cust-3\n" + b"rv-5,cust-4,five,t,x,2026-10-01T00:00:00Z,web\n"
                  + b"rv-6,cust-5,4,t,naive,2026-10-01 10:00:00,web\n" + rows[-1].encode())
    sink = run_connector(reviews(p, max_line_bytes=1024))
    assert [e.event_id for e in sink.events] == ["shop:rv-1001", "shop:rv-1004"]
    dls = {d.reason.value: d for d in sink.dead_letters}
    assert set(dls) == {"invalid_encoding", "payload_too_large", "missing_field", "wrong_type", "naive_timestamp"}
    assert dls["invalid_encoding"].payload_encoding == "base64"
    assert dls["payload_too_large"].payload.startswith("rv-2,cust-1")
    assert all(d.source_topic == "files" and d.where == "connector:files" for d in sink.dead_letters)
    assert len(run_connector(reviews(p, max_line_bytes=1024, assume_tz="Europe/Berlin")).events) == 3


def test_cursor_resumes_after_appends(csv_file):
    sink = run_connector(reviews(csv_file))
    with open(csv_file, "a") as f:
        f.write("rv-1005,cust-99,3,,Fine,2026-10-06T07:30:00Z,web\n")
    again = run_connector(reviews(csv_file), sink=sink)
    assert [e.event_id for e in again.events][-2:] == ["shop:rv-1004", "shop:rv-1005"]
    assert len(again.events) == 5  # nothing twice


def test_tail_follows_a_growing_file_and_a_truncation(tmp_path):
    p = tmp_path / "live.jsonl"
    p.write_text("")
    c = Files({"path": str(p), "columns": JSONL_COLUMNS, "follow": True, "poll_interval_s": 0.02})
    lines = REVIEWS_JSONL.splitlines(keepends=True)
    with running(c) as r:
        with open(p, "a") as f:
            f.write(lines[0])
            f.flush()
            r.wait_for(1)
            f.write(lines[1][:30])  # half a line: not read until it is complete
            f.flush()
            time.sleep(0.15)
            assert len(r.sink.events) == 1
            f.write(lines[1][30:])
        r.wait_for(2)
        p.write_text(lines[3])  # truncated and rewritten (log rotation by copytruncate)
        evs = r.wait_for(3)
    assert [e.event_id for e in evs] == ["files:tp-9001", "files:tp-9002", "files:tp-9003"]
    assert json.loads(r.sink.cursors["files"])["offset"] == len(lines[3])


def _jsonl_with(tmp_path, bad_line: str):
    lines = REVIEWS_JSONL.splitlines(keepends=True)
    p = tmp_path / "r.jsonl"
    p.write_text(lines[0] + bad_line + "\n" + "".join(lines[1:]))
    return p


def test_deeply_nested_line_is_a_dead_letter_and_the_file_goes_on(tmp_path):
    deep = '{"id": "tp-x", "consumer": ' + "[" * 50_000 + "]" * 50_000 + "}"
    p = _jsonl_with(tmp_path, deep)
    sink = run_connector(Files({"path": str(p), "columns": JSONL_COLUMNS}))
    assert [e.event_id for e in sink.events] == ["files:tp-9001", "files:tp-9002", "files:tp-9003"]
    [dl] = sink.dead_letters
    assert dl.reason.value == "nesting_too_deep" and "line at byte" in dl.detail and dl.payload.startswith('{"id": "tp-x"')
    assert json.loads(sink.cursors["files"])["offset"] == p.stat().st_size  # a rerun starts after the file


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_number_in_json_lines_is_a_dead_letter(tmp_path, token):
    bad = '{"id": "tp-n", "consumer": {"id": "c-1"}, "stars": 4, "text": %s, "createdAt": "2026-10-01T08:00:00Z"}' % token
    p = _jsonl_with(tmp_path, bad)
    sink = run_connector(Files({"path": str(p), "columns": {**JSONL_COLUMNS, "text": "text"}}))
    assert [e.event_id for e in sink.events] == ["files:tp-9001", "files:tp-9002", "files:tp-9003"]
    assert [d.reason.value for d in sink.dead_letters] == ["non_finite_number"]
    assert "nan" not in {e.text for e in sink.events}


@pytest.mark.parametrize("column, config", [("store", {}), ("title", {}), ("helpful", {"attributes": ["helpful"]})])
def test_mapped_optional_column_missing_from_the_header_stops_with_its_name(tmp_path, column, config):
    p = tmp_path / "r.csv"
    p.write_text(REVIEWS_CSV.replace(f",{column}", ",other") if column != "helpful" else REVIEWS_CSV)
    with pytest.raises(ConnectorError, match=f"missing column.*'{column}'") as exc:
        run_connector(reviews(p, **config))
    assert "\n" not in str(exc.value)


def test_empty_or_over_long_source_id_is_a_dead_letter_not_a_hash(tmp_path):
    head, *rows = REVIEWS_CSV.splitlines(keepends=True)
    p = tmp_path / "r.csv"
    p.write_text(head + rows[0] + rows[1].replace("rv-1002", "") + rows[-1].replace("rv-1004", "rv-" + "9" * 200))
    sink = run_connector(reviews(p))
    assert [e.event_id for e in sink.events] == ["shop:rv-1001"]
    dls = sink.dead_letters
    assert [d.reason.value for d in dls] == ["invalid_source_id", "invalid_source_id"]
    assert "'review_id' is empty" in dls[0].detail and "event_id of 208 characters" in dls[1].detail


def test_json_line_without_its_mapped_id_is_a_dead_letter(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text(REVIEWS_JSONL.replace('"id": "tp-9002", ', ""))
    sink = run_connector(Files({"path": str(p), "columns": JSONL_COLUMNS}))
    assert [e.event_id for e in sink.events] == ["files:tp-9001", "files:tp-9003"]
    assert [d.reason.value for d in sink.dead_letters] == ["invalid_source_id"]


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.json"])
def test_zero_byte_file_ends_normally_with_a_warning_naming_it(tmp_path, caplog, name):
    p = tmp_path / name
    p.write_bytes(b"")
    with caplog.at_level("WARNING", logger="pulsewire.streams.connectors.files"):
        sink = run_connector(reviews(p))
    assert not sink.events and not sink.dead_letters
    assert [r.getMessage() for r in caplog.records] == [f"{p} is empty (0 bytes): nothing to deliver"]


def test_latin1_export_is_read_with_the_encoding_option(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes(REVIEWS_CSV.replace("body", "commentaire").replace("Good value", "Très bon rapport").encode("latin-1"))
    columns = {**COLUMNS, "text": "commentaire"}
    sink = run_connector(Files({"path": str(p), "source": "shop", "columns": columns, "encoding": "latin-1"}))
    assert len(sink.events) == 4 and sink.events[3].text == "Très bon rapport for a small team"
    assert not sink.dead_letters
    bad = run_connector(Files({"path": str(p), "source": "shop", "columns": columns}))  # utf-8 by default
    assert [d.reason.value for d in bad.dead_letters] == ["invalid_encoding"] and len(bad.events) == 3


def test_undecodable_line_in_the_chosen_encoding_is_a_dead_letter(tmp_path):
    head, *rows = REVIEWS_CSV.splitlines(keepends=True)
    p = tmp_path / "cp1252.csv"
    p.write_bytes((head + rows[0]).encode() + b"rv-9,cust-1,3,t,\x81 undefined in cp1252,2026-10-01T00:00:00Z,web\n"
                  + rows[-1].replace("Good", "Caf\u00e9 \u20ac").encode("cp1252"))
    sink = run_connector(reviews(p, encoding="cp1252"))
    assert [e.event_id for e in sink.events] == ["shop:rv-1001", "shop:rv-1004"]
    assert "Café €" in sink.events[1].text
    [dl] = sink.dead_letters
    assert dl.reason.value == "invalid_encoding" and "cp1252" in dl.detail


@pytest.mark.parametrize("encoding, message", [("klingon", "unknown encoding"), ("utf-16", "not supported")])
def test_unknown_or_unsupported_encoding_is_a_config_error(tmp_path, encoding, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        reviews(tmp_path / "x.csv", encoding=encoding)
