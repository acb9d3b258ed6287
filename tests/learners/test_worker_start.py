"""The worker refuses to start without the pseudonymisation key, with a clear message."""

import os
import subprocess
import sys

import pytest

from pulsewire.streams.app import create_app
from pulsewire.streams.settings import Settings


def test_create_app_refuses_without_key(tmp_path, monkeypatch):
    monkeypatch.delenv("PULSEWIRE_PSEUDONYM_KEY", raising=False)
    with pytest.raises(SystemExit, match="PULSEWIRE_PSEUDONYM_KEY is not set"):
        create_app(Settings(data_dir=tmp_path))


def test_worker_process_refuses_without_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PULSEWIRE_PSEUDONYM_KEY"}
    env.update(PULSEWIRE_DATA_DIR=str(tmp_path), PULSEWIRE_BROKER_URL="kafka://127.0.0.1:9")
    r = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "worker"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "PULSEWIRE_PSEUDONYM_KEY is not set" in (r.stderr + r.stdout)
