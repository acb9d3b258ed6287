"""``pulsewire score``: text / JSON lines in, one JSON line out per input, bad lines reported."""

from __future__ import annotations

import io
import json

import typer
from typer.testing import CliRunner

from pulsewire.models.sentiment import load_scorer
from pulsewire.streams.cli import score as score_cli

INPUT = "\n".join([
    "I love this place!",
    json.dumps({"text": "Awful support, never again.", "id": 7, "tenant": "acme"}),
    "{not json",
    "",
    json.dumps({"id": 3}),
    json.dumps([1, 2]),
    json.dumps({"text": "", "id": 9}),
    "plain text \u00e9",
]) + "\n"


def _app() -> typer.Typer:
    app = typer.Typer()
    score_cli.register(app)

    @app.command("noop")  # a second command so typer keeps "score" as a subcommand
    def noop() -> None:
        pass

    return app


def test_score_stream_contract():
    out = io.StringIO()
    counts = score_cli.score_stream(load_scorer(), io.StringIO(INPUT), out, batch_size=2)
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert counts == {"scored": 5, "errors": 2}
    assert len(rows) == 7  # blank line skipped
    assert rows[0]["label"] == "positive" and "text" not in rows[0]
    assert rows[1]["label"] == "negative" and rows[1]["id"] == 7 and rows[1]["tenant"] == "acme"
    assert set(rows[1]) >= {"label", "probabilities", "score", "model_version", "truncated"}
    assert rows[2]["line"] == 3 and "invalid JSON" in rows[2]["error"]
    assert rows[3] == {"error": "JSON object has no string 'text' field", "line": 5}
    assert "label" in rows[4]  # auto format: only lines starting with "{" are JSON
    assert rows[5]["id"] == 9 and rows[5]["label"] == "neutral"
    assert rows[6]["label"] in ("negative", "neutral", "positive")


def test_formats_and_echo():
    out = io.StringIO()
    score_cli.score_stream(load_scorer(), io.StringIO('{"text": "x"}\n'), out, fmt="text", echo_text=True)
    row = json.loads(out.getvalue())
    assert row["text"] == '{"text": "x"}'
    out = io.StringIO()
    score_cli.score_stream(load_scorer(), io.StringIO("hello\n[1, 2]\n"), out, fmt="jsonl")
    assert [json.loads(x)["line"] for x in out.getvalue().splitlines()] == [1, 2]


def test_cli_file_and_stdin(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text(INPUT, encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(_app(), ["score", str(f), "--batch-size", "3", "--threads", "1"])
    assert r.exit_code == 1, r.output  # two lines of INPUT cannot be scored; the rest are
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 7
    r2 = runner.invoke(_app(), ["score"], input="Great job!\n")
    assert r2.exit_code == 0, r2.output


def test_the_model_licence_is_impossible_to_miss(tmp_path):
    """--help names the packaged model's licence; every run says it on stderr, for the model that ran."""
    import shutil

    from pulsewire.models.sentiment.scorer import DEFAULT_MODEL_DIR

    runner = CliRunner()
    help_text = " ".join(runner.invoke(_app(), ["score", "--help"], terminal_width=200).stdout.split())
    assert "NOT cleared for commercial use" in help_text
    r = runner.invoke(_app(), ["score"], input="The meeting is at 3pm.\n")
    assert r.exit_code == 0 and "NOT cleared for commercial use" in r.stderr
    cleared = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, cleared)
    manifest = json.loads((cleared / "manifest.json").read_text(encoding="utf-8"))
    manifest["licence"] = {"commercial_use": True, "summary": "our own data"}
    (cleared / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    r = runner.invoke(_app(), ["score", "--model-dir", str(cleared)], input="ok\n")
    assert r.exit_code == 0 and "cleared for commercial use (our own data)" in r.stderr
    assert "NOT cleared" not in r.stderr
