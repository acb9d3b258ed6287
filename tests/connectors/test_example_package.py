"""The example third-party package installs, registers by entry point, and passes the conformance kit."""

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pulsewire-connector-example"
pytestmark = pytest.mark.slow


def _py(*args, env=None, check=True):
    r = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=180)
    if check and r.returncode:
        raise AssertionError(f"{args} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def installed():
    try:
        metadata.distribution("pulsewire-connector-example")
    except metadata.PackageNotFoundError:
        _py("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(EXAMPLE))


def test_listed_and_conformant(installed):
    out = _py("-m", "pulsewire.streams.cli", "connectors", "list").stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("appstore"))
    assert "pulsewire-connector-example" in line and "App Store customer reviews" in line
    _py("-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(EXAMPLE), str(EXAMPLE / "tests"))


def test_duplicate_name_is_a_clear_error(installed, tmp_path):
    dist = tmp_path / "copycat-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: copycat\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pulsewire.connectors]\nappstore = copycat:Reviews\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = _py("-m", "pulsewire.streams.cli", "connectors", "list", env=env, check=False)
    assert r.returncode == 2
    assert "'appstore' is registered twice" in r.stderr and "copycat" in r.stderr
    assert "pulsewire-connector-example" in r.stderr
