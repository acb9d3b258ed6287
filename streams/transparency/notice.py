"""The plain-language notice for employees and for customers (``pulsewire notice``).

Every figure and name in it comes from the configuration in force and the code's own declarations,
never from prose kept beside them: the installed connectors (``streams/sdk/registry.py``: their
event kinds and personal fields), the canonical event schemas (what each kind carries), the consent
sources and small-group thresholds (``Settings``), the alert thresholds (``LearnerConfig``), the
retention of every table (``streams/retention.py``) and topic (``streams/topics.py``), and what
Grafana's user may read (``streams/store_access.py``). Change a setting and the notice changes.

>>> from pulsewire.streams.settings import Settings
>>> f = facts(Settings(raw_text_ttl_days=30, min_group_size=7), [Source("hris", "HR export", ("hr",), ("Employee #",))])
>>> md = markdown(f, "employees")
>>> "30 days" in md, "at least 7 people" in md, "`hris`" in md
(True, True, True)
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, Union, get_args, get_origin

from pulsewire.schemas.events import EVENT_MODELS, KINDS

from ..retention import TABLES as TABLE_RETENTION, days_from_settings
from ..store_access import GRANTED
from ..topics import ALERT_TOPICS, ALL_TOPICS, DAY_MS, TopicMap

Audience = Literal["employees", "customers"]
AUDIENCES: tuple[Audience, ...] = ("employees", "customers")

#: Who reads each alert topic: the CRM the customer-facing team uses, the HR system (the Kafka ACLs in
#: docs/privacy.md give each only its own topics).
ALERT_READERS = {"churn": "the company's CRM (its account team)", "burnout": "the HR system",
                 "sentiment": "the company's CRM (its account team)"}
# Bookkeeping fields of every event, not something a person said or did.
_BOOKKEEPING = {"schema_version", "event_id", "source", "occurred_at", "ingested_at", "kind", "type"}


# ------------------------------------------------------------------------------------- what is configured
@dataclass(frozen=True)
class Source:
    """An installed connector as the notice describes it."""

    name: str
    summary: str
    kinds: tuple[str, ...] | None  # None: not declared, so any kind
    personal_fields: tuple[str, ...] | None  # None: not declared, so every field is treated as personal


def installed_sources() -> list[Source]:
    """Every connector installed (entry points), with what it declares."""
    from ..sdk.connector import ConnectorError
    from ..sdk.registry import available, load

    out = []
    for name in available():
        try:
            cls = load(name)
        except ConnectorError as exc:
            out.append(Source(name, f"cannot be loaded ({exc}); treated as sending any kind", None, None))
            continue
        summary = ((cls.__doc__ or "").strip().splitlines() or [""])[0].rstrip(".")
        out.append(Source(name, summary, cls.kinds, cls.personal_fields))
    return out


def _roles(kind: str) -> set[str]:
    """Who an event of this kind can be about, from its schema: a required customer or employee id,
    or the author roles a chat message allows.

    >>> sorted(k for k in KINDS if "employee" in _roles(k)), sorted(k for k in KINDS if "customer" in _roles(k))
    (['chat', 'hr'], ['account', 'activity', 'chat', 'review', 'ticket'])
    """
    model = EVENT_MODELS[kind]
    roles = {who for who in ("customer", "employee") if model.model_fields[f"{who}_id"].is_required()}
    author = model.model_fields.get("author_role")
    if author is not None:
        allowed = set(get_args(author.annotation))
        roles |= {"customer"} & allowed | ({"employee"} if allowed & {"agent", "employee"} else set())
    return roles


def kind_fields(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the event types of a kind, the fields it carries), from its schema.

    >>> kind_fields("account")
    (('signup', 'renewal', 'cancellation', 'plan_change'), ('customer_id', 'employee_id', 'team_id', 'text', 'attributes', 'plan', 'previous_plan', 'mrr'))
    >>> kind_fields("activity")[0]
    ('any type the source names, e.g. login, feature_used, order_placed',)
    """
    model = EVENT_MODELS[kind]
    annotation = model.model_fields["type"].annotation
    types = get_args(annotation) if get_origin(annotation) is Literal else (
        "any type the source names, e.g. login, feature_used, order_placed",)
    return tuple(types), tuple(f for f in model.model_fields if f not in _BOOKKEEPING)


@dataclass(frozen=True)
class Kept:
    what: str
    days: float
    where: str


@dataclass(frozen=True)
class Facts:
    """Everything the notice states, taken from the running configuration."""

    sources: tuple[Source, ...]
    consent_sources: tuple[str, ...]
    min_group_size: int
    min_comment_group_size: int
    churn_threshold: float
    burnout_threshold: float
    burnout_confirm: int
    team_burnout_min_flagged: int
    kept: tuple[Kept, ...]
    topic_days: tuple[tuple[float, tuple[str, ...]], ...]  # (days, topics), shortest first
    raw_text_days: int
    audit_days: int
    dlq_days: float
    granted: tuple[str, ...]
    alert_topics: dict[str, str] = field(default_factory=dict)  # kind -> topic name on the broker
    generated_at: datetime | None = None
    # (threshold, days) for customers who send activity events, where churn is a cancellation; None otherwise
    churn_activity_hold: tuple[float, float] | None = None


def facts(settings, sources: list[Source], learner=None, at: datetime | None = None) -> Facts:
    """The facts of the notice: ``settings`` (``Settings``), the installed ``sources``, the learners'
    alert policy (``LearnerConfig``; its defaults when None)."""
    if learner is None:
        from pulsewire.models.learners.processor import LearnerConfig

        learner = LearnerConfig()
    days = days_from_settings(settings)
    kept = tuple(Kept(r.holds, days[r.setting], r.table + (f".{r.column}" if r.column else ""))
                 for r in TABLE_RETENTION if r.setting)  # fixed-day tables hold no personal data
    topics = TopicMap.from_settings(settings)
    by_days: dict[float, list[str]] = {}
    for t in ALL_TOPICS:
        cfg = topics.kafka_configs(t)
        if "retention.ms" in cfg and "compact" not in cfg.get("cleanup.policy", ""):
            by_days.setdefault(round(int(cfg["retention.ms"]) / DAY_MS, 2), []).append(topics.name(t.name))
    return Facts(
        sources=tuple(sources), consent_sources=tuple(sorted(settings.consent_source_names)),
        min_group_size=settings.min_group_size, min_comment_group_size=settings.min_comment_group_size,
        churn_threshold=learner.churn_alert_threshold, burnout_threshold=learner.burnout_threshold,
        burnout_confirm=learner.burnout_confirm, team_burnout_min_flagged=learner.team_burnout_min_flagged,
        kept=kept, topic_days=tuple((d, tuple(n)) for d, n in sorted(by_days.items())),
        raw_text_days=settings.raw_text_ttl_days, audit_days=settings.audit_ttl_days,
        dlq_days=settings.dlq_retention_days, granted=GRANTED,
        alert_topics={t.name.split(".", 1)[1]: topics.name(t.name) for t in ALERT_TOPICS},
        generated_at=at or datetime.now(timezone.utc),
        churn_activity_hold=_held(learner.policy("churn", activity=True)))


def _held(pol) -> tuple[float, float] | None:
    """(threshold, days) of a churn policy that holds the score before it alerts; None for one that does not."""
    return (pol.threshold, pol.hold_days) if pol.hold_days > 0 else None


# ------------------------------------------------------------------------------------- the text
Block = Union[str, list]  # a paragraph, or a list of bullet items
Section = tuple[str, list[Block]]


def _days(d: float) -> str:
    """A number of days in words.

    >>> _days(1), _days(7), _days(0.5)
    ('1 day', '7 days', '0.5 days')
    """
    d = int(d) if float(d).is_integer() else d
    return f"{d} day" if d == 1 else f"{d} days"


def _list(items) -> str:
    """Items as a sentence lists them.

    >>> _list(["a"]), _list(["a", "b", "c"])
    ('a', 'a, b and c')
    """
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _code(items) -> list[str]:
    return [f"`{i}`" for i in items]


def _collected(f: Facts, who: str) -> list[Block]:
    kinds = [k for k in KINDS if who in _roles(k)]
    blocks: list[Block] = [f"pulsewire reads only what the organisation's systems send it through these connectors "
                           f"(installed here), and only the fields of its event format:"]
    items = []
    for s in f.sources:
        sent = [k for k in (s.kinds or KINDS) if k in kinds]
        if not sent:
            continue
        personal = ("every field is treated as personal" if s.personal_fields is None else
                    "no field declared personal" if not s.personal_fields else
                    "personal fields: " + ", ".join(_code(s.personal_fields)))
        items.append(f"`{s.name}`: {s.summary}; sends {_list(_code(sent))} events ({personal})")
    blocks.append(items or ["no installed connector sends events about you"])
    blocks.append("What each kind of event carries:")
    rows = []
    for k in kinds:
        types, fields = kind_fields(k)
        rows.append(f"`{k}` ({_list(types)}): {', '.join(_code(fields))}")
    blocks.append(rows)
    if who == "employee":
        blocks.append("Your employee id is replaced by a keyed pseudonym (`emp_` and 24 characters) as soon as an "
                      "event arrives; only the incoming topics and the rejected-input topic hold the raw id, for "
                      f"the days listed under \"How long it is kept\". Texts you write are kept "
                      f"{_days(f.raw_text_days)}, then cleared.")
    else:
        blocks.append("Your customer id is stored as the company's systems send it, so that its account team can "
                      f"act on an alert. Texts you write are kept {_days(f.raw_text_days)}, then cleared.")
    return blocks


def _inferred(f: Facts, who: str) -> list[Block]:
    if who == "employee":
        consent = _list(_code(f.consent_sources)) if f.consent_sources else "no source (none is configured)"
        return [[
            "The tone (sentiment: negative, neutral or positive) of every text you write. It is shown only as "
            f"numbers about groups of at least {f.min_comment_group_size} people who wrote.",
            "A burnout risk (a probability with its reasons in plain words) about you **only if you said yes** to "
            f"per-person wellbeing predictions, as recorded by {consent}. Without that yes, nothing about your "
            "burnout risk is stored or sent; you count only in team numbers.",
            f"Team numbers (eNPS, pulse answers, overtime, turnover, team burnout) only about groups of at least "
            f"{f.min_group_size} people; smaller teams are merged and shown as \"suppressed\".",
            "Alerts are suggestions for a person to review, never decisions. With your yes, an alert about you is "
            f"raised when your burnout risk reaches {f.burnout_threshold:.2f} in {f.burnout_confirm} scores in a "
            "row; it names you by pseudonym only. A team alert names nobody and needs at least "
            f"{f.team_burnout_min_flagged} people at risk in a group of at least {f.min_group_size}.",
        ]]
    return [[
        "The tone (sentiment: negative, neutral or positive) of every review, ticket and chat message you write.",
        "A churn risk (the probability that you stop being a customer) with its reasons in plain words.",
        f"Alerts are suggestions for a person to review, never decisions: a churn alert is raised when your churn "
        f"risk reaches {f.churn_threshold:.2f}"
        + (f" (if we also see how you use the product: when it has stayed at or above {f.churn_activity_hold[0]:.2f} "
           f"for {f.churn_activity_hold[1]:g} days)" if f.churn_activity_hold else "")
        + ", with its reasons; a sentiment alert is about a channel, product or team, never about one customer.",
    ]]


#: What each view the dashboards may read (``store_access.GRANTED``) shows, in plain words. A test fails
#: when a granted view has no description here, so the notice always lists every one.
VIEW_ABOUT = {
    "privacy_thresholds": "the small-group thresholds in force",
    "workforce_team_week": "weekly team numbers (eNPS, pulse answers, overtime, burnout), only for groups of at "
                           "least the minimum size",
    "workforce_company_week": "the same weekly numbers for the whole company",
    "workforce_metrics_daily": "daily team numbers, only for groups of at least the minimum size",
    "customer_metrics_daily": "daily customer numbers (reviews, ratings, tickets, churn)",
    "customer_sentiment_minute": "the tone of customers' messages per minute, channel and product, counted",
    "customer_events": "each customer's events without their text (ratings, tickets, plan), per customer id",
    "customer_churn_risk": "each customer's latest churn risk with its reasons, per customer id",
    "customer_churn_alerts": "churn alerts as sent, per customer id",
    "pipeline_dead_letters": "rejected input: why and when, without any of its values",
    "pipeline_events_stored": "when events of each kind were stored, nothing else",
    "pipeline_health": "counters per processing stage",
    "consumer_lag": "how far each processing stage is behind",
    "oversight_outcome_week": "per week and alert type: how many alerts were raised and what the people who got "
                              "them recorded (acted, not useful, wrong, already known), counted, naming nobody",
    "oversight_bias_audit": "the daily bias audit: the models' scores compared between groups of at least the "
                            "minimum size, naming nobody",
    "oversight_drift_events": "changes detected in the incoming data or a model's scores: means over many values, "
                              "never one person's",
}


def _who_sees(f: Facts, who: str) -> list[Block]:
    kinds = ("burnout",) if who == "employee" else ("churn", "sentiment")
    views = [f"`{v}`: {VIEW_ABOUT[v]}" for v in f.granted]
    per_person = (f"Of these only {_list(_code(v for v in f.granted if 'per customer id' in VIEW_ABOUT[v]))} "
                  "have a row per customer (by the id the company's systems use); none has a row per employee: "
                  f"numbers about employees are about at least {f.min_group_size} people "
                  f"({f.min_comment_group_size} for written comments), never one person.")
    items = [per_person]
    items += [f"Alerts on `{f.alert_topics[k]}` are read by {ALERT_READERS[k]}." for k in kinds]
    items.append("The operators who run pulsewire can read every table. Every copy of one person's data made "
                 "with `pulsewire export` is recorded (when, by which role and login, how many rows; the "
                 "person only as a keyed hash).")
    return ["Dashboards (Grafana and `pulsewire board`) read only these views, and no table:", views, items]


def _kept(f: Facts) -> list[Block]:
    blocks: list[Block] = ["In the database (each limit is enforced by the database itself):",
                           [f"{k.what}: {_days(k.days)} (`{k.where}`)" for k in f.kept],
                           "On the message bus (Kafka topics), then deleted:",
                           [f"{_days(d)}: {', '.join(_code(names))}" for d, names in f.topic_days]]
    return blocks


def _consent(f: Facts) -> list[Block]:
    sources = _list(_code(f.consent_sources)) if f.consent_sources else "no source (none is configured)"
    return [
        f"Your yes or no is taken only from {sources} (the HR system's wellbeing-consent field); a yes or no "
        "from anywhere else is ignored. No answer counts as no.",
        "To withdraw it, ask HR to set your wellbeing consent to no. When that reaches pulsewire, it deletes your "
        "stored burnout predictions, risk and training examples and stores no new ones. Alerts already sent stay "
        f"in the alert audit ({_days(f.audit_days)}) and with the HR system. Every change of your answer is "
        f"recorded (kept {_days(f.audit_days)}).",
    ]


def _rights(who: str) -> list[Block]:
    flag, asker = ("--employee", "HR") if who == "employee" else ("--customer", "the company")
    return [
        f"A copy of everything held about you: ask {asker}. They run `pulsewire export {flag} ID`, which gives "
        "every event (with its text while it is kept), score with its reasons, prediction, alert and what was "
        f"done about it, {'your consent history, ' if who == 'employee' else ''}earlier erasures and look-ups, "
        "as one JSON file. Other people in it (the "
        f"{'customers you answered' if who == 'employee' else 'employees who answered you'}) appear only as "
        "\"(another person)\", and texts they wrote are left out.",
        f"Erasure: ask {asker}. They run `pulsewire forget {flag} ID --by ROLE`, which removes your rows from every "
        "table and your state in the pipeline, and records that it was done without your id.",
    ]


def sections(f: Facts, audience: Audience) -> tuple[str, list[Section]]:
    """The notice for one audience: its title and sections."""
    who = "employee" if audience == "employees" else "customer"
    out: list[Section] = [("What is collected", _collected(f, who)),
                          ("What is inferred from it", _inferred(f, who)),
                          ("Who sees what", _who_sees(f, who)),
                          ("How long it is kept", _kept(f))]
    if who == "employee":
        out.append(("Consent, and how to withdraw it", _consent(f)))
    out.append(("Your data: a copy, or erasure", _rights(who)))
    when = f.generated_at.strftime("%Y-%m-%d %H:%M UTC") if f.generated_at else "now"
    out.append(("About this notice", [f"Generated by `pulsewire notice` from the configuration in force on {when}."]))
    title = f"Notice for {audience}: what pulsewire holds about you and why"
    return title, out


def _audiences(audience: str) -> tuple[Audience, ...]:
    if audience == "both":
        return AUDIENCES
    if audience not in AUDIENCES:
        raise ValueError(f"--audience is employees, customers or both, not {audience!r}")
    return (audience,)  # type: ignore[return-value]


def markdown(f: Facts, audience: str = "both") -> str:
    """The notice as Markdown."""
    lines: list[str] = []
    for a in _audiences(audience):
        title, secs = sections(f, a)
        lines += [f"# {title}", ""]
        for heading, blocks in secs:
            lines += [f"## {heading}", ""]
            for b in blocks:
                lines += ([f"- {item}" for item in b] if isinstance(b, list) else [b]) + [""]
    return "\n".join(lines).rstrip() + "\n"


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def _inline_html(text: str) -> str:
    """Escaped text with ``code`` and **strong** marked up.

    >>> _inline_html('`<b>` **"no"** & <i>')
    '<code>&lt;b&gt;</code> <strong>&quot;no&quot;</strong> &amp; &lt;i&gt;'
    """
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append(f"<code>{html.escape(m[1])}</code>" if m[1] is not None else f"<strong>{html.escape(m[2])}</strong>")
        pos = m.end()
    return "".join(out) + html.escape(text[pos:])


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
          "color:#1d1d1f}h1{font-size:1.5rem;margin-top:2.5rem}h2{font-size:1.15rem;margin-top:1.5rem}"
          "code{background:#f2f2f4;padding:0 .2em;border-radius:3px}li{margin:.2rem 0}")


def html_page(f: Facts, audience: str = "both") -> str:
    """The notice as one self-contained HTML page (no script, no external resource); every text escaped."""
    body: list[str] = []
    titles = []
    for a in _audiences(audience):
        title, secs = sections(f, a)
        titles.append(title)
        body.append(f'<section lang="en"><h1>{_inline_html(title)}</h1>')
        for heading, blocks in secs:
            body.append(f"<h2>{_inline_html(heading)}</h2>")
            for b in blocks:
                body.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b) + "</ul>"
                            if isinstance(b, list) else f"<p>{_inline_html(b)}</p>")
        body.append("</section>")
    head = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(titles[0] if len(titles) == 1 else 'Notice: what pulsewire holds and why')}</title>\n"
            f"<style>{_STYLE}</style>\n</head>\n<body>\n")
    return head + "\n".join(body) + "\n</body>\n</html>\n"
