"""``bench/churn_more_data.py``: the churn learner on its own stream against the same learner given more history."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "churn_more_data.py"


def bench(*args):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=600)


def test_each_seed_is_held_out_against_the_others():
    res = bench("--seeds", "11,13", "--events", "8000", "--sentiment", "labels")
    assert res.returncode == 0, res.stderr
    rows = {ln.split()[0]: ln.split() for ln in res.stdout.splitlines() if ln.split() and ln.split()[0] in ("11", "13")}
    assert set(rows) == {"11", "13"}
    for seed, cells in rows.items():
        online, pooled, river_lr = (float(c) for c in cells[1:4])
        assert all(0.5 < a <= 1.0 for a in (online, pooled, river_lr)), cells
        assert pooled != online  # another history: the same learner ranks the held-out examples differently
    assert "mean " in res.stdout and "CPU" in res.stdout  # the figures come with the machine they were measured on


def test_one_seed_cannot_be_held_out_against_nothing():
    res = bench("--seeds", "11")
    assert res.returncode == 2 and "at least two seeds" in res.stderr and "Traceback" not in res.stderr
    res = bench("--seeds", "eleven")
    assert res.returncode == 2 and "comma-separated integers" in res.stderr and "Traceback" not in res.stderr
