"""Episode precision and recall come with the interval a reader needs to judge them against a target."""

from pulsewire.models.learners.evaluation import DAY, episode_figures, format_table, wilson

END = 200 * DAY


def figures(n_alerted: int, n_true: int, n_positives: int) -> dict:
    """``n_alerted`` customers alerted on day 10, the first ``n_true`` of them cancel on day 30; the other
    positives cancel on day 30 unalerted."""
    alerts = {f"c{i}": [10 * DAY] for i in range(n_alerted)}
    positives = {f"c{i}": 30 * DAY for i in range(n_true)}
    positives.update({f"p{i}": 30 * DAY for i in range(n_positives - n_true)})
    entities = set(alerts) | set(positives)
    return episode_figures(alerts, positives, entities, END, warm_t=0.0)


def test_intervals_bracket_the_figures_and_narrow_with_more_customers():
    small, large = figures(10, 6, 10), figures(100, 60, 100)
    assert small["precision"] == large["precision"] == 0.6
    for f in (small, large):
        lo, hi = f["precision_interval"]
        assert lo < f["precision"] < hi
        lo, hi = f["recall_interval"]
        assert lo < f["recall"] < hi
    width = lambda iv: iv[1] - iv[0]  # noqa: E731
    assert width(small["precision_interval"]) > 2 * width(large["precision_interval"])
    # ten alerts cannot tell 0.6 from a coin, a hundred can
    assert small["precision_interval"][0] < 0.5 < large["precision_interval"][0]


def test_no_judged_alert_no_interval():
    f = figures(0, 0, 5)
    assert f["precision"] is None and f["precision_interval"] is None
    assert f["recall"] == 0.0 and f["recall_interval"] == wilson(0, 5)


def test_evaluate_table_prints_the_intervals_and_their_counts():
    model = figures(10, 6, 10)
    fig = {"churn": {"model": model, "baseline": model, "examples": 1, "positive_examples": 1, "entities": 10,
                     "warm_at_day": 0.0}}
    line = next(x for x in format_table(fig).splitlines() if x.startswith("churn: 95% intervals"))
    lo, hi = model["precision_interval"]
    assert f"precision {lo:.2f}-{hi:.2f} (10 judged alerts)" in line
    assert "(10 positive episodes)" in line
