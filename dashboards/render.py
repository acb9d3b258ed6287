"""Server-side SVG/HTML for panels: line and bar charts over time, bar charts by category,
a status-history heat map, stats and tables. No JavaScript is needed to see a chart.

Every drawn data element carries ``class="mark"`` so that a browser check can count what drew.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timezone
from html import escape

from .build import PALETTE, SERIES_COLORS
from .runner import Frame, PanelResult, TimeRange

NAMED = {"green": "#56A64B", "red": "#E02F44", "orange": "#FF9830", "yellow": "#F2CC0C", "blue": "#3274D9",
         "purple": "#A352CC", "text": "#D8D9DA"}
COL_PX, ROW_PX, HEAD_PX = 58, 34, 30
#: Longest axis label drawn in full; longer ones end in an ellipsis (the full text is in the tooltip).
LABEL_CHARS = 24


def color(name: str) -> str:
    return NAMED.get(name, name)


def clip(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters, ending in an ellipsis when anything was cut.

    >>> clip("team-engineering", 8), clip("web", 8)
    ('team-en…', 'web')
    """
    return text if len(text) <= chars else text[:max(1, chars - 1)] + "…"


def series_color(panel: dict, name: str) -> str:
    """The colour of series (or bar category) ``name`` on ``panel``: the panel's fixed colour for it (the one
    Grafana uses), else the name's colour from build.SERIES_COLORS, else a colour from a hash of the name, so
    that a series has the same colour on every panel."""
    fixed = panel_color(panel, name)
    if fixed:
        return fixed
    return SERIES_COLORS.get(name) or PALETTE[int(hashlib.sha1(name.encode()).hexdigest(), 16) % len(PALETTE)]


def panel_color(panel: dict, name: str) -> str | None:
    """The panel's own fixed colour for ``name`` (a colour override or a coloured value mapping), if any."""
    for ov in panel.get("fieldConfig", {}).get("overrides", []):
        m = ov.get("matcher", {})
        for prop in ov.get("properties", []):
            if prop.get("id") == "color" and prop["value"].get("mode") == "fixed":
                if (m.get("id") == "byName" and m.get("options") == name) or \
                        (m.get("id") == "byRegexp" and re.fullmatch(m.get("options", ""), name)):
                    return color(prop["value"]["fixedColor"])
            if prop.get("id") == "mappings":
                for mapping in prop["value"]:
                    hit = mapping.get("options", {}).get(name) if mapping.get("type") == "value" else None
                    if hit and hit.get("color"):
                        return color(hit["color"])
    return None


# -- values --------------------------------------------------------------------------------------
def fmt_value(v, unit: str | None = None, decimals: int | None = None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    x = float(v)
    if unit == "percentunit":
        x, unit = x * 100, "percent"
    d = decimals if decimals is not None else (0 if float(x).is_integer() else 2)
    if unit == "percent":
        return f"{x:.{d}f}%"
    if unit == "ms":
        return f"{x:.{d}f} ms" if abs(x) < 1000 else f"{x / 1000:.2f} s"
    if unit == "short" or (unit is None and abs(x) >= 10000):
        for div, suf in ((1e9, " B"), (1e6, " M"), (1e3, " K")):
            if abs(x) >= div:
                return f"{x / div:.1f}{suf}"
    return f"{x:,.{d}f}"


def threshold_color(v, thresholds: dict | None, default: str = "#3274D9") -> str:
    if not thresholds or v is None or isinstance(v, str):
        return default
    chosen = default
    for step in thresholds.get("steps", []):
        if step.get("value") is None or float(v) >= float(step["value"]):
            chosen = color(step.get("color", default))
    return chosen


def _ramp(t: float) -> str:
    """Red -> yellow -> green for t in [0, 1] (Grafana's RdYlGr, simplified)."""
    t = min(1.0, max(0.0, t))
    stops = [(0.0, (224, 47, 68)), (0.5, (242, 204, 12)), (1.0, (86, 166, 75))]
    for (a, ca), (b, cb) in zip(stops, stops[1:]):
        if t <= b:
            f = (t - a) / (b - a)
            return "#%02x%02x%02x" % tuple(int(ca[i] + (cb[i] - ca[i]) * f) for i in range(3))
    return "#56a64b"


# -- frame shaping -------------------------------------------------------------------------------
def series_of(frame: Frame) -> tuple[dict[str, list[tuple[datetime, float | None]]], str | None]:
    """Long or wide time-series frame -> {series name: [(time, value)]}, like the plugin does."""
    if not frame.rows:
        return {}, None
    kinds = frame.kinds()
    if "time" not in kinds:
        return {}, "no time column"
    ti = kinds.index("time")
    labels = [i for i, k in enumerate(kinds) if k == "string"]
    values = [i for i, k in enumerate(kinds) if k == "number" and i != ti]
    if not values:
        return {}, "no numeric column"
    out: dict[str, list] = {}
    for row in frame.rows:
        label = " ".join(str(row[i]) for i in labels)
        for vi in values:
            name = (f"{label} {frame.columns[vi]}" if len(values) > 1 else label) if label else frame.columns[vi]
            t = row[ti]
            if not isinstance(t, datetime):
                t = datetime(t.year, t.month, t.day, tzinfo=timezone.utc)
            elif t.tzinfo is None:
                t = t.replace(tzinfo=timezone.utc)
            v = row[vi]
            out.setdefault(name, []).append((t, None if v is None else float(v)))
    for pts in out.values():
        pts.sort(key=lambda p: p[0])
    return out, None


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, v = [], start
    while v <= hi + step * 0.001:
        if v >= lo - step * 0.001:
            ticks.append(round(v, 10))
        v += step
    return ticks


def _time_ticks(a: float, b: float, n: int = 6) -> list[tuple[float, str]]:
    span = b - a
    steps = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
    step = next((s for s in steps if span / s <= n), 604800 * 4)
    first = math.ceil(a / step) * step
    fmt = "%b %d" if step >= 86400 else ("%d %H:%M" if span > 86400 else "%H:%M")
    out, t = [], first
    while t <= b:
        out.append((t, datetime.fromtimestamp(t, timezone.utc).strftime(fmt)))
        t += step
    return out


# -- charts --------------------------------------------------------------------------------------
def _size(panel: dict) -> tuple[int, int]:
    g = panel["gridPos"]
    return g["w"] * COL_PX - 16, g["h"] * ROW_PX - HEAD_PX - 12


def _legend(names: list[str], colors: dict[str, str], extra: str = "") -> str:
    items = "".join(f'<span class="lg" title="{escape(n)}"><i style="background:{colors[n]}"></i>'
                    f'{escape(clip(n, 2 * LABEL_CHARS))}</span>' for n in names)
    return f'<div class="legend">{items}{extra}</div>'


def timeseries(panel: dict, frame: Frame, tr: TimeRange) -> str:
    series, problem = series_of(frame)
    if problem or not series:
        return nodata(problem or "No data")
    fd = panel["fieldConfig"]["defaults"]
    unit, dec = fd.get("unit"), fd.get("decimals")
    bars = fd.get("custom", {}).get("drawStyle") == "bars"
    names = sorted(series)
    colors = {n: series_color(panel, n) for n in names}
    W, H = _size(panel)
    H -= 22 if len(names) > 1 or bars else 4
    ml, mr, mt, mb = 56, 10, 8, 20
    pw, ph = W - ml - mr, H - mt - mb
    x0, x1 = tr.start.timestamp(), tr.end.timestamp()
    if bars:
        buckets: dict[float, float] = {}
        for pts in series.values():
            for t, v in pts:
                buckets[t.timestamp()] = buckets.get(t.timestamp(), 0.0) + (v or 0.0)
        vals = list(buckets.values()) or [0.0]
        lo, hi = 0.0, max(vals)
    else:
        vals = [v for pts in series.values() for _, v in pts if v is not None and not math.isnan(v)]
        if not vals:
            return nodata()
        lo, hi = min(vals), max(vals)
        pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1
        lo, hi = lo - pad, hi + pad
    if fd.get("min") is not None and not bars:
        lo = max(lo, float(fd["min"])) if vals and min(vals) >= float(fd["min"]) else float(fd["min"])
    if fd.get("max") is not None and not bars:
        hi = min(hi, float(fd["max"])) if vals and max(vals) <= float(fd["max"]) else float(fd["max"])
    if hi <= lo:
        hi = lo + 1
    yt = _nice_ticks(lo, hi)
    lo, hi = min(lo, yt[0]), max(hi, yt[-1])

    def X(t: float) -> float:
        return ml + (t - x0) / max(1e-9, x1 - x0) * pw

    def Y(v: float) -> float:
        return mt + ph - (v - lo) / (hi - lo) * ph

    parts = [f'<svg viewBox="0 0 {W} {H}" class="chart" role="img">']
    for v in yt:
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" class="grid"/>'
                     f'<text x="{ml - 6}" y="{Y(v) + 4:.1f}" class="ax" text-anchor="end">{escape(fmt_value(v, unit, None if abs(v) >= 1 or v == 0 else 2))}</text>')
    for t, label in _time_ticks(x0, x1):
        parts.append(f'<line x1="{X(t):.1f}" x2="{X(t):.1f}" y1="{mt}" y2="{mt + ph}" class="grid"/>'
                     f'<text x="{X(t):.1f}" y="{H - 4}" class="ax" text-anchor="middle">{escape(label)}</text>')
    if bars:
        times = sorted({t.timestamp() for pts in series.values() for t, _ in pts})
        step = min((b - a for a, b in zip(times, times[1:])), default=max(60.0, (x1 - x0) / 60))
        bw = max(1.5, step / max(1e-9, x1 - x0) * pw * 0.8)
        base = {t: 0.0 for t in times}
        for n in names:
            for t, v in series[n]:
                if not v:
                    continue
                ts = t.timestamp()
                y_top, y_bot = Y(base[ts] + v), Y(base[ts])
                parts.append(f'<rect class="mark" x="{X(ts) - bw / 2:.1f}" y="{y_top:.1f}" width="{bw:.1f}" '
                             f'height="{max(0.5, y_bot - y_top):.1f}" fill="{colors[n]}"><title>{escape(n)}: '
                             f'{escape(fmt_value(v, unit, dec))}</title></rect>')
                base[ts] += v
    else:
        width = fd.get("custom", {}).get("lineWidth", 2)
        for n in names:
            runs: list[list[tuple[float, float]]] = [[]]
            for t, v in series[n]:
                if v is None or math.isnan(v):
                    runs.append([])
                else:
                    runs[-1].append((X(t.timestamp()), Y(v)))
            for run in runs:
                if len(run) == 1:  # an isolated point (its neighbours are null): a dot, not an invisible move
                    parts.append(f'<circle class="mark" cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="3" '
                                 f'fill="{colors[n]}"><title>{escape(n)}</title></circle>')
                elif run:
                    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(run))
                    parts.append(f'<path class="mark" d="{d}" fill="none" stroke="{colors[n]}" '
                                 f'stroke-width="{width}"><title>{escape(n)}</title></path>')
    parts.append("</svg>")
    legend = _legend(names, colors) if len(names) > 1 or bars else ""
    return "".join(parts) + legend


def barchart(panel: dict, frame: Frame) -> str:
    kinds = frame.kinds()
    if not frame.rows:
        return nodata()
    ci = kinds.index("string") if "string" in kinds else 0
    vi = next((i for i, k in enumerate(kinds) if k == "number"), None)
    if vi is None:
        return nodata("no numeric column")
    fd = panel["fieldConfig"]["defaults"]
    unit, dec = fd.get("unit"), fd.get("decimals")
    rows = [(str(r[ci]), r[vi]) for r in frame.rows]
    W, H = _size(panel)
    n = len(rows)
    lw = min(LABEL_CHARS * 7 + 12, max(len(lbl) for lbl, _ in rows) * 7 + 12)
    bh = min(26.0, (H - 8) / max(1, n))
    vmax = max([float(v) for _, v in rows if v is not None] or [1.0]) or 1.0
    pw = W - lw - 70
    parts = [f'<svg viewBox="0 0 {W} {H}" class="chart" role="img"><defs>{_HATCH}</defs>']
    for i, (label, v) in enumerate(rows):
        y = 4 + i * bh
        parts.append(f'<text x="{lw - 6}" y="{y + bh * 0.62:.1f}" class="ax lbl" text-anchor="end">'
                     f'{escape(clip(label, LABEL_CHARS))}<title>{escape(label)}</title></text>')
        if v is None:
            parts.append(f'<rect class="mark suppressed" x="{lw}" y="{y + bh * 0.12:.1f}" width="{pw * 0.35:.1f}" '
                         f'height="{bh * 0.76:.1f}" fill="url(#hatch)" stroke="#888"><title>{escape(label)}: '
                         f'suppressed</title></rect><text x="{lw + pw * 0.35 + 6:.1f}" y="{y + bh * 0.62:.1f}" '
                         f'class="ax">{escape(fd.get("noValue", "suppressed"))}</text>')
            continue
        w = max(1.0, float(v) / vmax * pw)
        c = series_color(panel, label)
        parts.append(f'<rect class="mark" x="{lw}" y="{y + bh * 0.12:.1f}" width="{w:.1f}" height="{bh * 0.76:.1f}" '
                     f'fill="{c}"><title>{escape(label)}: {escape(fmt_value(v, unit, dec))}</title></rect>'
                     f'<text x="{lw + w + 6:.1f}" y="{y + bh * 0.62:.1f}" class="ax val">{escape(fmt_value(v, unit, dec))}</text>')
    parts.append("</svg>")
    return "".join(parts)


_HATCH = ('<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
          '<rect width="6" height="6" fill="#2b2d33"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8e8e8e" '
          'stroke-width="2"/></pattern>')


_WEEK = 7 * 86400
_FIRST_MONDAY = 4 * 86400  # 1970-01-05, the first Monday after the epoch


def _buckets(tr: TimeRange, seen: list[datetime], limit: int = 400) -> list[datetime]:
    """Every interval of the range, so that an interval without data is a column too; the data's own times
    when that would be too many columns. Whole weeks start on Mondays (the privacy views' ISO weeks); other
    intervals are aligned as ClickHouse's toStartOfInterval aligns them (multiples since the epoch).

    >>> tr = TimeRange(datetime(2026, 11, 4, tzinfo=timezone.utc), datetime(2026, 11, 20, tzinfo=timezone.utc), 604800)
    >>> [f"{t:%a %d}" for t in _buckets(tr, [])]
    ['Mon 02', 'Mon 09', 'Mon 16']
    """
    step = max(1, int(tr.interval_s))
    origin = _FIRST_MONDAY if step % _WEEK == 0 else 0
    first = (int(tr.start.timestamp()) - origin) // step * step + origin
    last = int(tr.end.timestamp())
    if (last - first) // step + 1 > limit:
        return seen
    out = [datetime.fromtimestamp(t, timezone.utc) for t in range(first, last + 1, step)]
    return sorted(set(out) | set(seen))


def _special_text(panel: dict, match: str, default: str) -> str:
    for m in panel["fieldConfig"]["defaults"].get("mappings", []):
        if m.get("type") == "special" and m["options"].get("match") == match:
            return m["options"]["result"].get("text", default)
    return default


def status_history(panel: dict, frame: Frame, tr: TimeRange) -> str:
    """Rows per series, a column per interval. NaN is a suppressed cell (there were respondents, too few to
    show: hatched); a cell without a row, or NULL, has no data (drawn empty)."""
    series, problem = series_of(frame)
    if problem or not series:
        return nodata(problem or "No data")
    fd = panel["fieldConfig"]["defaults"]
    unit, dec = fd.get("unit"), fd.get("decimals")
    lo, hi = float(fd.get("min", 0)), float(fd.get("max", 1))
    suppressed_text = _special_text(panel, "nan", "suppressed (group too small)")
    empty_text = _special_text(panel, "null", "no data")
    names = sorted(series, key=lambda s: (s.startswith("suppressed"), s))
    times = _buckets(tr, sorted({t for pts in series.values() for t, _ in pts}))
    W, H = _size(panel)
    H -= 22
    lw = min(LABEL_CHARS * 7 + 12, max(len(n) for n in names) * 7 + 12)
    mb = 18
    cw = (W - lw - 6) / max(1, len(times))
    rh = (H - mb - 4) / max(1, len(names))
    parts = [f'<svg viewBox="0 0 {W} {H}" class="chart" role="img"><defs>{_HATCH}</defs>']
    for r, name in enumerate(names):
        y = 2 + r * rh
        parts.append(f'<text x="{lw - 6}" y="{y + rh * 0.6:.1f}" class="ax lbl" text-anchor="end">'
                     f'{escape(clip(name, LABEL_CHARS))}<title>{escape(name)}</title></text>')
        values = dict(series[name])
        for c, t in enumerate(times):
            x = lw + c * cw
            v = values.get(t)
            if v is None:
                fill, cls, tip = "none", "mark empty", empty_text
            elif math.isnan(v):
                fill, cls, tip = "url(#hatch)", "mark suppressed", suppressed_text
            else:
                fill, cls = _ramp((v - lo) / max(1e-9, hi - lo)), "mark"
                tip = fmt_value(v, unit, dec)
            parts.append(f'<rect class="{cls}" x="{x + 0.5:.1f}" y="{y + 1:.1f}" width="{max(1.0, cw - 1):.1f}" '
                         f'height="{max(1.0, rh - 2):.1f}" fill="{fill}"><title>{escape(name)} '
                         f'{t.strftime("%Y-%m-%d %H:%M")}: {escape(tip)}</title></rect>')
    span = max(1.0, (times[-1] - times[0]).total_seconds())
    for t, label in _time_ticks(times[0].timestamp(), times[-1].timestamp() + 1, n=8):
        c = (t - times[0].timestamp()) / span * (len(times) - 1)
        parts.append(f'<text x="{lw + c * cw + cw / 2:.1f}" y="{H - 4}" class="ax" text-anchor="middle">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    scale = "".join(f'<i style="background:{_ramp(i / 4)}"></i>' for i in range(5))
    legend = (f'<div class="legend"><span class="lg scale">{escape(fmt_value(lo, unit, 0))} {scale} '
              f'{escape(fmt_value(hi, unit, 0))}</span><span class="lg"><i class="hatch"></i>'
              f'{escape(suppressed_text)}</span><span class="lg"><i class="empty"></i>{escape(empty_text)}</span></div>')
    return "".join(parts) + legend


def stat(panel: dict, frame: Frame) -> str:
    fd = panel["fieldConfig"]["defaults"]
    unit, dec = fd.get("unit"), fd.get("decimals")
    kinds = frame.kinds()
    if not frame.rows:
        return nodata()
    row = frame.rows[0]
    cells = []
    for i, k in enumerate(kinds):
        if k not in ("number",):
            continue
        v = row[i]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            text, c, cls = fd.get("noValue", "No data"), "#8e8e8e", "mark stat-value novalue"
        else:
            text, c, cls = fmt_value(v, unit, dec), threshold_color(v, fd.get("thresholds")), "mark stat-value"
        cells.append(f'<div class="stat"><span class="{cls}" style="color:{c}">{escape(text)}</span>'
                     f'<span class="stat-name">{escape(frame.columns[i].replace("_", " "))}</span></div>')
    if not cells:
        return nodata("no numeric column")
    return f'<div class="stats">{"".join(cells)}</div>'


def table(panel: dict, frame: Frame) -> str:
    if not frame.rows:
        return nodata()
    fd = panel["fieldConfig"]["defaults"]
    heat = {}
    for ov in panel["fieldConfig"].get("overrides", []):
        props = {p["id"]: p["value"] for p in ov.get("properties", [])}
        if props.get("custom.cellOptions", {}).get("type") == "color-background":
            heat[ov["matcher"]["options"]] = props.get("thresholds")
    # the longest text column takes the width left over and ends in an ellipsis there, so that a table
    # never runs past its panel's edge
    lengths = [sum(len(r[i]) for r in frame.rows if isinstance(r[i], str)) for i in range(len(frame.columns))]
    flex = max(range(len(lengths)), key=lengths.__getitem__) if any(lengths) else None
    head = "".join(f'<th{" class=flex" if i == flex else ""}>{escape(c)}</th>' for i, c in enumerate(frame.columns))
    suppressed, empty = _special_text(panel, "nan", "suppressed"), _special_text(panel, "null", "no data")
    body = []
    for row in frame.rows:
        suppressed_row = any(isinstance(v, str) and v.startswith("suppressed") for v in row)
        tds = []
        for i, (c, v) in enumerate(zip(frame.columns, row)):
            if isinstance(v, float):
                text = fmt_value(v, None, 3 if abs(v) < 1 else 2)
            else:
                text = fmt_value(v, None, fd.get("decimals"))
            if isinstance(v, float) and math.isnan(v):  # there were people, too few to show
                tds.append(f'<td class="null" title="{escape(suppressed)}">{escape(suppressed)}</td>')
            elif v is None:
                tds.append(f'<td class="empty" title="{escape(empty)}">—</td>')
            elif c in heat and not isinstance(v, str):
                tds.append(f'<td style="background:{threshold_color(v, heat[c])};color:#111">{escape(text)}</td>')
            elif i == flex:
                tds.append(f'<td class="flex" title="{escape(text)}">{escape(text)}</td>')
            else:
                tds.append(f"<td>{escape(text)}</td>")
        body.append(f'<tr class="mark{" suppressed" if suppressed_row else ""}">{"".join(tds)}</tr>')
    return f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def nodata(reason: str = "No data") -> str:
    return f'<div class="nodata">{escape(reason)}</div>'


def panel_body(result: PanelResult, tr: TimeRange) -> str:
    panel = result.panel
    if result.error:
        return f'<div class="error">query failed: {escape(result.error[:400])}</div>'
    frame = result.frames[0] if result.frames else Frame([], [], [])
    kind = panel["type"]
    if kind == "timeseries":
        return timeseries(panel, frame, tr)
    if kind == "barchart":
        return barchart(panel, frame)
    if kind == "status-history":
        return status_history(panel, frame, tr)
    if kind == "stat":
        return stat(panel, frame)
    if kind == "table":
        return table(panel, frame)
    return nodata(f"panel type {kind} is not drawn here")
