"""``python bench/bench_sentiment.py`` (a README command) runs in the default dev install, which has
no ``onnx`` (a training-only package): the part that needs it is skipped with one line."""

from __future__ import annotations

import importlib.util
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
