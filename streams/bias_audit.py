"""The bias audit over a store: read the people behind each prediction into ``Subject``s (in memory,
never written or printed), run ``models.oversight.audit``, and turn the group rows into a report,
the ``bias_audit_daily`` rows, a text table or an HTML page.

Where the groups come from (``events_scored``, employees by pseudonym):

* ``plan``: the customer's first plan on an account event (a downgrade is a churn signal, not a group);
* ``team``: the team of the employee's latest prediction (from their HR events);
* ``channel``: the channel of most of the person's own texts (ties: the first by name);
* ``tenure``: from the signup or hire event (else the first event) to the end of the window: when the
  person joined, whatever happened since (up to their last prediction, a churner's tenure would be
  shorter because they churned, and the band would carry the label);
* a connector's ``auditable_fields``: the latest value of that key in the events' ``attributes``.

The window is event time (``predicted_at``): ``since`` .. ``until``, by default everything the store
still holds (``predictions`` are kept ``PULSEWIRE_PREDICTIONS_TTL_DAYS``).
"""

from __future__ import annotations

import html
import json
from datetime import date, datetime, timedelta, timezone

from pulsewire.models.oversight.audit import ATTRIBUTES, BY_NAME, Subject, audit_model, correct_flags, tenure_band

TABLE = "bias_audit_daily"
OUTCOMES_TABLE = "alert_outcomes"
ENTITY = {"churn": ("customer", "customer_id"), "burnout": ("employee", "employee_id")}
#: A person's own events: a customer's carry no employee id (an agent's reply in their chat does).
OWN = {"churn": "employee_id = ''", "burnout": "1"}

_PEOPLE = """
SELECT entity_id, argMax(team_id, predicted_at) AS team, max(alerted) AS alerted,
       avg(toFloat64(probability)) AS risk, max(toFloat64(probability)) AS score,
       toFloat64(toUnixTimestamp64Milli(max(predicted_at))) / 1000 AS last_t
FROM predictions FINAL
WHERE model = {model:String} AND predicted_at >= {since:DateTime64(3, 'UTC')} AND predicted_at < {until:DateTime64(3, 'UTC')}
GROUP BY entity_id
"""
_LABELS = """
SELECT entity_id, max(label) AS label
FROM learn_examples FINAL
WHERE model = {model:String} AND predicted_at >= {since:DateTime64(3, 'UTC')} AND predicted_at < {until:DateTime64(3, 'UTC')}
GROUP BY entity_id
"""
# the person's own events: a customer's (no employee id on them), an employee's (their pseudonym)
_FACTS = """
SELECT {col:Identifier} AS entity_id,
       argMinIf(plan, occurred_at, kind = 'account' AND plan != '') AS plan,
       toFloat64(toUnixTimestamp64Milli(if(countIf(type IN ('signup', 'hire')) > 0,
                                           minIf(occurred_at, type IN ('signup', 'hire')), min(occurred_at)))) / 1000
           AS start_t,
       {extra:String} AS attributes_json
FROM events_scored FINAL
WHERE {col:Identifier} IN {ids:Array(String)} AND {own}
GROUP BY entity_id
"""
_CHANNELS = """
SELECT entity_id, argMax(channel, (texts, channel)) AS channel
FROM
(
    SELECT {col:Identifier} AS entity_id, channel, count() AS texts
    FROM events_scored FINAL
    WHERE {col:Identifier} IN {ids:Array(String)} AND sentiment_label != '' AND channel != ''
      AND {own}
    GROUP BY entity_id, channel
)
GROUP BY entity_id
"""
_OUTCOMES = """
SELECT a.subject AS entity_id, o.outcome AS outcome
FROM (SELECT alert_id, argMax(outcome, (outcome_at, outcome_id)) AS outcome
      FROM alert_outcomes FINAL GROUP BY alert_id) AS o
INNER JOIN (SELECT alert_id, subject FROM alerts_audit FINAL WHERE alert_type = {model:String}) AS a
    ON a.alert_id = o.alert_id
"""


def _attributes_sql(keys: tuple[str, ...]) -> str:
    """The latest value of each auditable attribute key, as one JSON object (keys are checked names)."""
    if not keys:
        return "'{}'"
    parts = ", ".join(f"'{k}', argMaxIf(attributes['{k}'], occurred_at, mapContains(attributes, '{k}'))"
                      for k in keys)
    return f"toJSONString(map({parts}))"


def _check_keys(keys) -> tuple[str, ...]:
    """Attribute keys from connectors' declarations: names, never SQL.

    >>> _check_keys(["region", "segment"])
    ('region', 'segment')
    >>> _check_keys(["x'); DROP"])
    Traceback (most recent call last):
    ...
    ValueError: an auditable field must be letters, digits, '_', '-' or '.', got "x'); DROP"
    """
    import re

    out = []
    for k in keys:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", k):
            raise ValueError(f"an auditable field must be letters, digits, '_', '-' or '.', got {k!r}")
        out.append(k)
    return tuple(dict.fromkeys(out))


def connector_auditable_fields() -> tuple[str, ...]:
    """What the installed connectors declare as auditable (``Connector.auditable_fields``)."""
    from .sdk.registry import available

    keys: list[str] = []
    for ep in available().values():
        try:
            cls = ep.load()
        except Exception:  # a broken third-party connector must not stop the audit
            continue
        keys += list(getattr(cls, "auditable_fields", ()) or ())
    return _check_keys(keys)


def _has_outcomes(store) -> bool:
    rows = store.query_dicts("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() "
                             "AND name = {t:String}", {"t": OUTCOMES_TABLE})
    return bool(rows and rows[0]["n"])


def read_subjects(store, model: str, since: datetime, until: datetime, extra: tuple[str, ...] = ()) -> list[Subject]:
    """One Subject per person with a prediction of ``model`` in the window."""
    params = {"model": model, "since": since, "until": until}
    people = store.query_dicts(_PEOPLE, params)
    if not people:
        return []
    ids = [p["entity_id"] for p in people]
    col = ENTITY[model][1]
    labels = {r["entity_id"]: int(r["label"]) for r in store.query_dicts(_LABELS, params)}
    facts = {r["entity_id"]: r for r in store.query_dicts(
        _FACTS.replace("{extra:String}", _attributes_sql(extra)).replace("{own}", OWN[model]), {"col": col, "ids": ids})}
    channels = {r["entity_id"]: r["channel"] for r in store.query_dicts(_CHANNELS.replace("{own}", OWN[model]),
                                                                        {"col": col, "ids": ids})}
    outcomes: dict[str, list[str]] = {}
    if _has_outcomes(store):
        for r in store.query_dicts(_OUTCOMES, {"model": model}):
            outcomes.setdefault(r["entity_id"], []).append(r["outcome"])
    end_t = until.timestamp()
    out = []
    for p in people:
        eid, f = p["entity_id"], facts.get(p["entity_id"], {})
        groups = {"channel": channels.get(eid, ""),
                  "tenure": tenure_band((end_t - f["start_t"]) / 86400 if f.get("start_t") else None)}
        if model == "churn":
            groups["plan"] = f.get("plan", "")
        else:
            groups["team"] = p["team"]
        groups.update(json.loads(f.get("attributes_json") or "{}"))
        out.append(Subject(groups, bool(p["alerted"]), p["risk"], p["score"], labels.get(eid),
                           tuple(outcomes.get(eid, ()))))
    return out


def store_min_group(store, configured: int) -> int:
    """The stricter of the configured threshold and the one the store's privacy views apply."""
    try:
        rows = store.query_dicts("SELECT min_group FROM privacy_thresholds")
    except Exception:
        rows = []
    return max(int(configured), int(rows[0]["min_group"]) if rows and rows[0]["min_group"] else 0)


def window_of(store, since: datetime | None, days: int | None, until: datetime | None = None) -> tuple[datetime, datetime]:
    """``since`` .. ``until`` (default: the first .. the newest prediction held, event time); ``days``: the
    last N days up to the newest prediction."""
    held = store.query_dicts("SELECT toFloat64(toUnixTimestamp64Milli(min(predicted_at))) / 1000 AS first, "
                             "toFloat64(toUnixTimestamp64Milli(max(predicted_at))) / 1000 AS last, count() AS n "
                             "FROM predictions")[0]
    now = datetime.now(timezone.utc)
    first = datetime.fromtimestamp(held["first"], timezone.utc) if held["n"] else now
    end = until or (datetime.fromtimestamp(held["last"], timezone.utc) + timedelta(milliseconds=1) if held["n"] else now)
    if days is not None:
        return end - timedelta(days=days), end
    return since or first, end


def run_audit(store, *, min_group: int, since: datetime | None = None, days: int | None = None,
              until: datetime | None = None, extra: tuple[str, ...] = ()) -> dict:
    """The whole audit as a JSON-ready dict: window, threshold, rows (group aggregates), flags, and the
    correction of the flags for the number of comparisons (``family``: over both models' ratios)."""
    start, end = window_of(store, since, days, until)
    rows, people = [], {}
    for model in ("churn", "burnout"):
        subjects = read_subjects(store, model, start, end, extra)
        people[model] = len(subjects)
        rows += audit_model(model, subjects, ATTRIBUTES[model] + tuple(extra), min_group)
    family = correct_flags(rows)
    return {"window": {"from": start.isoformat(), "to": end.isoformat()}, "min_group": min_group,
            "people": people, "outcomes_table": _has_outcomes(store),
            "family": {"method": family.method, "alpha": family.alpha, "comparisons": family.comparisons,
                       "z": round(family.z, 4)},
            "rows": [r.as_dict() for r in rows],
            "flagged": [{k: r.as_dict()[k] for k in ("model", "attribute", "group", "measure", "ratio", "ratio_hi",
                                                      "flag_hi", "reference")} for r in rows if r.flagged]}


def daily_rows(report: dict, day: date, computed_at: datetime | None = None) -> list[dict]:
    """The report as ``bias_audit_daily`` rows for ``day``, all with one ``computed_at`` (the version that
    replaces an earlier computation of the day, and the mark by which readers keep only the newest one:
    a group an earlier, partial audit reported and this one does not must not linger)."""
    w = report["window"]
    computed_at = computed_at or datetime.now(timezone.utc)
    out = []
    for r in report["rows"]:
        row = {k: r[k] for k in ("model", "attribute", "measure", "state", "people", "n", "value", "lo", "hi",
                                 "reference", "ratio", "ratio_lo", "ratio_hi", "groups")}
        row.update(day=day, group_name=r["group"], four_fifths=int(r["four_fifths"]), flagged=int(r["flagged"]),
                   min_group=report["min_group"], window_from=datetime.fromisoformat(w["from"]),
                   window_to=datetime.fromisoformat(w["to"]), computed_at=computed_at)
        out.append(row)
    return out


def record_audit(store, min_group: int, day: date | None = None, extra: tuple[str, ...] | None = None) -> dict:
    """Run the audit over everything the store holds and write it as ``day``'s rows (default: today, UTC),
    replacing that day's earlier computation: what ``pulsewire audit --record`` and the demo's end do."""
    report = run_audit(store, min_group=store_min_group(store, min_group),
                       extra=connector_auditable_fields() if extra is None else extra)
    store.insert_rows(TABLE, daily_rows(report, day or datetime.now(timezone.utc).date()))
    return report


# ------------------------------------------------------------------------------------------ rendering
def _fmt(v, pct=False) -> str:
    if v is None:
        return "-"
    return f"{v:.0%}" if pct else f"{v:.2f}"


def text_lines(report: dict) -> list[str]:
    """A readable table: one line per shown group and measure that has a ratio, flags first."""
    w = report["window"]
    lines = [f"bias audit {w['from'][:10]} .. {w['to'][:10]}  people: churn {report['people']['churn']}, "
             f"burnout {report['people']['burnout']}  groups below {report['min_group']} people: suppressed",
             f"{'model':8} {'attribute':10} {'group':22} {'measure':13} {'people':>6} {'n':>5} {'value':>6} "
             f"{'95% CI':>13} {'ratio':>6} {'ratio 95% CI':>13} {'reference':18} flag"]
    suppressed: dict[tuple, list[str]] = {}  # a shown group's measures with too few people behind them
    for r in report["rows"]:
        if r["state"] != "shown":
            if r["group"] == "(suppressed)":
                if r["measure"] == "alert_rate":
                    lines.append(f"{r['model']:8} {r['attribute']:10} {r['group']:22} {'':13} "
                                 f"{'':>6} {'':>5} {'':>6} {r['groups']} group(s) below the threshold, not reported")
                continue
            key = (r["model"], r["attribute"], r["group"])
            if key not in suppressed:
                suppressed[key] = []
                lines.append(key)  # one line per group, filled in below
            suppressed[key].append(r["measure"])
            continue
        pct = r["measure"] not in ("mean_risk", "auc")
        ci = f"{_fmt(r['lo'], pct)}-{_fmt(r['hi'], pct)}"
        rci = "" if r["ratio_lo"] is None else f"{_fmt(r['ratio_lo'])}-{_fmt(r['ratio_hi'])}"
        flag = "FLAGGED" if r["flagged"] else ("<4/5" if r["four_fifths"] else "")
        lines.append(f"{r['model']:8} {r['attribute']:10} {r['group'][:22]:22} {r['measure']:13} {r['people']:>6} "
                     f"{r['n']:>5} {_fmt(r['value'], pct):>6} {ci:>13} {_fmt(r['ratio']):>6} {rci:>13} "
                     f"{r['reference'][:18]:18} {flag}")
    lines = [f"{line[0]:8} {line[1]:10} {line[2][:22]:22} suppressed: {', '.join(suppressed[line])} "
             f"(fewer than {report['min_group']} people behind them)" if isinstance(line, tuple) else line
             for line in lines]
    flags, fam = report["flagged"], report["family"]
    lines.append("<4/5: ratio below four-fifths (0.8). A flag needs the whole interval below 0.8 at the family-wise "
                 f"level: {fam['comparisons']} ratios tested in this audit, each at {1 - fam['alpha'] / max(fam['comparisons'], 1):.2%} "
                 f"(z {fam['z']:.2f}, Bonferroni), so that a fair audit flags nothing with {1 - fam['alpha']:.0%} "
                 "confidence; the intervals shown are 95%. Where labels exist, alert_rate and precision (which move "
                 "with base rates) are shown, not flagged: fpr and recall judge.")
    lines.append("flagged: " + ("; ".join(f"{f['model']} {f['attribute']}={f['group']} {f['measure']} ratio "
                                          f"{f['ratio']:.2f} (95% CI up to {f['ratio_hi']:.2f}, family-wise up to "
                                          f"{f['flag_hi']:.2f}) vs {f['reference']}"
                                          for f in flags) if flags else "none"))
    return lines


def render_html(report: dict, source: str = "") -> str:
    """A self-contained HTML page (no scripts, no network)."""
    e = html.escape
    w = report["window"]
    head = ["model", "attribute", "group", "measure", "state", "people", "n", "value", "95% CI", "reference",
            "ratio", "ratio 95% CI", "flag"]
    body = []
    for r in report["rows"]:
        pct = r["measure"] not in ("mean_risk", "auc")
        cls = " class=flag" if r["flagged"] else (" class=warn" if r["four_fifths"] else "")
        cells = [r["model"], r["attribute"], r["group"], r["measure"], r["state"],
                 "" if r["people"] is None else r["people"], "" if r["n"] is None else r["n"],
                 _fmt(r["value"], pct), "" if r["lo"] is None else f"{_fmt(r['lo'], pct)} - {_fmt(r['hi'], pct)}",
                 r["reference"], _fmt(r["ratio"]),
                 "" if r["ratio_lo"] is None else f"{_fmt(r['ratio_lo'])} - {_fmt(r['ratio_hi'])}",
                 "flagged" if r["flagged"] else ("below 4/5" if r["four_fifths"] else "")]
        body.append(f"<tr{cls}>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>")
    measures = "".join(f"<li><b>{e(m.name)}</b>: {e(m.what)}; best-treated group: the {m.best}</li>"
                       for m in BY_NAME.values())
    flags = "".join(f"<li>{e(f['model'])}: {e(f['attribute'])} = {e(f['group'])}, {e(f['measure'])} ratio "
                    f"{f['ratio']:.2f} (95% CI up to {f['ratio_hi']:.2f}, family-wise up to {f['flag_hi']:.2f}) "
                    f"against {e(f['reference'])}</li>"
                    for f in report["flagged"]) or "<li>none</li>"
    fam = report["family"]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pulsewire bias audit</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}tr.flag{{background:#fdd}}tr.warn{{background:#ffe}}</style>
</head><body><h1>Bias audit</h1>
<p>Store {e(source)}; predictions from {e(w['from'])} to {e(w['to'])}; people: churn {report['people']['churn']},
burnout {report['people']['burnout']}. Groups and measures with fewer than {report['min_group']} distinct people
are not reported. A group is <b>flagged</b> when the whole confidence interval of its ratio to the
best-treated group is below 0.8 (four-fifths rule) at the family-wise level: this audit tested
{fam['comparisons']} ratios, so each is tested at {1 - fam['alpha'] / max(fam['comparisons'], 1):.2%}
(z {fam['z']:.2f}, Bonferroni) and a fair audit flags nothing with {1 - fam['alpha']:.0%} confidence; the
intervals shown are 95%. "below 4/5" marks a point ratio under 0.8 that the interval does not confirm, or a disparity in alert rate or precision where labels exist: those move with
base rates (a group that churns more rightly gets more alerts), so there the false-positive rate and
recall, measured given the truth, carry the flag.</p><h2>Flagged</h2><ul>{flags}</ul><h2>Measures</h2><ul>{measures}</ul>
<table><tr>{''.join(f'<th>{e(h)}</th>' for h in head)}</tr>{''.join(body)}</table></body></html>
"""
