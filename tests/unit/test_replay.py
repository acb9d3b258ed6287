"""``pulsewire replay`` and ``pulsewire evaluate --input``: reading, sorting, gzip, bad lines, user errors.
(Producing into a running worker: tests/integration/test_replay.py.)"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from pulsewire.infra.broker.embedded import free_port
from pulsewire.streams.cli import app
from pulsewire.streams.replay import ReplayError, dead_letter, read_event_file

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def event(i: int, hours_ago: float, kind: str = "review", **more) -> dict:
    base = {"event_id": f"rp-{i}", "source": "unit", "kind": kind,
            "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat()}
    if kind == "review":
        base.update(customer_id=f"c-{i}", text="Fine", rating=4)
    elif kind == "hr":
        base.update(type="overtime", employee_id=f"emp-{i}", team_id="team-a", hours=3.0)
    elif kind == "activity":
        base.update(type="order_placed", customer_id=f"c-{i}", amount=12.5, currency="EUR")
    return {**base, **more}


def write(path, lines: list, gz: bool = False):
    data = "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def user_error(res, *needles: str) -> None:
    assert res.exit_code != 0 and (res.exception is None or isinstance(res.exception, SystemExit)), res
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_events_come_out_in_event_time_order_and_ties_keep_the_file_order(tmp_path):
    lines = [event(1, 5), event(2, 9), event(3, 5, kind="hr"), event(4, 1, kind="activity"), event(5, 9)]
    f = read_event_file(write(tmp_path / "e.jsonl", lines))
    assert [e.line for e in f.events] == [2, 5, 1, 3, 4]
    assert [e.kind for e in f.events] == ["review", "review", "review", "hr", "activity"]
    # keyed as connectors key them: the customer, else the (raw) employee; the line's bytes unchanged
    assert [e.key for e in f.events] == ["c-2", "c-5", "c-1", "emp-3", "c-4"]
    assert json.loads(f.events[0].value) == lines[1]
    assert f.span == (lines[1]["occurred_at"], lines[3]["occurred_at"])


@pytest.mark.parametrize("name", ["e.jsonl.gz", "e.jsonl"])  # by suffix, and by its first bytes
def test_gzip_files_are_read(tmp_path, name):
    f = read_event_file(write(tmp_path / name, [event(1, 2), event(2, 1)], gz=True))
    assert [e.line for e in f.events] == [1, 2] and not f.bad


def test_bad_lines_are_dead_letters_with_reasons_and_line_numbers_and_the_rest_go_on(tmp_path):
    lines = [event(1, 3), "{not json", "[1, 2]", {k: v for k, v in event(2, 2).items() if k != "kind"},
             event(3, 2, kind="survey"), {k: v for k, v in event(4, 2).items() if k != "occurred_at"},
             event(5, 2, occurred_at="2026-11-01T10:00:00"), event(6, 2, occurred_at=1793527200),
             event(7, 2, occurred_at="yesterday"), "", '{"rating": NaN}', event(8, 1)]
    f = read_event_file(write(tmp_path / "e.jsonl", lines))
    assert [e.line for e in f.events] == [1, 12]
    assert [(b.line, b.reason.value) for b in f.bad] == [
        (2, "malformed_json"), (3, "not_an_object"), (4, "missing_field"), (5, "unknown_kind"), (6, "missing_field"),
        (7, "naive_timestamp"), (8, "wrong_type"), (9, "invalid_value"), (11, "non_finite_number")]
    dl = dead_letter(f.bad[3], f.path)
    assert dl.reason.value == "unknown_kind" and "line 5" in dl.detail and dl.personal
    assert json.loads(dl.payload_bytes()) == lines[4]  # the line as it was, for the dead-letter tools
    assert "c-3" not in dl.detail  # the detail names what is wrong, never the line's values


def test_invalid_utf8_is_a_dead_letter(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(json.dumps(event(1, 1)).encode() + b"\n" + b'{"text": "caf\xe9"}\n')
    f = read_event_file(path)
    assert len(f.events) == 1 and [(b.line, b.reason.value) for b in f.bad] == [(2, "invalid_encoding")]


def test_missing_empty_and_broken_files_are_errors(tmp_path):
    with pytest.raises(ReplayError, match="no file"):
        read_event_file(tmp_path / "nope.jsonl")
    with pytest.raises(ReplayError, match="is empty"):
        read_event_file(write(tmp_path / "blank.jsonl", ["", "  "]))
    truncated = gzip.compress(json.dumps(event(1, 1)).encode() * 50)[:40]
    (tmp_path / "cut.jsonl.gz").write_bytes(truncated)
    with pytest.raises(ReplayError, match="cannot read"):
        read_event_file(tmp_path / "cut.jsonl.gz")


@pytest.mark.parametrize("args, needles", [
    (["--sped", "3"], ["No such option: --sped", "--speed"]),
    (["--speed", "0"], ["--speed 0", "greater than 0"]),
    (["--speed", "-2"], ["--speed -2", "greater than 0"]),
    (["--speed", "2", "--as-fast-as-possible"], ["exclude each other"]),
])
def test_replay_flag_errors_are_one_line(tmp_path, args, needles):
    path = write(tmp_path / "e.jsonl", [event(1, 1)])
    user_error(CliRunner().invoke(app, ["replay", str(path), *args]), *needles)


def test_replay_file_errors_are_one_line(tmp_path):
    user_error(CliRunner().invoke(app, ["replay", str(tmp_path / "nope.jsonl")]), "no file")
    user_error(CliRunner().invoke(app, ["replay", str(write(tmp_path / "e.jsonl", []))]), "is empty")
    user_error(CliRunner().invoke(app, ["replay"]), "Missing argument")


def test_replay_to_an_unreachable_broker_is_one_line(tmp_path):
    path = write(tmp_path / "e.jsonl", [event(1, 1)])
    res = CliRunner().invoke(app, ["replay", str(path)],
                             env={"PULSEWIRE_BROKER_URL": f"kafka://127.0.0.1:{free_port()}"})
    user_error(res, "cannot reach Kafka")


def test_generate_writes_what_evaluate_generates(tmp_path):
    """The file `pulsewire generate` writes, read back as `evaluate --input` reads it, is the generator's
    stream record for record and in the same order; its truth is the generator's truth."""
    from pulsewire.streams.evaluate import generate, load_input, load_truth

    out, truth = tmp_path / "ev.jsonl.gz", tmp_path / "truth.json"
    res = CliRunner().invoke(app, ["generate", "-n", "1500", "--seed", "5", "-o", str(out), "--truth", str(truth)])
    assert res.exit_code == 0, res.output
    sim, records = generate(5, 1500)
    loaded, skipped = load_input(out)
    assert loaded == records and skipped == {}
    assert load_truth(truth) == json.loads(json.dumps(sim.ground_truth(), default=str))


def test_generate_a_shop_without_activity_writes_what_evaluate_runs(tmp_path):
    """`generate --mode shop --no-activity` is `evaluate --mode shop --no-activity`'s stream, says how many
    activity events it left out, and writes the shop truth with the N it was established with."""
    from pulsewire.streams.evaluate import generate, generate_counted, load_input, load_truth

    out, truth = tmp_path / "ev.jsonl", tmp_path / "truth.json"
    res = CliRunner().invoke(app, ["generate", "-n", "1500", "--seed", "5", "--mode", "shop", "--no-activity",
                                   "-o", str(out), "--truth", str(truth)],
                             env={"PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS": "30"})
    assert res.exit_code == 0, res.output
    sim, records = generate(5, 1500, mode="shop", activity=False)
    _, with_activity, _ = generate_counted(5, 1500, mode="shop")
    left_out = sum(1 for r in with_activity if r.get("kind") == "activity")
    assert left_out > 0
    assert f"--no-activity: left out {left_out} activity events of the 1500 generated" in res.output
    loaded, _ = load_input(out)
    assert loaded == records and not any(r["kind"] == "activity" for r in loaded)
    got = load_truth(truth)
    assert got == json.loads(json.dumps(sim.ground_truth(30), default=str))
    assert got["config"]["churn_inactive_days"] == 30.0 and got["config"]["mode"] == "shop"


def test_generate_with_an_unknown_mode_is_one_line(tmp_path):
    res = CliRunner().invoke(app, ["generate", "-n", "100", "--mode", "cafe", "-o", str(tmp_path / "e.jsonl")])
    user_error(res, "--mode must be 'subscription' or 'shop', got 'cafe'")
    assert not (tmp_path / "e.jsonl").exists()


@pytest.mark.parametrize("args, needles", [
    (["--input", "{ev}"], ["--input and --truth go together"]),
    (["--input", "{dir}", "--truth", "{truth}"], ["is a directory"]),
    (["--truth", "{truth}"], ["--input and --truth go together"]),
    (["--input", "{ev}", "--truth", "{truth}", "-n", "500"], ["--events", "only for generated events"]),
    (["--input", "{ev}", "--truth", "{truth}", "--seed", "3"], ["--seed"]),
    (["--input", "{ev}", "--truth", "{truth}", "--fast"], ["--fast"]),
    (["--input", "{ev}", "--truth", "{truth}", "--mode", "shop"], ["--mode"]),
    (["--input", "{ev}", "--truth", "{truth}", "--no-activity"], ["--no-activity"]),
    (["--input", "{dir}/nope.jsonl", "--truth", "{truth}"], ["no file"]),
    (["--input", "{ev}", "--truth", "{dir}/nope.json"], ["cannot read the truth file"]),
    (["--input", "{ev}", "--truth", "{bad_truth}"], ["needs \"customers\" and \"employees\""]),
    (["--input", "{ev}", "--truth", "{no_churn_time}"], ["customers['c-1']", "churned_at"]),
])
def test_evaluate_input_errors_are_one_line(tmp_path, args, needles):
    ev = write(tmp_path / "ev.jsonl", [event(1, 1)])
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"customers": {"c-1": {"churned": False}}, "employees": {}}))
    (tmp_path / "bad.json").write_text(json.dumps({"customers": {}}))
    (tmp_path / "nct.json").write_text(json.dumps({"customers": {"c-1": {"churned": True}}, "employees": {}}))
    names = {"ev": ev, "truth": truth, "dir": tmp_path, "bad_truth": tmp_path / "bad.json",
             "no_churn_time": tmp_path / "nct.json"}
    res = CliRunner().invoke(app, ["evaluate", *(a.format(**names) for a in args),
                                   "--data-dir", str(tmp_path / "run")])
    user_error(res, *needles)
    assert not (tmp_path / "run").exists()


def test_evaluate_without_activity_says_how_many_it_left_out(tmp_path):
    from pulsewire.streams.evaluate import generate

    _, records = generate(7, 1000)
    left_out = sum(1 for r in records if r.get("kind") == "activity")
    res = CliRunner().invoke(app, ["evaluate", "--fast", "--no-activity", "-n", "1000",
                                   "--data-dir", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert (f"--no-activity: left out {left_out} activity events of the 1000 generated "
            f"({1000 - left_out} remain)") in res.output
