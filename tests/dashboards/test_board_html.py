"""``pulsewire board`` on a filled data directory, checked in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = "apt-get update && apt-get install -y --no-install-recommends chromium"


@pytest.fixture(scope="module")
def board_html(sample_dir, sample_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("board") / "board.html"
    proc = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "board", "--data-dir", str(sample_dir),
                           "--output", str(out)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "panels without data" not in proc.stderr, proc.stderr
    return out


def test_board_is_self_contained_and_has_every_panel(board_html, sample_results):
    html = board_html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must not load anything from a network"
    titles = re.findall(r'class="panel" data-title="([^"]+)"', html)
    assert len(titles) == len(sample_results["panels"]) == 29
    assert html.count("<svg") == 14  # every chart panel is an SVG chart, not a table
    assert "team-legal" not in html and "suppressed (&lt;5)" in html
    assert 'class="error"' not in html and 'class="nodata"' not in html


def browser_env() -> dict:
    """The browser is a viewer, not code under test: it runs on the real calendar (its screenshot
    never finishes under libfaketime)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME") and k != "LD_PRELOAD"}


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason=f"Chromium is not installed (Debian: {INSTALL}); it is required when CI=true")
def test_every_panel_draws_in_chromium(board_html, tmp_path):
    assert CHROMIUM, f"CI=true but Chromium is missing: {INSTALL}"
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1500,1000"]
    dom = subprocess.run([*base, "--virtual-time-budget=5000", "--dump-dom", board_html.as_uri()],
                         capture_output=True, text=True, timeout=120, env=browser_env())
    m = re.search(r'<pre id="drawcheck">([^<]*)</pre>', dom.stdout)
    assert m and m.group(1), f"the page's draw check did not run:\n{dom.stderr[-2000:]}"
    check = json.loads(m.group(1))
    assert check["panels"] == 29 and check["drawn"] == 29, check
    assert 'data-drawcheck="ok"' in dom.stdout
    shot = tmp_path / "board.png"
    subprocess.run([*base, f"--screenshot={shot}", board_html.as_uri()], capture_output=True, timeout=120,
                   env=browser_env())
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
