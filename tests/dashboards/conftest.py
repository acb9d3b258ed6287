"""Fixtures for the board tests. The stores are filled and queried in subprocesses: chDB runs
one store per process, and other test modules may hold theirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _run_worker(mode: str, data_dir: Path) -> dict:
    out = data_dir / f"{mode}-results.json"
    proc = subprocess.run([sys.executable, str(HERE / "_store_worker.py"), mode, str(data_dir), str(out)],
                          capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode != 0:
        raise AssertionError(f"store worker ({mode}) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("board-sample")


@pytest.fixture(scope="session")
def sample_results(sample_dir) -> dict:
    """The synthetic sample (dashboards/sample.py): every table filled, a team of 4."""
    return _run_worker("sample", sample_dir)


@pytest.fixture(scope="session")
def generator_results(tmp_path_factory) -> dict:
    """Events from the project's generator (SmbSimulation) with a fake sentiment."""
    return _run_worker("generator", tmp_path_factory.mktemp("board-generator"))


@pytest.fixture(scope="session")
def truth_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("board-truth")


@pytest.fixture(scope="session")
def truth_results(truth_dir) -> dict:
    """A small store built by hand: every answer is known (_store_worker.TRUTH)."""
    return _run_worker("truth", truth_dir)


@pytest.fixture(scope="session")
def empty_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("board-empty")


@pytest.fixture(scope="session")
def empty_results(empty_dir) -> dict:
    """A migrated store without a row."""
    return _run_worker("empty", empty_dir)
