"""``infra/kafka/kafka.sh``: the cluster id it formats a fresh broker with."""

import re
import subprocess
import sys
from pathlib import Path

KAFKA_SH = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "kafka.sh"


def test_a_cluster_id_never_starts_with_a_dash():
    # kafka-storage reads "-t -x..." as -t without its value, and the broker never starts: 1 fresh start in 64
    # failed so before. 400 draws of the old id would all pass with odds of about 2 in 10,000.
    func = re.search(r"^random_cluster_id\(\) \{\n.*?^\}", KAFKA_SH.read_text(), re.S | re.M).group(0)
    script = f'{func}\nfor i in $(seq 400); do random_cluster_id; done'
    out = subprocess.run(["bash", "-c", script], env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True, timeout=120).stdout.split()
    assert len(out) == 400 and len(set(out)) == 400
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", u) for u in out), [u for u in out if u.startswith("-")]
