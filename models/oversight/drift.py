"""Drift watch: River's Page-Hinkley test on the numbers the models see, one watcher per series.

Three kinds of series are watched (``Observation.watcher``):

* ``sentiment``: the sentiment score (-1..1) of customers' texts, per channel (``channel:email``);
* ``error``: a learner's absolute error ``|y - p|`` on each labelled example, ``p`` being the prediction
  the model made *before* it learned that label (prequential), per model (``churn``, ``burnout``);
* ``feature``: each numeric feature of a learner's labelled examples, per model and feature.

One ``Watcher`` per series. Its life:

1. **warm-up**: the first ``warmup`` values set the baseline (mean and standard deviation); no alarm. A
   warm-up without spread (standard deviation below ``scale_floor``: a constant, or a rare value not yet
   seen) goes on until it has some, so a baseline's scale is never a floor that makes a trivial change
   look like many standard deviations.
2. **armed**: each value, standardised against the baseline, goes to ``river.drift.PageHinkley``
   (two-sided; ``delta`` and ``threshold`` are in baseline standard deviations, so one set of parameters
   fits scores, errors and features alike).
3. **confirm**: when the test fires, the watcher places the change point where the values since the
   baseline began split best into two means (least squares; the split lies within the last ``window``
   values) and waits until at least ``min_count`` values lie after it. The change is reported only if the
   two means differ by at least ``min_effect`` standard deviations; otherwise it is dropped (also when no
   split has ``min_count`` values after it within ``window // 2`` values of the test firing).
4. after a report (or a dropped candidate) the watcher warms up again on the new normal: **one alarm per
   change**, and none until ``warmup`` new values have set the new baseline.

Times are on a monotone clock: each value is stamped with the latest event time the watcher has seen
(``max`` of the ``t`` given so far). Labelled examples do not arrive in event-time order (a label closes an
example whose prediction may be weeks old, and a batch is shuffled), so a raw time could place a change's
start after the value that confirmed it; on the monotone clock ``changed_since <= detected_at`` always.

Everything is plain JSON (``Watcher.snapshot``), so a worker keeps it in a changelog-backed table and a
restart resumes exactly. ``WatchGroup`` skips records at or below the newest offset it has taken from a
partition, so a batch replayed after a crash is not counted twice. (Events sent again under the same ids
never reach a watcher: the features agent drops them, and the learner learns an example once.)

>>> p = DetectorParams(warmup=50, min_count=20)
>>> w = Watcher.new(p)
>>> changes = [w.observe(0.5 + 0.1 * ((i * 7) % 5 - 2), t=float(i)) for i in range(300)]
>>> [c for c in changes if c]
[]
>>> found = [c for c in (w.observe(-0.6 + 0.1 * ((i * 7) % 5 - 2), t=300.0 + i) for i in range(100)) if c]
>>> c = found[0]
>>> c.direction, c.changed_since, round(c.before_mean, 2), round(c.after_mean, 2), c.after_count
('down', 300.0, 0.5, -0.6, 20)
>>> c.detected_at - c.changed_since < 40
True
>>> Watcher.restore(w.snapshot(), p).snapshot() == w.snapshot()
True
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from typing import Iterable

from river.drift import PageHinkley

WATCHERS = ("sentiment", "error", "feature")
DETECTOR = "river.drift.PageHinkley"


@dataclass(frozen=True)
class DetectorParams:
    """How a watcher decides. ``delta``, ``threshold`` and ``min_effect`` are in baseline standard deviations."""

    warmup: int = 100            # values that set the baseline before any alarm (again after each alarm)
    min_count: int = 30          # values after the change point before it is reported (PH's min_instances too)
    delta: float = 0.25          # Page-Hinkley tolerance: shifts smaller than this are not accumulated
    threshold: float = 40.0      # Page-Hinkley lambda: the accumulated evidence that fires the test
    alpha: float = 1 - 1e-4      # Page-Hinkley forgetting factor
    min_effect: float = 0.75     # |mean after - mean before| needed to report a fired test
    scale_floor: float = 0.01    # a warm-up whose standard deviation is below this goes on until it is not
    window: int = 256            # recent values kept to place the change point

    def detector(self) -> dict:
        """The parameters as a drift event reports them."""
        return {"name": DETECTOR, **asdict(self)}


@dataclass(frozen=True)
class Change:
    """One reported change of a series: where it began, when it was found, the means either side."""

    direction: str        # "up" or "down"
    changed_since: float  # monotone-clock time of the first value after the change point
    detected_at: float    # monotone-clock time of the value that completed the confirmation
    before_mean: float
    before_count: int
    after_mean: float
    after_count: int
    baseline_sd: float

    @property
    def effect_sd(self) -> float:
        return (self.after_mean - self.before_mean) / self.baseline_sd


_PH_FIELDS = ("_sum_increase", "_sum_decrease", "_min_increase", "_max_decrease")


def _ph(params: DetectorParams, state: dict | None = None) -> PageHinkley:
    ph = PageHinkley(min_instances=params.min_count, delta=params.delta, threshold=params.threshold,
                     alpha=params.alpha, mode="both")
    if state:
        for name in _PH_FIELDS:
            setattr(ph, name, _num_in(state[name]))
        ph._x_mean.n, ph._x_mean._mean = state["n"], state["mean"]
    return ph


def _ph_state(ph: PageHinkley) -> dict:
    return {**{name: _num_out(getattr(ph, name)) for name in _PH_FIELDS}, "n": ph._x_mean.n,
            "mean": ph._x_mean.get()}


def _num_out(x: float):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")  # JSON has no infinities


def _num_in(x) -> float:
    return float(x)


class Watcher:
    """One series under watch; ``observe`` each value in order, ``snapshot`` to keep it (plain JSON)."""

    def __init__(self, params: DetectorParams, state: dict):
        self.params, self.s = params, state
        self.ph = _ph(params, state.get("ph")) if state["phase"] == "armed" else None

    @classmethod
    def new(cls, params: DetectorParams) -> "Watcher":
        return cls(params, {"phase": "warmup", "n": 0, "sum": 0.0, "sumsq": 0.0, "mu": 0.0, "sd": 1.0,
                            "recent": [], "fired_n": None, "ignored": 0, "reports": 0, "clock": None})

    @classmethod
    def restore(cls, state: dict | None, params: DetectorParams) -> "Watcher":
        return cls.new(params) if not state else cls(params, {**state, "recent": [list(v) for v in state["recent"]]})

    def snapshot(self) -> dict:
        out = {**self.s, "recent": [list(v) for v in self.s["recent"]]}
        out["ph"] = _ph_state(self.ph) if self.ph is not None else None
        return out

    def observe(self, x: float, t: float) -> Change | None:
        """Take one value at event time ``t``; return the change it confirms, if any."""
        s, p = self.s, self.params
        x, t = float(x), float(t)
        if not math.isfinite(x):
            s["ignored"] += 1
            return None
        if s.get("clock") is not None:
            t = max(t, s["clock"])
        s["clock"] = t
        s["n"] += 1
        s["sum"] += x
        s["recent"].append([x, t])
        del s["recent"][:-p.window]
        if s["phase"] == "warmup":
            s["sumsq"] += x * x
            if s["n"] >= p.warmup and self._baseline()[1] >= p.scale_floor:
                self._arm()
            return None
        if s["phase"] == "armed":
            self.ph.update((x - s["mu"]) / s["sd"])
            if self.ph.drift_detected:
                s["phase"], s["fired_n"], self.ph = "confirm", s["n"], None
            return None
        return self._confirm(t)

    def _baseline(self) -> tuple[float, float]:
        s = self.s
        mu = s["sum"] / s["n"]
        var = max(0.0, s["sumsq"] / s["n"] - mu * mu) * s["n"] / max(1, s["n"] - 1)
        return mu, math.sqrt(var)

    def _arm(self) -> None:
        mu, sd = self._baseline()
        self.s.update(phase="armed", mu=mu, sd=sd, fired_n=None)
        self.ph = _ph(self.params)

    def change_point(self) -> tuple[int, float, float]:
        """Where the values seen since the baseline began split best into two means (least squares, the
        split restricted to the recent window): (values after the split, their sum, time of the first)."""
        s, recent = self.s, self.s["recent"]
        best, best_k, tail = -1.0, 0, 0.0
        n, total = s["n"], s["sum"]
        for k in range(1, len(recent) + 1):  # k values after the split: the last k of the window
            tail += recent[-k][0]
            n1 = n - k
            if n1 < 1:
                break
            gap = (total - tail) / n1 - tail / k
            stat = n1 * k / n * gap * gap
            if stat > best:
                best, best_k, best_tail = stat, k, tail
        return best_k, best_tail, recent[-best_k][1]

    def _confirm(self, t: float) -> Change | None:
        s, p = self.s, self.params
        after_n, after_sum, since = self.change_point()
        if after_n < p.min_count:
            if s["n"] - s["fired_n"] >= p.window // 2:  # no split settles: not a change in the mean
                self._rewarm()
            return None
        before_n = s["n"] - after_n
        before, after = (s["sum"] - after_sum) / before_n, after_sum / after_n
        change = Change(direction="up" if after > before else "down", changed_since=since, detected_at=t,
                        before_mean=before, before_count=before_n, after_mean=after, after_count=after_n,
                        baseline_sd=s["sd"])
        self._rewarm()
        if abs(change.effect_sd) < p.min_effect or before_n < p.min_count:
            return None
        s["reports"] += 1
        return change

    def _rewarm(self) -> None:
        self.s.update(phase="warmup", n=0, sum=0.0, sumsq=0.0, recent=[], fired_n=None)
        self.ph = None


# ---------------------------------------------------------------------------------------- what is watched
@dataclass(frozen=True)
class Observation:
    """One value for one series: ``name`` identifies the series within its group (``sentiment``,
    ``error``, ``feature:<name>``)."""

    name: str
    value: float
    t: float


def channel_observations(items: Iterable[dict]) -> list[Observation]:
    """The sentiment scores in a batch of a channel's metric contributions (``signals.metrics``).

    >>> channel_observations([{"k": "cs", "s": -0.5, "t": 10.0}, {"k": "csat", "v": 4, "t": 11.0}])
    [Observation(name='sentiment', value=-0.5, t=10.0)]
    """
    return [Observation("sentiment", float(i["s"]), float(i["t"])) for i in items
            if i.get("k") == "cs" and i.get("s") is not None and i.get("t") is not None]


#: Feature watchers ask for more: labelled examples come in bursts (renewals fall on the same days, a wave
#: of cancellations brings its own mix), so their features move more than a channel's scores do.
FEATURE_PARAMS = DetectorParams(warmup=200, min_count=60, threshold=60.0, min_effect=1.0)

#: Features that grow with the calendar by design (a young deployment's tenures rise every week): their
#: drift says nothing about the world or the model.
CLOCK_FEATURES = ("tenure_weeks", "days_since_renewal")


def example_observations(ex: dict) -> list[Observation]:
    """A labelled example's absolute error (of the prediction made before the label) and its numeric
    features (but ``CLOCK_FEATURES``), on the label's clock.

    >>> obs = example_observations({"y": 1, "p": 0.25, "labelled_at": 50.0,
    ...                             "x": {"tickets_7d": 3, "tenure_weeks": 9, "plan": "pro", "flag": True}})
    >>> [(o.name, o.value, o.t) for o in obs]
    [('error', 0.75, 50.0), ('feature:tickets_7d', 3.0, 50.0)]
    """
    t = float(ex["labelled_at"])
    out = [Observation("error", abs(float(ex["y"]) - float(ex["p"])), t)]
    for name, v in sorted((ex.get("x") or {}).items()):
        if name in CLOCK_FEATURES:
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)):
            out.append(Observation(f"feature:{name}", float(v), t))
    return out


class WatchGroup:
    """The watchers of one subject (a channel, a model) and the newest offset taken per partition.
    Feature watchers use ``FEATURE_PARAMS`` (see there), the others ``params``.

    >>> p = DetectorParams(warmup=5, min_count=5)
    >>> g = WatchGroup.restore(None, p)
    >>> g.feed("learn.churn", 0, 7, [Observation("error", 0.1, 1.0)])
    []
    >>> g.feed("learn.churn", 0, 7, [Observation("error", 0.1, 1.0)])  # the same record again: skipped
    []
    >>> g.snapshot()["watchers"]["error"]["n"], g.snapshot()["offsets"]
    (1, {'learn.churn/0': 7})
    >>> g.params_of("feature:tickets_7d") is FEATURE_PARAMS
    True
    """

    def __init__(self, params: DetectorParams, state: dict, feature_params: DetectorParams | None = None):
        self.params, self.feature_params = params, feature_params or FEATURE_PARAMS
        self.offsets: dict[str, int] = dict(state.get("offsets") or {})
        self.watchers = {name: Watcher.restore(st, self.params_of(name))
                         for name, st in (state.get("watchers") or {}).items()}

    @classmethod
    def restore(cls, state: dict | None, params: DetectorParams,
                feature_params: DetectorParams | None = None) -> "WatchGroup":
        return cls(params, state or {}, feature_params)

    def params_of(self, name: str) -> DetectorParams:
        return self.feature_params if name.startswith("feature:") else self.params

    def snapshot(self) -> dict:
        return {"offsets": dict(self.offsets), "watchers": {n: w.snapshot() for n, w in self.watchers.items()}}

    def feed(self, topic: str, partition: int, offset: int,
             observations: list[Observation]) -> list[tuple[str, Change]]:
        """Take one record's observations unless that record was taken before; return (series, change)."""
        where = f"{topic}/{partition}"
        if where in self.offsets and offset <= self.offsets[where]:
            return []
        self.offsets[where] = offset
        found = []
        for o in observations:
            w = self.watchers.get(o.name)
            if w is None:
                w = self.watchers[o.name] = Watcher.new(self.params_of(o.name))
            change = w.observe(o.value, o.t)
            if change is not None and reported(o.name, change):
                found.append((o.name, change))
        return found


def reported(name: str, change: Change) -> bool:
    """Whether a change is worth a drift event: every change, but a falling error (the learner getting better).

    >>> reported("error", Change("down", 1.0, 2.0, 0.4, 100, 0.2, 30, 0.1))
    False
    """
    return not (name == "error" and change.direction == "down")


def drift_event_id(watcher_key: str, change: Change) -> str:
    """One id per (series, change point): a replay or restart that finds the same change sends the same id.

    >>> c = Change("down", 100.0, 130.0, 0.5, 200, -0.6, 30, 0.2)
    >>> drift_event_id("sentiment/channel:email", c) == drift_event_id("sentiment/channel:email", c)
    True
    """
    point = f"drift|{watcher_key}|{change.direction}|{change.changed_since:.3f}"
    return hashlib.sha256(point.encode()).hexdigest()[:32]
