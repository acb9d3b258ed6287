"""The ``pulsewire`` command as a user runs it: user errors end with one line and a non-zero
exit, never a traceback; commands that only read a store leave it as it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pulsewire.infra.broker.embedded import free_port

PULSEWIRE = [sys.executable, "-m", "pulsewire.streams.cli"]


def pulsewire(*args: str, cwd: Path, env: dict | None = None, stdin: str = "", timeout: float = 120):
    return subprocess.run([*PULSEWIRE, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200", **(env or {})})


def assert_user_error(res, *needles: str) -> None:
    """Exit != 0, exactly one line on stderr that says what is wrong, no traceback anywhere."""
    assert res.returncode != 0, res
    assert "Traceback" not in res.stdout + res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: "), lines
    for needle in needles:
        assert needle in lines[0], lines


def test_score_on_a_missing_file(tmp_path):
    res = pulsewire("score", "no-such-file.txt", cwd=tmp_path)
    assert_user_error(res, "cannot read no-such-file.txt", "No such file")


def test_score_with_failed_lines_exits_non_zero_and_scores_the_rest(tmp_path):
    res = pulsewire("score", cwd=tmp_path, stdin='a lovely day\n{"no": "text"}\n')
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stdout.count('"label"') == 1 and '"line": 2' in res.stdout
    assert "1 lines could not be scored" in res.stderr
    assert pulsewire("score", cwd=tmp_path, stdin="a lovely day\n").returncode == 0


def test_board_with_a_time_that_is_not_iso(tmp_path):
    assert_user_error(pulsewire("board", "--from", "yesterday", cwd=tmp_path), "--from 'yesterday'", "ISO 8601")


@pytest.mark.parametrize("command", ["summary", "board"])
def test_mistyped_data_dir_fails_and_creates_nothing(tmp_path, command):
    res = pulsewire(command, "--data-dir", "pulswire-demo", cwd=tmp_path)
    assert_user_error(res, "no data directory pulswire-demo")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["summary", "board"])
def test_data_dir_without_a_store_fails_and_creates_nothing(tmp_path, command):
    (tmp_path / "notes").mkdir()
    res = pulsewire(command, "--data-dir", "notes", cwd=tmp_path)
    assert_user_error(res, "no store at")
    assert list((tmp_path / "notes").iterdir()) == []


def test_summary_on_a_store_held_by_another_process(tmp_path, store):
    """The session's ``store`` fixture holds its chDB lock in this process."""
    res = pulsewire("summary", cwd=tmp_path, env={"PULSEWIRE_STORE_URL": store.url})
    assert_user_error(res, "is in use by process", str(os.getpid()))


def test_commands_need_a_reachable_broker(tmp_path):
    """``topics`` and ``worker`` against a port where nothing listens (both wait out the
    bootstrap timeout, so they run side by side)."""
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "PULSEWIRE_BROKER_URL": f"kafka://127.0.0.1:{port}",
           "PULSEWIRE_PSEUDONYM_KEY": "k" * 32, "PULSEWIRE_DATA_DIR": str(tmp_path / "data")}
    procs = [subprocess.Popen([*PULSEWIRE, cmd], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for cmd in ("topics", "worker")]
    outputs = [p.communicate(timeout=120) for p in procs]
    results = [subprocess.CompletedProcess(p.args, p.returncode, *out) for p, out in zip(procs, outputs)]
    for res in results:
        assert_user_error(res, "cannot reach Kafka")
    assert f"connection refused at 127.0.0.1:{port}" in results[0].stderr and "SASL" not in results[0].stderr


def test_invalid_setting_is_one_line(tmp_path):
    res = pulsewire("summary", cwd=tmp_path, env={"PULSEWIRE_MIN_GROUP_SIZE": "many"})
    assert_user_error(res, "PULSEWIRE_MIN_GROUP_SIZE")


@pytest.mark.parametrize(("command", "variable", "value"), [
    (["demo", "-n", "10"], "PULSEWIRE_MIN_GROUP_SIZE", "3"),
    (["demo", "-n", "10"], "PULSEWIRE_RAW_TEXT_TTL_DAYS", "abc"),
    (["evaluate", "-n", "100"], "PULSEWIRE_MIN_GROUP_SIZE", "many"),
])
def test_invalid_setting_for_demo_and_evaluate_is_one_line_and_touches_nothing(tmp_path, command, variable, value):
    res = pulsewire(*command, "--data-dir", str(tmp_path / "run"), cwd=tmp_path, env={variable: value})
    assert_user_error(res, "invalid configuration", variable)
    assert res.returncode == 2 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [["demo", "-n", "10"], ["evaluate", "-n", "100"], ["evaluate", "-n", "100", "--fast"]])
@pytest.mark.parametrize(("variable", "value", "says"), [
    ("PULSEWIRE_LEARN_CHURN_DEFINITION", "foo", "PULSEWIRE_LEARN_CHURN_DEFINITION: 'foo' is not one of "
     "subscription, inactivity"),
    ("PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS", "abc", "PULSEWIRE_LEARN_CHURN_INACTIVE_DAYS: expected a number, got 'abc'"),
])
def test_a_bad_learner_setting_is_one_line_naming_it_before_anything_starts(tmp_path, command, variable, value, says):
    res = pulsewire(*command, "--data-dir", str(tmp_path / "run"), cwd=tmp_path, env={variable: value})
    assert_user_error(res, says)
    assert res.returncode == 2 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("fast", [[], ["--fast"]])
def test_a_subscription_threshold_with_evaluate_mode_shop_is_refused_not_ignored(tmp_path, fast):
    """--mode shop judges churn by inactivity, where PULSEWIRE_LEARN_CHURN_THRESHOLD has no effect."""
    res = pulsewire("evaluate", "-n", "100", "--mode", "shop", *fast, "--data-dir", str(tmp_path / "run"),
                    cwd=tmp_path, env={"PULSEWIRE_LEARN_CHURN_THRESHOLD": "0.4"})
    assert_user_error(res, "PULSEWIRE_LEARN_CHURN_THRESHOLD does not apply to the inactivity churn definition; "
                           "set PULSEWIRE_LEARN_CHURN_INACTIVITY_THRESHOLD instead")
    assert res.returncode == 2 and not (tmp_path / "run").exists()


def _help_pages() -> list[list[str]]:
    from typer.main import get_command

    from pulsewire.streams.cli import app

    pages, todo = [], [([], get_command(app))]
    while todo:
        path, cmd = todo.pop()
        pages.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            todo.append(([*path, name], sub))
    return pages


def test_flags_show_as_flags_in_help():
    from typer.testing import CliRunner

    from pulsewire.streams.cli import app

    runner = CliRunner()
    pages = _help_pages()
    assert ["demo"] in pages and ["summary"] in pages
    for path in pages:
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert res.exit_code == 0, (path, res.output)
        assert "<bool>" not in res.output, (path, res.output)
    demo = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--keep\s+--no-keep", demo)


def test_worker_help_names_the_required_key():
    from typer.testing import CliRunner

    from pulsewire.streams.cli import app

    res = CliRunner().invoke(app, ["worker", "--help"], env={"COLUMNS": "200"})
    assert "PULSEWIRE_PSEUDONYM_KEY" in res.output


MAKE_STORE = """
import sys
from pulsewire.streams.store import open_store
with open_store(sys.argv[1], retention={"raw_text_ttl_days": 30}) as s:
    s.client.command("DELETE FROM schema_migrations WHERE version = 20")
    s.client.command("SYSTEM STOP MERGES")
    for _ in range(10):  # parts that ClickHouse would merge as soon as the store is opened again
        s.client.command("INSERT INTO schema_migrations SELECT * FROM schema_migrations FINAL WHERE version = 1")
"""


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under a chDB store with its size and mtime, but the advisory lock (which records
    the PID of whoever holds the store, readers included) and chDB's transient ``status`` lock."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
            if p.is_file() and p.name not in (".pulsewire.lock", "status")}


def test_read_only_commands_leave_the_store_unchanged(tmp_path):
    """A store with a 30-day text TTL that lacks one migration and has unmerged parts: a migrating
    open would apply the migration and reset the TTL to 90 days, and any open would let ClickHouse
    merge the parts. ``summary`` and ``board`` must do none of it."""
    root = tmp_path / "demo" / "clickhouse"
    subprocess.run([sys.executable, "-c", MAKE_STORE, f"chdb://{root}"], check=True, timeout=120)
    before = _files(root)
    for command in (["summary", "--data-dir", "demo"], ["board", "--data-dir", "demo", "-o", "b.html"]):
        res = pulsewire(*command, cwd=tmp_path)
        assert_user_error(res, "lacks migrations 0020_learners")
        assert _files(root) == before
    check = ("import sys; from pulsewire.streams.store import open_store\n"
             "s = open_store(sys.argv[1], migrate=False)\n"
             "print(s.client.command('SHOW CREATE TABLE events_scored'))\n"
             "print(sorted(r[0] for r in s.client.query('SELECT version FROM schema_migrations FINAL').result_rows))")
    out = subprocess.run([sys.executable, "-c", check, f"chdb://{root}"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert "toIntervalDay(30)" in out and "20]" not in out


def test_read_only_summary_reads_a_current_store_without_changing_it(tmp_path):
    root = tmp_path / "demo" / "clickhouse"
    make = MAKE_STORE.replace('    s.client.command("DELETE FROM schema_migrations WHERE version = 20")\n', "")
    subprocess.run([sys.executable, "-c", make, f"chdb://{root}"], check=True, timeout=120)
    before = _files(root)
    res = pulsewire("summary", "--data-dir", "demo", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert '"stored_events": 0' in res.stdout
    assert _files(root) == before


def test_broker_on_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = pulsewire("broker", "--port", str(port), "--data-dir", "b", cwd=tmp_path)
    assert_user_error(res, f"port {port} on 127.0.0.1 is in use")
    assert not (tmp_path / "b").exists()


def test_grafana_sync_to_an_unreachable_grafana(tmp_path):
    res = pulsewire("grafana", "sync", "--url", f"http://127.0.0.1:{free_port()}", cwd=tmp_path,
                    env={"GRAFANA_TOKEN": "not-a-real-token"})
    assert_user_error(res, "cannot reach Grafana at http://127.0.0.1:")
    assert "not-a-real-token" not in res.stdout + res.stderr


def test_demo_on_a_file_as_data_dir_is_one_line_and_leaves_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    res = pulsewire("demo", "--events", "10", "--data-dir", "notes.txt", cwd=tmp_path)
    assert_user_error(res, "is a file, not a directory")
    assert res.returncode == 1 and (tmp_path / "notes.txt").read_text() == "mine"


def test_board_with_from_after_to_is_one_line(tmp_path):
    assert_user_error(pulsewire("board", "--from", "2026-10-20", "--to", "2026-10-01", cwd=tmp_path),
                      "--from 2026-10-20 is not before --to 2026-10-01")


def test_connector_config_with_an_unknown_key_is_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text('path = "x.csv"\nkind = "review"\nbogus_key = 1\n')
    res = pulsewire("connect", "files", "--config", "bad.toml", cwd=tmp_path)
    assert_user_error(res, "invalid config for 'files' in bad.toml", "bogus_key: Extra inputs are not permitted")


@pytest.mark.parametrize("args, needles", [
    (["score", "--bogus"], ["No such option: --bogus", "pulsewire score --help"]),
    (["demo", "--evnts", "3"], ["--evnts", "--events", "pulsewire demo --help"]),
    (["evaluate", "--seeed", "3"], ["--seeed", "--seed"]),
    (["worker", "--brokr", "x"], ["--brokr"]),
    (["model-card"], ["Missing argument", "pulsewire model-card --help"]),
    (["sentiment", "adapt", "--data-dri", "x"], ["--data-dir", "pulsewire sentiment adapt --help"]),
])
def test_a_mistyped_flag_is_one_line_for_every_command(tmp_path, args, needles):
    res = pulsewire(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert_user_error(res, *needles)
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


@pytest.mark.parametrize("start, needle", [("yesterday", "not an ISO 8601 time"),
                                           ("2026-05-01T00:00:00", "not time-zone aware")])
def test_demo_with_a_bad_start_touches_nothing(tmp_path, start, needle):
    res = pulsewire("demo", "--start", start, "--data-dir", "d", cwd=tmp_path)
    assert_user_error(res, f"--start {start!r}", needle)
    assert not (tmp_path / "d").exists()
