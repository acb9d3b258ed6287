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


def _board(data_dir, tmp_path_factory, **env):
    out = tmp_path_factory.mktemp("board") / "board.html"
    proc = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "board", "--data-dir", str(data_dir),
                           "--output", str(out)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stderr


@pytest.fixture(scope="module")
def board_html(sample_dir, sample_results, tmp_path_factory):
    out, stderr = _board(sample_dir, tmp_path_factory)
    assert "panels without data" not in stderr, stderr
    return out


def _panels(html: str) -> dict[str, str]:
    """Panel title -> the panel's HTML."""
    parts = re.split(r'<div class="panel" data-title="[^"/]+ / ', html)[1:]
    return {part[:part.index('"')]: part for part in parts}


def test_board_is_self_contained_and_has_every_panel(board_html, sample_results):
    html = board_html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must not load anything from a network"
    titles = re.findall(r'class="panel" data-title="([^"]+)"', html)
    assert len(titles) == len(sample_results["panels"]) == 42
    assert html.count("<svg") == 18  # every chart panel is an SVG chart, not a table
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
    assert check["panels"] == 42 and check["drawn"] == 42, check
    assert check["cut"] == [], "tables run past their panel (text cut without an ellipsis)"
    assert 'data-drawcheck="ok"' in dom.stdout
    shot = tmp_path / "board.png"
    subprocess.run([*base, f"--screenshot={shot}", board_html.as_uri()], capture_output=True, timeout=120,
                   env=browser_env())
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_a_series_has_one_colour_across_panels(board_html):
    colours: dict[str, set[tuple[str, str]]] = {}
    for title, body in _panels(board_html.read_text()).items():
        for fill, name in re.findall(r'class="mark"[^>]*?(?:stroke|fill)="(#[0-9A-Fa-f]{6})"[^>]*><title>([^<:]+)', body):
            colours.setdefault(name.strip(), set()).add((fill.upper(), title))
    assert {"chat", "email", "validate", "sink", "malformed_json"} <= set(colours)
    for name, seen in colours.items():
        assert len({c for c, _ in seen}) == 1, (name, sorted(seen))


def test_labels_cut_with_an_ellipsis(board_html):
    from pulsewire.dashboards import render
    from pulsewire.dashboards.build import workforce_pulse
    from pulsewire.dashboards.runner import Frame

    panel = next(p for p in workforce_pulse().dashboard["panels"] if p["title"] == "Burnout alerts by team")
    long_name = "team-customer-success-and-onboarding-emea"
    svg = render.barchart(panel, Frame(["team", "alerts"], ["String", "UInt64"], [(long_name, 3), ("team-a", 1)]))
    shown = re.findall(r'class="ax lbl"[^>]*>([^<]*)', svg)
    assert shown[0].endswith("…") and long_name.startswith(shown[0][:-1]) and len(shown[0]) < len(long_name), shown
    assert shown[1] == "team-a"
    # on the board: every cut label ends in an ellipsis and keeps the full text as its tooltip
    labels = re.findall(r'class="ax lbl"[^>]*>([^<]*)<title>([^<]*)</title>', board_html.read_text())
    assert labels
    for cut, full in labels:
        assert cut == full or (cut.endswith("…") and full.startswith(cut[:-1]))


def test_the_truth_board(truth_dir, truth_results, tmp_path_factory):
    out, _ = _board(truth_dir, tmp_path_factory)
    panels = _panels(out.read_text())
    truth, weeks = truth_results["info"]["truth"], truth_results["info"]["weeks"]
    # 0.57 is above the churn alert threshold: red, like an alert
    risks = panels["Top churn risks"]
    assert re.search(r'<td style="background:#E02F44;color:#111">0\.570</td>', risks), risks
    alerts = panels["Recent churn alerts"]
    assert "<th>event time</th><th>sent at</th>" in alerts
    rate = truth["dead_letters"] / (truth["stored_events"] + truth["dead_letters"])
    assert f">{100 * rate:.2f}%<" in panels["Dead-letter rate"]
    assert f'>{truth["latest_lag"]}<' in panels["Consumer lag (latest)"]
    team_rows = dict(re.findall(r'<tr class="mark[^"]*"><td>(team-\w+)</td>(.*?)</tr>', panels["Team heat map"]))
    # the third cell after the team is eNPS: 2 people at alpha (suppressed, hatched), none at beta (no data)
    assert re.findall(r"<td[^>]*>[^<]*</td>", team_rows["team-alpha"])[3] == \
        '<td class="null" title="suppressed">suppressed</td>'
    assert re.findall(r"<td[^>]*>[^<]*</td>", team_rows["team-beta"])[3] == '<td class="empty" title="no data">—</td>'
    heat = panels["Team pulse by week (heat map)"]

    def cell(team, week):
        when = week[:10] + " " + week[11:16]
        return re.search(rf'<rect class="([^"]+)"[^>]*><title>{team} {when}: ([^<]+)</title>', heat).groups()

    assert cell("team-alpha", weeks[0])[0] == "mark"
    assert cell("team-alpha", weeks[1]) == ("mark empty", "no survey")
    assert cell(r"suppressed \(&lt;5\)", weeks[2]) == ("mark suppressed", "suppressed (&lt;5 respondents)")
    assert cell("team-beta", weeks[2]) == ("mark suppressed", "suppressed (&lt;5 respondents)")
    assert cell("team-alpha", weeks[4]) == cell("team-beta", weeks[4]) == ("mark empty", "no survey")


def test_an_empty_store_reads_no_data_on_every_panel(empty_dir, empty_results, tmp_path_factory):
    out, stderr = _board(empty_dir, tmp_path_factory)
    panels = _panels(out.read_text())
    assert len(panels) == 42
    for title, body in panels.items():
        assert 'class="error"' not in body and "no time column" not in body and "no numeric" not in body, (title, body)
        assert "No data" in body and 'class="mark' not in body.replace('class="mark stat-value novalue"', ""), \
            (title, body)


def test_risk_colours_follow_the_learners_environment(truth_dir, truth_results, tmp_path_factory):
    # with the alert threshold raised to 0.58, the 0.57 risk is below it: orange (from the re-arm level 0.2)
    out, _ = _board(truth_dir, tmp_path_factory, PULSEWIRE_LEARN_CHURN_THRESHOLD="0.58",
                    PULSEWIRE_LEARN_CHURN_REARM_BELOW="0.2")
    risks = _panels(out.read_text())["Top churn risks"]
    assert '<td style="background:#FF9830;color:#111">0.570</td>' in risks, risks
