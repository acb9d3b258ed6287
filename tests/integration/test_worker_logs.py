"""`pulsewire worker` keeps the Kafka clients' own log lines off a user's terminal unless -v.

Faust replaces the root logger's handlers when the worker starts, so a filter set up by the CLI
before that was lost: kafka-python's "Attempting bootstrap ..." lines flooded the output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration

KAFKA_CLIENT_LINES = ("Attempting bootstrap", "KafkaConnection", "Broker version identified")


def test_worker_output_has_no_kafka_client_lines_without_verbose(broker, namespace, pseudonym_key, tmp_path):
    env = {**os.environ, "PULSEWIRE_BROKER_URL": f"kafka://{broker}", "PULSEWIRE_TOPIC_PREFIX": namespace,
           "PULSEWIRE_PSEUDONYM_KEY": pseudonym_key, "PULSEWIRE_DATA_DIR": str(tmp_path / "data"),
           "PULSEWIRE_SESSION_TIMEOUT_S": "6"}
    proc = subprocess.Popen([sys.executable, "-m", "pulsewire.streams.cli", "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ready" in line or "partitions assigned" in line.lower():
                time.sleep(15)  # the lag recorder opens kafka-python clients every lag_interval_s (10 s)
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    output = "".join(lines) + rest
    assert "worker starting" in output, output[-3000:]
    # whoever runs the worker is told, at every start, what the model's licence allows
    assert "NOT cleared for commercial use" in output, output[-3000:]
    noisy = [line for line in output.splitlines() if any(k in line for k in KAFKA_CLIENT_LINES)]
    assert noisy == [], noisy[:5]
