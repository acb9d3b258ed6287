"""``pulsewire score [FILE]``: score text lines or JSON lines offline, one JSON line out per input.

Input, from FILE or stdin (``-``), one record per line:

* ``--format auto`` (default): a line starting with ``{`` is a JSON object
  with a ``text`` field, any other line is plain text;
* ``--format text``: every line is plain text;
* ``--format jsonl``: every line must be a JSON object with a string ``text``.

Output, on stdout: one JSON object per input line with ``label``,
``probabilities``, ``score``, ``model_version``, ``truncated``,
``min_window_score``, ``windows`` and every other field of the input object
passed through (the result fields win on a name clash; ``text`` itself is
echoed only with ``--echo-text``). A text longer than ``--max-tokens`` tokens
is scored as ``windows`` windows of whole sentences pooled by token count;
``min_window_score`` is its most negative window's score; ``truncated`` is
true only when text was left unread (more than ``--max-windows`` windows). A line that is not
valid JSON (or has no string ``text``) gives ``{"error": ..., "line": N}`` (N
counts from 1) and scoring goes on. Blank lines are skipped.

Exit status: 0 when every line was scored, 1 when some lines gave an error
(every other line is still scored and written), 2 for a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any, Iterator, Optional

import typer


def _records(stream: IO[str], fmt: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line_no, record, error) per non-blank line; record has a ``text`` key."""
    for n, raw in enumerate(stream, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        as_json = fmt == "jsonl" or (fmt == "auto" and line.lstrip().startswith("{"))
        if not as_json:
            yield n, {"text": line}, None
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield n, None, f"invalid JSON: {exc}"
            continue
        if not isinstance(obj, dict):
            yield n, None, "JSON line is not an object"
        elif not isinstance(obj.get("text"), str):
            yield n, None, "JSON object has no string 'text' field"
        else:
            yield n, obj, None


def score_stream(scorer, stream: IO[str], out: IO[str], *, batch_size: int = 32, fmt: str = "auto",
                 echo_text: bool = False) -> dict[str, int]:
    """Score every record of ``stream`` into ``out``; returns counts (scored, errors)."""
    counts = {"scored": 0, "errors": 0}
    pending: list[tuple[int, dict[str, Any] | None, str | None]] = []

    def flush() -> None:
        texts = [rec["text"] for _, rec, err in pending if err is None]
        results = iter(scorer.score(texts, batch_size=batch_size)) if texts else iter(())
        for n, rec, err in pending:
            if err is not None:
                out.write(json.dumps({"error": err, "line": n}, ensure_ascii=False) + "\n")
                counts["errors"] += 1
                continue
            res = next(results).to_dict()
            row = {k: v for k, v in rec.items() if k != "text" or echo_text}
            row.update(res)
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            counts["scored"] += 1
        out.flush()
        pending.clear()

    for item in _records(stream, fmt):
        pending.append(item)
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    return counts


def _packaged_licence() -> str:
    """The packaged model's licence line for --help; a broken install must not break --help."""
    try:
        from pulsewire.models.sentiment.licence import licence_line
        from pulsewire.models.sentiment.scorer import DEFAULT_MODEL_DIR

        return licence_line(json.loads((DEFAULT_MODEL_DIR / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        return f"the packaged sentiment model's manifest cannot be read ({exc})"


def register(app: typer.Typer) -> None:
    from pulsewire.models.sentiment.scorer import DEFAULT_MAX_WINDOWS

    @app.command("score", epilog=f"Default model: {_packaged_licence()}.")
    def score(
        file: Optional[Path] = typer.Argument(None, help="input file (text or JSON lines); stdin if omitted or '-'"),
        batch_size: int = typer.Option(32, "--batch-size", min=1, help="texts per inference batch"),
        threads: int = typer.Option(2, "--threads", min=1, help="onnxruntime intra-op threads"),
        model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="model artifacts (default: packaged)"),
        max_tokens: int = typer.Option(128, "--max-tokens", min=3, help="tokens per window (a longer text is "
                                       "read as several windows of whole sentences)"),
        max_windows: int = typer.Option(DEFAULT_MAX_WINDOWS, "--max-windows", min=1,
                                        help="windows read per text; text past them is dropped (truncated=true)"),
        fmt: str = typer.Option("auto", "--format", help="auto | text | jsonl"),
        echo_text: bool = typer.Option(False, "--echo-text", help="include the input text in the output"),
    ) -> None:
        """Score sentiment of text lines or JSON lines; one JSON line out per input.

        Exits 1 when some lines could not be scored (they are written as {"error", "line"} objects and
        the others are still scored), 2 on a usage error."""
        from pulsewire.models.sentiment import load_scorer
        from pulsewire.models.sentiment.licence import licence_line

        from .errors import EXIT_FAILED, fail

        if fmt not in ("auto", "text", "jsonl"):
            fail(f"--format {fmt!r}: use auto, text or jsonl")
        from_stdin = file is None or str(file) == "-"
        try:
            stream = sys.stdin if from_stdin else open(file, encoding="utf-8", errors="replace")
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}")
        try:
            scorer = load_scorer(model_dir=model_dir, threads=threads, max_tokens=max_tokens, max_windows=max_windows,
                                 batch_size=batch_size)
        except FileNotFoundError as exc:
            fail(exc)
        # stdin/stdout as UTF-8 whatever the locale; undecodable bytes become U+FFFD
        for std in (sys.stdin, sys.stdout):
            try:
                std.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):
                pass
        try:
            counts = score_stream(scorer, stream, sys.stdout, batch_size=batch_size, fmt=fmt, echo_text=echo_text)
        finally:
            if not from_stdin:
                stream.close()
        typer.echo(f"scored {counts['scored']}, errors {counts['errors']} ({scorer.version})", err=True)
        typer.echo(licence_line(scorer.manifest), err=True)
        if counts["errors"]:
            typer.echo(f"error: {counts['errors']} lines could not be scored (see the lines with an \"error\" "
                       "field)", err=True)
            raise typer.Exit(EXIT_FAILED)
