"""Retention: every table in the store has a TTL (or is kept for a stated reason), the defaults of
migration 0044 are the settings' defaults, and only the worker changes a TTL."""

from __future__ import annotations

import subprocess
import sys

from pulsewire.streams.retention import KEPT, TABLES, apply, current_ttl, days_from_settings
from pulsewire.streams.settings import Settings

from .test_cli_user_errors import pulsewire


def _stored_tables(store) -> list[str]:
    rows = store.query("SELECT name FROM system.tables WHERE database = currentDatabase() "
                       "AND engine NOT IN ('View', 'MaterializedView') AND NOT is_temporary").result_rows
    return sorted(r[0] for r in rows if not r[0].startswith(".inner"))


def test_every_table_has_a_ttl_or_is_kept_for_a_reason(store):
    declared = {r.table for r in TABLES}
    missing = []
    for table in _stored_tables(store):
        if table in KEPT:
            continue
        create = store.client.command(f"SHOW CREATE TABLE {table}")
        if table not in declared:
            missing.append(f"{table}: not declared in streams/retention.py (TABLES or KEPT)")
        elif "\\nTTL " not in create and "\nTTL " not in create:
            missing.append(f"{table}: no TTL")
    assert missing == []


def test_migrated_store_has_the_default_ttls_and_the_worker_changes_only_what_differs(store):
    """0044's days are the settings' defaults, so a store migrated without settings matches a worker's."""
    defaults = days_from_settings(Settings())
    assert apply(store.client, defaults) == []  # 0044 already set exactly these
    for r in TABLES:
        want = r.ttl(r.days if r.setting is None else defaults[r.setting])
        assert current_ttl(store.client.command(f"SHOW CREATE TABLE {r.table}"), r) == want, r.table


WORKER_OPEN = """
import sys
from pulsewire.streams.app import Resources
from pulsewire.streams.settings import Settings
# the store as the worker opens it, with an operator's retention settings
Resources(Settings(store_url=sys.argv[1], raw_text_ttl_days=30, predictions_ttl_days=20)).store.close()
"""
READ_TTLS = """
import sys
from pulsewire.streams.store import open_store
s = open_store(sys.argv[1], read_only=True)
for t in ("events_scored", "predictions", "risk_latest"):
    print(t, s.client.command(f"SHOW CREATE TABLE {t}"))
"""


def test_worker_set_ttls_survive_read_only_commands_and_other_writers(tmp_path):
    root = tmp_path / "demo" / "clickhouse"
    url = f"chdb://{root}"
    subprocess.run([sys.executable, "-c", WORKER_OPEN, url], check=True, timeout=120)
    # summary and board without the settings; then a writer that does not know them (demo's read-back, evaluate)
    assert pulsewire("summary", "--data-dir", "demo", cwd=tmp_path).returncode == 0
    assert pulsewire("board", "--data-dir", "demo", "-o", "b.html", cwd=tmp_path).returncode == 0
    subprocess.run([sys.executable, "-c", "import sys; from pulsewire.streams.store import open_store\n"
                    "open_store(sys.argv[1]).close()", url], check=True, timeout=120)
    other = ("import sys; from pulsewire.streams.settings import Settings\n"
             "from pulsewire.streams.store import open_from_settings\n"
             "open_from_settings(Settings(store_url=sys.argv[1])).close()")  # a writing command, default settings
    subprocess.run([sys.executable, "-c", other, url], check=True, timeout=120)
    out = subprocess.run([sys.executable, "-c", READ_TTLS, url], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    ttls = {line.split(" ", 1)[0]: line for line in out.splitlines() if line.split(" ", 1)[0] in
            ("events_scored", "predictions", "risk_latest")}
    text_rule = next(r for r in TABLES if r.column == "text")
    assert current_ttl(ttls["events_scored"], text_rule) == "toDateTime(occurred_at) + toIntervalDay(30)"
    assert "toDateTime(stored_at) + toIntervalDay(20)" in ttls["predictions"]
    assert "toDateTime(stored_at) + toIntervalDay(20)" in ttls["risk_latest"]


def test_privacy_doc_lists_every_table_topic_and_setting():
    """docs/privacy.md's retention section names every declared table, every topic and every setting."""
    import re
    from pathlib import Path

    from pulsewire.streams.topics import ALL_TOPICS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "privacy.md").read_text()
    section = doc[doc.index("## Retention"):]
    section = section[:section.index("\n## ", 1)]
    names = {r.table for r in TABLES} | set(KEPT) | {t.name for t in ALL_TOPICS}
    missing = sorted(n for n in names if f"`{n}`" not in section)
    settings = sorted({f"PULSEWIRE_{r.setting.upper()}" for r in TABLES if r.setting})
    missing += [s for s in settings if s not in section]
    assert missing == []
    for r in TABLES:  # the days the table states are the defaults
        if r.setting:
            row = next(line for line in section.splitlines() if f"`{r.table}`" in line and
                       f"PULSEWIRE_{r.setting.upper()}" in line)
            assert re.search(rf"\b{Settings.model_fields[r.setting].default} days\b", row), row


def test_rows_count_from_when_they_were_stored(store):
    """An event that happened long ago (a backfill) is kept for the full time from its arrival: the
    per-minute aggregate the materialized view writes gets the time it was stored."""
    import uuid
    from datetime import datetime, timedelta, timezone

    from pulsewire.streams.rows import scored_row

    from .test_store import scored

    eid = f"old-{uuid.uuid4().hex}"
    row = scored_row(scored(eid, text="long ago"))
    row["occurred_at"] = datetime.now(timezone.utc) - timedelta(days=3 * 365)
    row["team_id"] = eid  # a group of its own in sentiment_minute
    store.insert_rows("events_scored", [row])
    store.command("OPTIMIZE TABLE events_scored FINAL")
    store.command("OPTIMIZE TABLE sentiment_minute FINAL")
    assert store.query("SELECT count() FROM events_scored WHERE event_id = {e:String}", {"e": eid}).result_rows == [(1,)]
    age = store.query("SELECT dateDiff('second', max(stored_at), now()) FROM sentiment_minute WHERE team_id = {e:String}",
                      {"e": eid}).result_rows  # ClickHouse's clock: the one its TTLs use
    assert 0 <= age[0][0] < 600
