"""``pulsewire board``: the Grafana boards rendered from the embedded store into one HTML page.

Each panel's SQL runs with the plugin's macros expanded for the board's time range
(by default the dashboard's own relative range, ending at the newest data it shows),
and is drawn server-side as SVG: the page is self-contained (no network at view time).
A small script at the end of the page checks in the browser that every panel drew
and writes the result into ``#drawcheck`` (the Chromium test reads it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

from pulsewire.models.learners.processor import LearnerConfig

from .build import Board, boards
from .macros import TimeRange
from .render import COL_PX, ROW_PX, panel_body
from .runner import PanelResult, anchor_time, dashboard_range, panel_range, run_panel


@dataclass
class RenderedBoard:
    board: Board
    tr: TimeRange
    results: list[PanelResult]


def run_boards(store, selected: list[Board] | None = None, start: datetime | None = None,
               end: datetime | None = None) -> list[RenderedBoard]:
    out = []
    for b in selected or boards():
        now = end or anchor_time(store, b.anchor_sql) or datetime.now(timezone.utc)
        tr = dashboard_range(b.dashboard, now)
        if start:
            tr = TimeRange(start, now)
        results = [run_panel(store, p, tr) for p in b.dashboard["panels"]]
        out.append(RenderedBoard(b, tr, results))
    return out


_CSS = """
:root{color-scheme:dark}
body{margin:0;background:#111217;color:#ccccdc;font:13px/1.35 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
header{padding:14px 20px;border-bottom:1px solid #26282f;display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0;color:#fff}
header nav a{color:#6e9fff;margin-right:14px;text-decoration:none}
.meta{color:#8e8e9e}
section.dash{padding:10px 20px 24px}
section.dash h2{font-size:16px;color:#fff;margin:8px 0 2px}
section.dash p.desc{margin:0 0 8px;color:#8e8e9e}
.grid{display:grid;grid-template-columns:repeat(24,minmax(0,1fr));grid-auto-rows:%dpx;gap:6px;max-width:%dpx}
.panel{background:#181b1f;border:1px solid #26282f;border-radius:3px;padding:6px 8px;overflow:hidden;display:flex;flex-direction:column;min-width:0}
.panel h3{font-size:13px;font-weight:500;margin:0 0 4px;color:#d8d9da;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.panel .body{flex:1;min-height:0;display:flex;flex-direction:column}
svg.chart{width:100%%;flex:1;min-height:0}
svg .grid{stroke:#2c3039;stroke-width:1}
svg text.ax{fill:#9fa7b3;font-size:10px}
svg text.lbl{fill:#ccccdc;font-size:11px}
svg text.val{fill:#ccccdc}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:11px;color:#ccccdc;padding-top:2px}
.lg i{display:inline-block;width:12px;height:4px;margin-right:4px;vertical-align:middle;border-radius:1px}
.lg.scale i{width:16px;height:8px;margin:0}
.lg i.hatch{height:10px;width:14px;background:repeating-linear-gradient(45deg,#2b2d33 0 3px,#8e8e8e 3px 5px)}
.lg i.empty{height:10px;width:14px;background:none;border:1px solid #3a3d45;box-sizing:border-box}
svg rect.empty{stroke:#2c3039;stroke-width:1}
.stats{display:flex;gap:14px;justify-content:space-around;align-items:center;flex:1}
.stat{display:flex;flex-direction:column;align-items:center}
.stat-value{font-size:28px;font-weight:500;white-space:nowrap}
.stat-value.novalue{font-size:15px}
.stat-name{font-size:11px;color:#8e8e9e}
.tablewrap{overflow:auto;flex:1}
table{border-collapse:collapse;width:100%%;font-size:11.5px}
th{position:sticky;top:0;background:#22252b;text-align:left;padding:3px 6px;color:#6e9fff;font-weight:500;white-space:nowrap}
td{padding:3px 6px;border-bottom:1px solid #26282f;white-space:nowrap;max-width:360px;overflow:hidden;text-overflow:ellipsis}
td.flex,th.flex{width:100%%;max-width:0}
td.empty{color:#6a6f7a}
td.null{color:#8e8e8e;background:repeating-linear-gradient(45deg,#1d1f24 0 4px,#26282f 4px 8px)}
tr.suppressed td{color:#b0b0b0;font-style:italic}
.nodata,.error{flex:1;display:flex;align-items:center;justify-content:center;color:#8e8e9e}
.error{color:#ff7383;font-family:monospace;font-size:11px;white-space:pre-wrap}
.qt{color:#6a6f7a;font-size:10px;margin-left:6px;font-weight:400}
#drawcheck{display:none}
"""

_CHECK = """
(function(){
  var panels=document.querySelectorAll('.panel'), failed=[], drawn=0;
  panels.forEach(function(p){
    var marks=p.querySelectorAll('.mark'), ok=0;
    // a flat line has a box of height 0 and is drawn all the same
    marks.forEach(function(m){var r=m.getBoundingClientRect(); if(r.width>0||r.height>0) ok++;});
    var bad=p.querySelector('.nodata,.error');
    if(ok>0&&!bad){drawn++;p.setAttribute('data-drawn',ok);} else {failed.push(p.getAttribute('data-title'));}
  });
  // a table wider than its panel is cut at the panel's edge, without an ellipsis
  var cut=[];
  document.querySelectorAll('.tablewrap').forEach(function(w){
    if(w.scrollWidth>w.clientWidth+1) cut.push(w.closest('.panel').getAttribute('data-title'));
  });
  var out={panels:panels.length,drawn:drawn,failed:failed,cut:cut};
  document.getElementById('drawcheck').textContent=JSON.stringify(out);
  document.body.setAttribute('data-drawcheck', failed.length===0&&panels.length>0 ? 'ok' : 'failed');
})();
"""


def render_html(rendered: list[RenderedBoard], source: str = "") -> str:
    width = 24 * COL_PX + 23 * 6
    css = _CSS % (ROW_PX, width)
    nav = " ".join(f'<a href="#{escape(r.board.uid)}">{escape(r.board.dashboard["title"])}</a>' for r in rendered)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pulsewire boards</title>'
             f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{css}</style></head><body>'
             f'<header><h1>pulsewire boards</h1><nav>{nav}</nav><span class="meta">from {escape(source)} · '
             f'rendered {generated} · same panels and SQL as the Grafana dashboards</span></header>']
    for r in rendered:
        d = r.board.dashboard
        parts.append(f'<section class="dash" id="{escape(r.board.uid)}"><h2>{escape(d["title"])}</h2>'
                     f'<p class="desc">{escape(d.get("description", ""))} · '
                     f'{r.tr.start:%Y-%m-%d %H:%M} → {r.tr.end:%Y-%m-%d %H:%M} UTC</p><div class="grid">')
        for res in r.results:
            p = res.panel
            g = p["gridPos"]
            ms = sum(f.elapsed_ms for f in res.frames)
            body = panel_body(res, panel_range(p, r.tr))
            parts.append(f'<div class="panel" data-title="{escape(d["title"])} / {escape(p["title"])}" '
                         f'style="grid-column:{g["x"] + 1} / span {g["w"]};grid-row:{g["y"] + 1} / span {g["h"]}" '
                         f'title="{escape(p.get("description", ""))}"><h3>{escape(p["title"])}'
                         f'<span class="qt">{ms:.0f} ms</span></h3><div class="body">{body}</div></div>')
        parts.append("</div></section>")
    parts.append(f'<pre id="drawcheck"></pre><script>{_CHECK}</script></body></html>')
    return "".join(parts)


def summary(rendered: list[RenderedBoard]) -> dict:
    out = {}
    for r in rendered:
        out[r.board.uid] = {
            "range": [r.tr.start.isoformat(), r.tr.end.isoformat()],
            "panels": {p.panel["title"]: {"rows": sum(len(f.rows) for f in p.frames), "error": p.error,
                                          "ms": round(sum(f.elapsed_ms for f in p.frames), 1)} for p in r.results},
        }
    return out


def thresholds_in_force(store, min_group: int, min_comment_group: int) -> tuple[int, int]:
    """The group thresholds the store's views apply (``privacy_thresholds``), or the given ones where these
    are higher: the board's texts must name what the numbers were suppressed with, and the worker that wrote
    the thresholds may run with other settings than this process."""
    row = store.query_dicts("SELECT min_group, min_comment_group FROM privacy_thresholds")[0]
    return max(int(min_group), int(row["min_group"])), max(int(min_comment_group), int(row["min_comment_group"]))


def write_board(store, output, source: str = "", start: datetime | None = None, end: datetime | None = None,
                min_group: int = 5, min_comment_group: int = 10, learner: LearnerConfig | None = None) -> dict:
    """Render the boards from ``store`` into ``output``; risk colours follow ``learner`` (default: the
    running learners' configuration, ``PULSEWIRE_LEARN_*``)."""
    learner = learner or LearnerConfig.from_env()
    min_group, min_comment_group = thresholds_in_force(store, min_group, min_comment_group)
    rendered = run_boards(store, boards(min_group, min_comment_group, learner), start, end)
    html = render_html(rendered, source)
    from pathlib import Path

    Path(output).write_text(html, encoding="utf-8")
    return summary(rendered)


if __name__ == "__main__":  # pragma: no cover
    import sys

    from pulsewire.streams.store import open_store

    with open_store(sys.argv[1]) as st:
        print(json.dumps(write_board(st, sys.argv[2], sys.argv[1]), indent=1))
