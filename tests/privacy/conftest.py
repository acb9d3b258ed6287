"""One canary run per broker: every built-in connector feeds one namespace, one real worker processes it,
then everything the deployment keeps is collected for the checks in ``test_canaries.py``.

A second, smaller run (HR sources only, into its own namespace and store) uses another pseudonym key,
so the checks can compare the ids of the same HR records under two keys. The two workers run at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pulsewire.streams.progress import ProgressReader
from pulsewire.streams.sdk.runtime import run as run_connector
from pulsewire.streams.topics import GROUP_TOPICS

from ..integration.conftest import Pipeline
from . import canaries

OTHER_KEY = "another-test-key-" + "fedcba9876543210" * 2

#: Every table of the store, every column as a String (the store is read from a subprocess: the
#: worker's chDB store belongs to one process at a time). Views are left out: they hold no data of
#: their own, and whatever they show is read from the tables scanned here (a materialized view's
#: rows live in its target table, which system.tables lists too).
DUMP_STORE = """
import json, sys
from pulsewire.streams.store import open_store
out = {}
with open_store(sys.argv[1]) as s:
    tables = s.query_dicts("SELECT database, name, engine FROM system.tables WHERE database NOT IN "
                           "('system', 'information_schema', 'INFORMATION_SCHEMA') AND NOT is_temporary")
    for t in tables:
        name = f"{t['database']}.{t['name']}"
        if t["engine"] in ("View", "MaterializedView", "LiveView", "WindowView"):
            out[name] = {"engine": t["engine"], "skipped": "view"}
            continue
        cols = [c["name"] for c in s.query_dicts(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} ORDER BY position",
            {"d": t["database"], "t": t["name"]})]
        source = f"`{t['database']}`.`{t['name']}`"
        def read(exprs):
            return s.query_dicts(f"SELECT {', '.join(f'{e} AS `{c}`' for c, e in exprs.items())} FROM {source}")
        try:
            rows = read({c: f"toString(`{c}`)" for c in cols})
        except Exception:  # e.g. an aggregate state: read it finalized, one column at a time
            rows, errors = [], []
            for c in cols:
                for expr in (f"toString(`{c}`)", f"toString(finalizeAggregation(`{c}`))"):
                    try:
                        got = read({c: expr})
                        break
                    except Exception as exc:
                        got, err = None, f"{c}: {type(exc).__name__}: {str(exc)[:200]}"
                if got is None:
                    errors.append(err)
                    continue
                rows = rows or [{} for _ in got]  # rows need not line up: each value is searched alone
                for r, g in zip(rows, got):
                    r.update(g)
            if errors:
                out[name] = {"engine": t["engine"], "error": "; ".join(errors)}
                continue
        out[name] = {"engine": t["engine"], "columns": cols,
                     "rows": [{k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
                               for k, v in r.items()} for r in rows]}
print(json.dumps(out))
"""


@dataclass
class Record:
    topic: str
    key: str
    value: str
    headers: str


@dataclass
class CanaryRun:
    broker: str
    group: str
    stats: dict[str, dict] = field(default_factory=dict)    # connector instance -> counts
    webhook_status: list[tuple[str, int, int]] = field(default_factory=list)  # (route, expected, got)
    tables: dict[str, dict] = field(default_factory=dict)   # "db.table" -> {"columns", "rows"} | {"skipped"|"error"}
    topics: dict[str, list[Record]] = field(default_factory=dict)  # logical name (or changelog) -> records
    worker_log: str = ""
    board_html: str = ""
    board_stderr: str = ""
    hr_ids: dict[str, list[str]] = field(default_factory=dict)  # "key" / "other key" -> HR event ids stored


def _file_connectors(src: canaries.Sources, hr_only: bool = False):
    from pulsewire.streams.connectors.files import Files
    from pulsewire.streams.connectors.hr import Hris, PulseSurvey
    from pulsewire.streams.connectors.simulated import Simulated

    made = [Files(src.files_csv()), Hris(src.hris_employees()), Hris(src.hris_overtime()),
            PulseSurvey(src.pulse()), Simulated(src.generator())]
    if not hr_only:
        made.insert(1, Files(src.files_jsonl()))
    return made


def _run_webhook(bootstrap: str, topics, src: canaries.Sources) -> tuple[dict, list[tuple[str, int, int]]]:
    """The webhook connector on the real runtime, with every route signed as its provider signs."""
    from pulsewire.streams.connectors.webhook import Webhook, sign

    secrets = {env: f"secret-{uuid.uuid4().hex}" for env in canaries.WEBHOOK_SECRETS.values()}
    os.environ.update(secrets)
    try:
        hook, stop, result = Webhook(canaries.webhook_config()), threading.Event(), {}
        th = threading.Thread(target=lambda: result.update(stats=run_connector(hook, bootstrap, topics=topics,
                                                                               stop=stop)), daemon=True)
        th.start()
        deadline = time.monotonic() + 30
        while hook.port is None and th.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hook.port, "the webhook connector did not start listening"
        statuses = []
        for route, body, expected in src.webhook_requests():
            provider = route.strip("/")
            headers = {"Content-Type": "application/json",
                       **sign(provider, secrets[canaries.WEBHOOK_SECRETS[provider]], body)}
            req = urllib.request.Request(f"http://127.0.0.1:{hook.port}{route}", data=body, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    got = r.status
            except urllib.error.HTTPError as exc:
                got = exc.code
            statuses.append((route, expected, got))
        stop.set()
        th.join(60)
        s = result["stats"]
        return {"events": s.events, "dead_letters": s.dead_letters}, statuses
    finally:
        for env in secrets:
            os.environ.pop(env, None)


def _feed(pipeline: Pipeline, src: canaries.Sources, *, hr_only: bool) -> dict[str, dict]:
    stats = {}
    for c in _file_connectors(src, hr_only):
        s = run_connector(c, pipeline.bootstrap, topics=pipeline.topics)
        stats[c.instance] = {"events": s.events, "dead_letters": s.dead_letters}
    return stats


def _wait_drained(pipeline: Pipeline, expected: int, timeout_s: float = 240) -> None:
    """Every record the connectors produced is stored or dead-lettered, and the worker's group has read
    every topic it consumes (features, metrics and learners included), so the store is complete."""
    pipeline.wait_processed(expected, timeout_s=timeout_s)
    reader = ProgressReader(pipeline.bootstrap, pipeline.group, pipeline.topics.names(GROUP_TOPICS))
    try:
        deadline = time.monotonic() + 30
        while reader.read().total_lag and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # the last sink batch (PULSEWIRE_SINK_BATCH_WITHIN_S) after the last commit
    finally:
        reader.close()


def _read_topics(bootstrap: str, group: str) -> dict[str, list[Record]]:
    """Every record of every topic of this namespace: the prefixed topics and the app's own (changelogs)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="canary-scan")
    try:
        names = sorted(t for t in admin.list_topics() if t.startswith(group))
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             client_id="canary-scan")
    out: dict[str, list[Record]] = {}
    try:
        for name in names:
            tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            end = consumer.end_offsets(tps)
            records: list[Record] = []
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    for r in batch:
                        records.append(Record(name, (r.key or b"").decode("utf-8", "replace"),
                                              (r.value or b"").decode("utf-8", "replace"),
                                              repr(r.headers or [])))
            logical = name.removeprefix(group + ".") if name.startswith(group + ".") else name
            out[logical] = records
    finally:
        consumer.close()
    return out


def _dump_store(data_dir: Path) -> dict[str, dict]:
    url = f"chdb://{(data_dir / 'clickhouse').resolve()}"
    r = subprocess.run([sys.executable, "-c", DUMP_STORE, url], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _board(data_dir: Path) -> tuple[str, str]:
    out = data_dir.parent / "board.html"
    r = subprocess.run([sys.executable, "-m", "pulsewire.streams.cli", "board", "--data-dir", str(data_dir),
                        "--output", str(out)], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f"pulsewire board failed: {r.stderr[-2000:]}"
    return out.read_text(errors="replace"), r.stderr


def _hr_ids(tables: dict[str, dict]) -> list[str]:
    """The event_id of every stored HR event."""
    scored = next(v for k, v in tables.items() if k.endswith(".events_scored"))
    return sorted({row["event_id"] for row in scored["rows"] if row.get("kind") == "hr"})


@pytest.fixture(scope="module")
def canary_run(broker, tmp_path_factory, pseudonym_key) -> CanaryRun:
    root = tmp_path_factory.mktemp("canary")
    src = canaries.Sources(root / "sources")
    ns, ns2 = f"c{uuid.uuid4().hex[:10]}.", f"k{uuid.uuid4().hex[:10]}."
    main = Pipeline(broker, ns, root / "data", pseudonym_key)
    other = Pipeline(broker, ns2, root / "data-other-key", OTHER_KEY)
    main.data_dir.mkdir()
    other.data_dir.mkdir()
    run = CanaryRun(broker=broker, group=main.group)
    try:
        run.stats = _feed(main, src, hr_only=False)
        hook_stats, run.webhook_status = _run_webhook(main.bootstrap, main.topics, src)
        run.stats["canary-webhook"] = hook_stats
        other_stats = _feed(other, src, hr_only=True)
        main.start()
        other.start()
        _wait_drained(main, sum(s["events"] + s["dead_letters"] for s in run.stats.values()))
        _wait_drained(other, sum(s["events"] + s["dead_letters"] for s in other_stats.values()))
        assert main.stop() in (0, -15) and other.stop() in (0, -15)
        run.topics = _read_topics(broker, main.group)
        run.worker_log = (main.data_dir / "worker.log").read_text(errors="replace")
        run.tables = _dump_store(main.data_dir)
        other_tables = _dump_store(other.data_dir)
        run.hr_ids = {"key": _hr_ids(run.tables), "other key": _hr_ids(other_tables)}
        run.board_html, run.board_stderr = _board(main.data_dir)
    finally:
        main.close()
        other.close()
    return run
