"""When a demo's simulated time starts: recent by default, the earlier run's with --keep."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from pulsewire.streams.connectors.generator import GeneratorConfig, recent_start
from pulsewire.streams.demo import demo_start

NOW = datetime(2027, 3, 10, 12, tzinfo=timezone.utc)


def test_a_new_demo_ends_in_the_week_before_now_on_the_generator_weekday(tmp_path):
    start = datetime.fromisoformat(demo_start(tmp_path, keep=False, now=NOW))
    end = start + timedelta(weeks=GeneratorConfig.weeks)
    assert NOW - timedelta(weeks=1) < end <= NOW
    assert start.weekday() == datetime.fromisoformat(GeneratorConfig.start).weekday()
    assert start.time() == datetime.fromisoformat(GeneratorConfig.start).time()


def test_keep_reuses_the_earlier_start_so_the_same_seed_sends_the_same_events(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"start": "2026-05-29T00:00:00+00:00"}))
    assert demo_start(tmp_path, keep=True, now=NOW) == "2026-05-29T00:00:00+00:00"
    assert demo_start(tmp_path, keep=False, now=NOW) == recent_start(NOW)


def test_keep_without_an_earlier_summary_starts_recent(tmp_path):
    assert demo_start(tmp_path, keep=True, now=NOW) == recent_start(NOW)
    (tmp_path / "summary.json").write_text("not json")
    assert demo_start(tmp_path, keep=True, now=NOW) == recent_start(NOW)
