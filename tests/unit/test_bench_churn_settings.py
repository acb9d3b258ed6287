"""``bench/churn_settings.py``: a candidate learner setting against the deployed ones, paired per seed."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "churn_settings.py"


def bench(*args):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=600)


def test_a_candidate_is_compared_seed_by_seed_on_the_same_events():
    res = bench("--set", "CHURN_ACTIVITY_HOLD_DAYS=0", "--seeds", "3,5", "--events", "4000", "--sentiment", "labels")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.count("  deployed ") == 2 and out.count("  candidate ") == 2
    assert "candidate CHURN_ACTIVITY_HOLD_DAYS=0: F1 " in out and "of 2 seeds" in out
    # the same events and sentiment: the model's ranking (AUC) cannot differ, only the alert rule's decisions
    for seed_block in out.split("seed ")[1:]:
        aucs = [ln.split("AUC ")[1].split()[0] for ln in seed_block.splitlines() if "AUC " in ln]
        assert len(aucs) == 2 and aucs[0] == aucs[1]


def test_a_mistyped_setting_is_one_line_naming_the_settings():
    res = bench("--set", "CHURN_ACTIVITY_HOLD_DAYZ=3")
    assert res.returncode == 2 and "CHURN_ACTIVITY_HOLD_DAYS" in res.stderr and "Traceback" not in res.stderr
    res = bench("--set", "CHURN_ACTIVITY_HOLD_DAYS=soon", "--seeds", "3")
    assert res.returncode == 2 and "PULSEWIRE_LEARN_CHURN_ACTIVITY_HOLD_DAYS" in res.stderr
    assert "Traceback" not in res.stderr
