from datetime import datetime, timezone

import pytest

from pulsewire.dashboards.macros import MacroError, TimeRange, auto_interval, expand

TR = TimeRange(datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc), datetime(2026, 11, 2, 12, 0, 0, 500000,
                                                                          tzinfo=timezone.utc), 300)


def test_expands_like_the_plugin():
    assert expand("$__fromTime $__toTime", TR) == "toDateTime(1793491200) toDateTime(1793620800)"
    assert expand("$__fromTime_ms", TR) == "fromUnixTimestamp64Milli(1793491200000)"
    assert expand("$__toTime_ms", TR) == "fromUnixTimestamp64Milli(1793620800500)"
    assert expand("$__timeFilter_ms(t)", TR) == ("t >= fromUnixTimestamp64Milli(1793491200000) AND "
                                                 "t <= fromUnixTimestamp64Milli(1793620800500)")
    assert expand("$__dt(d, t)", TR) == ("(d >= toDate('2026-11-01') AND d <= toDate('2026-11-02')) AND "
                                         "(t >= toDateTime(1793491200) AND t <= toDateTime(1793620800))")
    assert expand("$__timeInterval_ms(ts)", TR) == "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 300000 millisecond)"


def test_nested_arguments_and_strings():
    sql = "WHERE $__timeFilter(toDateTime(coalesce(a, b))) AND c = 'x,)'"
    assert expand(sql, TR) == ("WHERE toDateTime(coalesce(a, b)) >= toDateTime(1793491200) AND "
                               "toDateTime(coalesce(a, b)) <= toDateTime(1793620800) AND c = 'x,)'")


@pytest.mark.parametrize("bad", ["$__nope(x)", "$__timeFilter(a, b)", "$__timeFilter", "$__fromTime(x)",
                                 "$__timeFilter(a"])
def test_errors(bad):
    with pytest.raises(MacroError):
        expand(bad, TR)


def test_auto_interval_respects_min_interval():
    assert auto_interval(TR, max_points=100).interval_s == 1800
    assert auto_interval(TR, max_points=100, min_interval="1d").interval_s == 86400
