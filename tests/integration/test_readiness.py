"""A real worker's readiness probe, and docker-compose's health check run against it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from pulsewire.infra.broker.embedded import free_port
from pulsewire.streams.demo import start_worker

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _get(url: str) -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, body.decode(errors="replace")


def _compose_healthcheck(port: int) -> list[str]:
    """The worker's health check exactly as docker-compose.yml runs it (CMD form, no shell), on our port."""
    worker = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["worker"]
    compose_port = str(worker["environment"]["PULSEWIRE_WORKER_WEB_PORT"])
    kind, *argv = worker["healthcheck"]["test"]
    assert kind == "CMD" and argv[0] == "python"
    assert any(f":{compose_port}/" in a for a in argv), "the health check must probe the port the worker listens on"
    return [sys.executable, *(a.replace(f":{compose_port}/", f":{port}/") for a in argv[1:])]


def _healthy(port: int) -> int:
    return subprocess.run(_compose_healthcheck(port), capture_output=True, timeout=30).returncode


def test_worker_says_ready_once_partitions_are_assigned_and_compose_probe_agrees(pipeline):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert _healthy(port) != 0  # nothing listens yet: unhealthy
    pipeline.worker = start_worker(pipeline.bootstrap, pipeline.data_dir, pipeline.key,
                                   {**pipeline.env(), "PULSEWIRE_WORKER_WEB_PORT": str(port)})
    deadline, status, body = time.monotonic() + 180, None, None
    while time.monotonic() < deadline:
        assert pipeline.worker.poll() is None, pipeline.log_tail()
        try:
            status, body = _get(url + "/ready")
        except OSError:  # not listening yet
            status, body = None, None
        if status == 200:
            break
        if status is not None:
            assert status == 503 and body["ready"] is False and body["reason"], body
        time.sleep(0.5)
    assert status == 200, f"never ready: {status} {body}\n{pipeline.log_tail()}"
    assert body["ready"] is True and body["partitions"] > 0
    assert _healthy(port) == 0

    # Faust's pages that would show table contents (per-entity features) or internals are off
    for path in ("/table/", "/router/", "/graph/", "/stats/"):
        assert _get(url + path)[0] == 404, path

    # and the worker does its job once ready
    from .conftest import generated

    pipeline.produce(generated(50))
    pipeline.wait_processed(50)
    pipeline.stop()
    assert _healthy(port) != 0
