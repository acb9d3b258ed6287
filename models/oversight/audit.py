"""Bias audit of the churn and burnout alerts: per group of an attribute, how the alerts fall.

The unit is a person (a customer for churn, an employee pseudonym for burnout): one
:class:`Subject` per person with a prediction in the audited window, carrying the groups they belong
to, whether any of their predictions raised an alert, their mean and highest predicted risk, their
label where one is known (``learn_examples``: 1 when any of their examples was positive) and the
outcomes people reported for their alerts. Subjects never leave this module: only group aggregates do.

Measures, and which group is the *best-treated* (the reference of every ratio):

============== ====================================================== ===========
measure        what                                                   best group
============== ====================================================== ===========
alert_rate     share of the group's people with at least one alert    lowest
mean_risk      mean of the people's mean predicted risk               lowest
fpr            share alerted among the people whose label is 0        lowest
precision      share with label 1 among the alerted, labelled people  highest
recall         share alerted among the people whose label is 1        highest
auc            ROC AUC of the highest risk against the label          highest
judged_useful  share of judged alerts marked acted or already_known   highest
============== ====================================================== ===========

An alert is a burden (a call, an HR conversation): following the four-fifths convention the group
alerted least is the reference and each group's ratio is ``reference / group``; for the quality
measures the group served best is the reference and the ratio is ``group / reference``. So every
ratio is at most 1, and 1 is the reference. A ratio below 0.8 breaks the four-fifths rule
(``four_fifths``); a group is **flagged** only when the upper end of the confidence interval of its
ratio is below 0.8, so a small difference between small groups is not read as bias. One audit makes
many comparisons (groups × attributes × measures × models), and at 95% each, about one in twenty
fair groups would cross the line by chance; so the flag uses a family-wise level (Bonferroni): with
``m`` ratios tested, each interval for the flag is taken at ``1 - 0.05 / m`` (``flag_hi``, its upper
end), so that the chance of any false flag in the whole audit stays about 5% at most. The intervals
shown (``ratio_lo`` .. ``ratio_hi``) stay 95%. Tested are the ratios that could raise a flag: not
the reference's, not mean risk's, not those of a measure cleared by a labelled one (below). Mean risk is
never flagged: it is a score, not a decision, and it moves with base rates and with how long a
person has been observed; its ratio is shown to help read the other measures. Alert rate and
precision are flagged only for a group without a labelled comparison (no ``fpr`` and no ``recall``
ratio): both move with the base rate at equal error rates (a group that churns more rightly gets more
alerts, one that churns less has a lower precision), so where labels exist the measures conditional on
the truth, fpr and recall, carry the alarm; the ratio and its ``four_fifths`` mark stay.
Intervals: Wilson for rates, the mean ± 1.96 standard errors for mean risk, Hanley-McNeil for AUC;
for ratios Katz's log method (rates; 0.5 added to both counts when one is 0) or the delta method on
the log (mean risk, AUC).

Small groups: a group with fewer than ``min_group`` distinct people is not reported (its people are
merged into one ``(suppressed)`` row without numbers), and when the merged people number 1 to
``min_group - 1`` the smallest reported group is merged too, so nothing subtracts down to a group
below the threshold. A measure is reported only with at least ``min_group`` people in its
denominator (and, for AUC, in each class). These rules apply to customer groups too.

>>> people = [Subject({"plan": "a"}, alerted=i < 3, risk=0.2, score=0.2, label=0) for i in range(20)]
>>> people += [Subject({"plan": "b"}, alerted=i < 12, risk=0.6, score=0.6, label=0) for i in range(20)]
>>> rows = audit_model("churn", people, ("plan",), min_group=5)
>>> [(r.group, round(r.value, 2), round(r.ratio, 2), r.four_fifths, r.flagged) for r in rows if r.measure == "fpr"]
[('a', 0.15, 1.0, False, False), ('b', 0.6, 0.25, True, True)]
>>> [(r.group, round(r.ratio, 2), r.four_fifths, r.flagged) for r in rows if r.measure == "alert_rate"]
[('a', 1.0, False, False), ('b', 0.25, True, False)]
>>> unlabelled = [Subject(s.groups, s.alerted, s.risk, s.score) for s in people]
>>> flagged(audit_model("churn", unlabelled, ("plan",), min_group=5))
[('churn', 'plan', 'b', 'alert_rate')]

The family-wise level: with one ratio tested the flag's interval is the 95% one, with twenty ratios
each is taken at 99.75%:

>>> [round(family_z(m), 2) for m in (1, 20)]
[1.96, 3.02]
"""

from __future__ import annotations

import math
from statistics import NormalDist
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping, Sequence

from pulsewire.models.learners.evaluation import rank_auc

Z95 = 1.959963984540054
#: Family-wise error level of the flags: the chance that a fair audit flags any group at all.
ALPHA = 0.05
FOUR_FIFTHS = 0.8
UNKNOWN = "(unknown)"
SUPPRESSED = "(suppressed)"
#: Attributes audited for every deployment; connectors add theirs (``Connector.auditable_fields``).
ATTRIBUTES = {"churn": ("plan", "channel", "tenure"), "burnout": ("team", "channel", "tenure")}
#: Human outcomes that say the alert was right (``alert_outcomes.outcome``).
USEFUL_OUTCOMES = ("acted", "already_known")
JUDGED_OUTCOMES = ("acted", "not_useful", "wrong", "already_known")


@dataclass(frozen=True)
class Measure:
    name: str
    best: str  # "lowest" | "highest"
    what: str
    flags: bool = True  # False: ratio shown for reading, never flagged
    #: flagged only for a group with none of these ratios: they judge it given the truth (labels)
    unless_judged_by: tuple[str, ...] = ()


MEASURES: tuple[Measure, ...] = (
    Measure("alert_rate", "lowest", "share of the group's people with at least one alert (flagged only where no "
            "fpr or recall ratio judges the group: base rates differ)", unless_judged_by=("fpr", "recall")),
    Measure("mean_risk", "lowest", "mean predicted risk (not flagged: a score, not a decision)", flags=False),
    Measure("fpr", "lowest", "share alerted among people whose label is 0 (alerts at no churn / burnout)"),
    Measure("precision", "highest", "share with label 1 among the alerted people with a label (flagged only "
            "where no fpr or recall ratio judges the group: base rates differ)", unless_judged_by=("fpr", "recall")),
    Measure("recall", "highest", "share alerted among the people whose label is 1"),
    Measure("auc", "highest", "ROC AUC of the person's highest risk against the label"),
    Measure("judged_useful", "highest", "share of judged alerts marked acted or already_known"),
)
BY_NAME = {m.name: m for m in MEASURES}


@dataclass(frozen=True)
class Subject:
    groups: Mapping[str, str]
    alerted: bool
    risk: float
    score: float
    label: int | None = None
    outcomes: tuple[str, ...] = ()


@dataclass
class Estimate:
    value: float | None = None
    lo: float | None = None
    hi: float | None = None
    n: int = 0          # people in the denominator
    k: float = 0.0      # successes (rates) or the sum (means)
    sd: float = 0.0     # standard error of the value (means, AUC)


@dataclass
class AuditRow:
    model: str
    attribute: str
    group: str
    measure: str
    state: str                   # shown | suppressed (group or denominator below min_group)
    people: int | None = None    # distinct people in the group (None when suppressed)
    n: int | None = None         # people (judged alerts for judged_useful) in the measure's denominator
    value: float | None = None
    lo: float | None = None
    hi: float | None = None
    reference: str = ""          # the best-treated group for this measure
    ratio: float | None = None
    ratio_lo: float | None = None
    ratio_hi: float | None = None
    four_fifths: bool = False    # ratio < 0.8
    tested: bool = False         # a ratio that can raise a flag: counted in the family of comparisons
    flag_hi: float | None = None  # upper end of the ratio's interval at the family-wise level
    flagged: bool = False        # flag_hi < 0.8
    groups: int = 1              # groups merged into a (suppressed) row
    _est: Estimate | None = field(default=None, repr=False, compare=False)
    _ref: Estimate | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("_est")
        d.pop("_ref")
        return d


@dataclass(frozen=True)
class Family:
    """How the flags were corrected for the number of comparisons in one audit."""
    comparisons: int             # ratios tested (``AuditRow.tested``)
    z: float                     # the flag's interval: ratio × exp(± z × standard error of its log)
    alpha: float = ALPHA         # family-wise level: each ratio is tested at alpha / comparisons
    method: str = "bonferroni"


# ------------------------------------------------------------------------------------------ statistics
def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``.

    >>> [round(x, 3) for x in wilson(3, 20)]
    [0.052, 0.36]
    >>> wilson(0, 10)[0], round(wilson(0, 10)[1], 3)
    (0.0, 0.278)
    """
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def katz_ratio(k1: float, n1: int, k2: float, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """Ratio of two proportions ``(k1/n1) / (k2/n2)`` and Katz's log interval; when a count is 0, 0.5 is
    added to both counts and both sizes (for the ratio too, so it lies inside its interval); two zero
    rates are equal (ratio 1).

    >>> [round(x, 3) for x in katz_ratio(3, 20, 12, 20)]
    [0.25, 0.083, 0.753]
    >>> [round(x, 3) for x in katz_ratio(9, 60, 6, 30)]
    [0.75, 0.294, 1.911]
    >>> [round(x, 2) for x in katz_ratio(0, 20, 3, 20)]
    [0.14, 0.01, 2.59]
    >>> [round(x, 2) for x in katz_ratio(0, 7, 0, 9)]
    [1.0, 0.03, 56.69]
    """
    if k1 == 0 and k2 == 0:
        return 1.0, *katz_ratio(0.5, n1 + 0.5, 0.5, n2 + 0.5, z)[1:]
    if k1 == 0 or k2 == 0:
        k1, n1, k2, n2 = k1 + 0.5, n1 + 0.5, k2 + 0.5, n2 + 0.5
    log_r = math.log((k1 / n1) / (k2 / n2))
    se = math.sqrt(max(0.0, 1 / k1 - 1 / n1 + 1 / k2 - 1 / n2))
    return math.exp(log_r), math.exp(log_r - z * se), math.exp(log_r + z * se)


def log_ratio(v1: float, se1: float, v2: float, se2: float, z: float = Z95) -> tuple[float, float, float] | None:
    """``v1 / v2`` with a delta-method interval on the log; None when a value is not positive.

    >>> [round(x, 3) for x in log_ratio(0.2, 0.02, 0.4, 0.03)]
    [0.5, 0.391, 0.639]
    """
    if v1 <= 0 or v2 <= 0:
        return None
    se = math.sqrt((se1 / v1) ** 2 + (se2 / v2) ** 2)
    r = v1 / v2
    return r, r * math.exp(-z * se), r * math.exp(z * se)


def auc_hanley_mcneil(scores_pos: Sequence[float], scores_neg: Sequence[float]) -> tuple[float, float]:
    """ROC AUC (ties count half) and its Hanley-McNeil standard error.

    >>> a, se = auc_hanley_mcneil([0.9, 0.8, 0.4], [0.1, 0.5, 0.3, 0.2])
    >>> round(a, 3), round(se, 3)
    (0.917, 0.128)
    """
    n1, n0 = len(scores_pos), len(scores_neg)
    a = rank_auc(list(scores_pos), list(scores_neg))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    return a, math.sqrt(max(var, 0.0))


# ------------------------------------------------------------------------------------------ per group
def estimate(measure: str, people: Sequence[Subject], min_group: int) -> Estimate | None:
    """The measure over one group's people; None when fewer than ``min_group`` people are behind it.

    >>> g = [Subject({}, alerted=i < 4, risk=0.5, score=0.1 * i, label=int(i < 5)) for i in range(10)]
    >>> e = estimate("recall", g, 5); (e.value, e.n)
    (0.8, 5)
    >>> estimate("precision", g, 5) is None   # 4 alerted people: below the threshold
    True
    """
    if measure == "alert_rate":
        n, k = len(people), sum(1 for s in people if s.alerted)
    elif measure == "fpr":
        neg = [s for s in people if s.label == 0]
        n, k = len(neg), sum(1 for s in neg if s.alerted)
    elif measure == "precision":
        hit = [s for s in people if s.alerted and s.label is not None]
        n, k = len(hit), sum(1 for s in hit if s.label == 1)
    elif measure == "recall":
        pos = [s for s in people if s.label == 1]
        n, k = len(pos), sum(1 for s in pos if s.alerted)
    elif measure == "judged_useful":
        judged = [o for s in people for o in s.outcomes if o in JUDGED_OUTCOMES]
        if sum(1 for s in people if any(o in JUDGED_OUTCOMES for o in s.outcomes)) < min_group:
            return None
        n, k = len(judged), sum(1 for o in judged if o in USEFUL_OUTCOMES)
    elif measure == "mean_risk":
        n = len(people)
        if n < min_group:
            return None
        mean = sum(s.risk for s in people) / n
        sd = math.sqrt(sum((s.risk - mean) ** 2 for s in people) / max(n - 1, 1)) / math.sqrt(n)
        return Estimate(mean, max(0.0, mean - Z95 * sd), min(1.0, mean + Z95 * sd), n, mean * n, sd)
    elif measure == "auc":
        pos = [s.score for s in people if s.label == 1]
        neg = [s.score for s in people if s.label == 0]
        if len(pos) < min_group or len(neg) < min_group:
            return None
        a, se = auc_hanley_mcneil(pos, neg)
        return Estimate(a, max(0.0, a - Z95 * se), min(1.0, a + Z95 * se), len(pos) + len(neg), a, se)
    else:
        raise ValueError(f"unknown measure {measure!r}")
    if n == 0 or (measure != "judged_useful" and n < min_group):
        return None
    lo, hi = wilson(k, n)
    return Estimate(k / n, lo, hi, n, k)


def ratio_to(measure: Measure, ref: Estimate, est: Estimate, z: float = Z95) -> tuple[float, float, float] | None:
    """The group's ratio to the reference (at most 1 at the point estimate) and its interval (95% by default)."""
    num, den = (ref, est) if measure.best == "lowest" else (est, ref)
    if measure.name in ("mean_risk", "auc"):
        if num.value == den.value:
            return 1.0, 1.0, 1.0
        return log_ratio(num.value, num.sd, den.value, den.sd, z)
    return katz_ratio(num.k, num.n, den.k, den.n, z)


def family_z(comparisons: int, alpha: float = ALPHA) -> float:
    """z of the two-sided interval at level ``1 - alpha / comparisons`` (Bonferroni)."""
    return NormalDist().inv_cdf(1 - alpha / (2 * max(comparisons, 1)))


def suppress(sizes: Mapping[str, int], min_group: int) -> set[str]:
    """The groups to report: at least ``min_group`` people, and when the hidden people number 1 to
    ``min_group - 1``, not the smallest of the others (complementary suppression).

    >>> sorted(suppress({"a": 40, "b": 7, "c": 2}, 5))
    ['a']
    >>> sorted(suppress({"a": 40, "b": 7, "c": 6}, 5))
    ['a', 'b', 'c']
    >>> sorted(suppress({"a": 40, "b": 7, "c": 2, "d": 3}, 5))
    ['a', 'b']
    """
    shown = {g for g, n in sizes.items() if n >= min_group}
    hidden = sum(n for g, n in sizes.items() if g not in shown)
    if 0 < hidden < min_group and shown:
        shown.discard(min(shown, key=lambda g: (sizes[g], g)))
    return shown


def audit_model(model: str, subjects: Iterable[Subject], attributes: Sequence[str], min_group: int,
                measures: Sequence[str] | None = None) -> list[AuditRow]:
    """One row per attribute, reported group (plus one ``(suppressed)`` row where groups were hidden) and
    measure, with the ratio to the best-treated group and the flags."""
    subjects = list(subjects)
    names = list(measures or BY_NAME)
    rows: list[AuditRow] = []
    for attribute in attributes:
        by_group: dict[str, list[Subject]] = defaultdict(list)
        for s in subjects:
            by_group[s.groups.get(attribute) or UNKNOWN].append(s)
        if not by_group:
            continue
        shown = suppress({g: len(p) for g, p in by_group.items()}, min_group)
        hidden = sorted(set(by_group) - shown)
        for name in names:
            measure = BY_NAME[name]
            ests = {g: estimate(name, by_group[g], min_group) for g in sorted(shown)}
            valid = {g: e for g, e in ests.items() if e is not None}
            ref = None
            if len(valid) >= 2:
                sign = 1 if measure.best == "lowest" else -1
                ref = min(valid, key=lambda g: (sign * valid[g].value, -len(by_group[g]), g))
            for g, e in ests.items():
                row = AuditRow(model, attribute, g, name, "shown" if e else "suppressed", people=len(by_group[g]))
                if e:
                    row.n, row.value, row.lo, row.hi, row._est = e.n, e.value, e.lo, e.hi, e
                if e and ref:
                    row.reference = ref
                    r = (1.0, 1.0, 1.0) if g == ref else ratio_to(measure, valid[ref], e)
                    if r:
                        row.ratio, row.ratio_lo, row.ratio_hi = r
                        row.four_fifths = r[0] < FOUR_FIFTHS
                        row.tested = measure.flags and g != ref
                        row._ref = valid[ref]
                rows.append(row)
            if hidden:
                rows.append(AuditRow(model, attribute, SUPPRESSED, name, "suppressed", groups=len(hidden)))
    _untest_judged(rows)
    correct_flags(rows)
    return rows


def _untest_judged(rows: list[AuditRow]) -> None:
    """A measure whose group has a ratio on one of the measures that judge it given the labels
    (``Measure.unless_judged_by``) is not tested: those carry the alarm; the ratio and ``four_fifths`` stay."""
    judged = {(r.model, r.attribute, r.group, r.measure) for r in rows if r.ratio is not None}
    for r in rows:
        by = BY_NAME[r.measure].unless_judged_by
        if r.tested and any((r.model, r.attribute, r.group, m) in judged for m in by):
            r.tested = False


def correct_flags(rows: Sequence[AuditRow], alpha: float = ALPHA) -> Family:
    """Flag the tested rows whose ratio stays below 0.8 at the family-wise level over all ``rows`` (one
    audit: pass every model's rows together), and say how.

    >>> a = [Subject({"plan": "a"}, alerted=i < 2, risk=0.2, score=0.2, label=0) for i in range(60)]
    >>> b = [Subject({"plan": "b"}, alerted=i < 12, risk=0.2, score=0.2, label=0) for i in range(60)]
    >>> rows = audit_model("churn", a + b, ("plan",), min_group=5, measures=["fpr"])
    >>> fpr = rows[1]; round(fpr.ratio_hi, 2), round(fpr.flag_hi, 2), fpr.flagged   # alone: the 95% interval
    (0.71, 0.71, True)
    >>> correct_flags(rows, alpha=0.05 / 20)    # as if 20 ratios were tested: each at 99.75%
    Family(comparisons=1, z=3.02..., alpha=0.0025, method='bonferroni')
    >>> round(fpr.ratio_hi, 2), round(fpr.flag_hi, 2), fpr.flagged
    (0.71, 1.57, False)
    """
    tested = [r for r in rows if r.tested]
    family = Family(len(tested), family_z(len(tested), alpha), alpha)
    for r in rows:
        r.flag_hi, r.flagged = None, False
        if r.tested:
            r.flag_hi = ratio_to(BY_NAME[r.measure], r._ref, r._est, family.z)[2]
            r.flagged = r.flag_hi < FOUR_FIFTHS
    return family


def flagged(rows: Iterable[AuditRow]) -> list[tuple[str, str, str, str]]:
    """(model, attribute, group, measure) of every flagged row."""
    return [(r.model, r.attribute, r.group, r.measure) for r in rows if r.flagged]


def tenure_band(days: float | None) -> str:
    """The tenure band of a person ``days`` after their signup or hire.

    >>> [tenure_band(d) for d in (10, 120, 400, 2000, None)]
    ['< 3 months', '3-12 months', '1-3 years', '3+ years', '(unknown)']
    """
    if days is None:
        return UNKNOWN
    return "< 3 months" if days < 91 else "3-12 months" if days < 365 else "1-3 years" if days < 3 * 365 else "3+ years"
