"""learn: ``learn.churn`` / ``learn.burnout`` (1 partition each) → the single learner → ``models.snapshots``.

Every worker runs the *follower* (a plain aiokafka consumer without a group, so
every worker reads every snapshot): it loads the newest verified snapshot per
model into ``ctx.models`` (the worker's ``ModelRegistry``, built by ``create_app``), which the features agent predicts
with. Exactly one worker owns each ``learn.*`` partition and runs the learner:
per batch it learns the examples (de-duplicated by id and by offset), writes them
to ``learn_examples``, publishes a signed, versioned snapshot on the compacted
topic and checkpoints it to ``<data_dir>/models/<name>.snapshot.json``. A worker that
takes the partition over (rebalance, restart) resumes from the newest snapshot of
either source, so nothing is relearned and no label is learned twice.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from pulsewire.models.learners.estimators import OnlineLearner, SnapshotError, handle_from_snapshot, snapshot_meta

from . import drift
from ._common import Batch, Record, log, run_batches

MODELS = ("churn", "burnout")
SNAPSHOT_TOPIC = "models.snapshots"


class ModelRegistry:
    """The newest verified model per name, from the data dir and from ``models.snapshots``."""

    def __init__(self, key: bytes, data_dir: Path):
        self.key = key
        self.dir = Path(data_dir) / "models"
        self.handles: dict = {}
        self.raw: dict[str, bytes] = {}
        self.ready = asyncio.Event()
        self.refused = 0
        for name in MODELS:
            path = self.dir / f"{name}.snapshot.json"
            if path.exists():
                try:
                    self.offer(path.read_bytes())
                except Exception as exc:
                    log.warning("ignoring checkpoint %s: %s", path, exc)

    def version(self, name: str) -> int:
        h = self.handles.get(name)
        return h.version if h is not None else 0

    def offer(self, raw: bytes) -> bool:
        """Take a snapshot if it is newer than what we hold and its signature verifies."""
        meta = snapshot_meta(raw)
        name = meta.get("name")
        if name not in MODELS or (meta.get("version") or 0) <= self.version(name):
            return False
        try:
            self.handles[name] = handle_from_snapshot(raw, self.key)
        except SnapshotError as exc:
            self.refused += 1
            log.error("refused a model snapshot: %s", exc)
            return False
        self.raw[name] = raw
        return True

    def checkpoint(self, name: str, raw: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{name}.snapshot.json.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, self.dir / f"{name}.snapshot.json")

    def learner(self, name: str, current: OnlineLearner | None, calibration_lr: float | None = None) -> OnlineLearner:
        """The learner to continue with: ours, unless a newer snapshot exists (another worker learned); a
        new or resumed one calibrates at ``calibration_lr`` (``LearnerConfig.calibration_lr``) when given."""
        if current is not None and current.version >= self.version(name):
            return current
        raw = self.raw.get(name)
        if raw is None:
            return current or OnlineLearner(name, calibration_lr=calibration_lr)
        return OnlineLearner.from_snapshot(raw, self.key, calibration_lr=calibration_lr)


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), timezone.utc)


def storable(ex: dict) -> bool:
    """A burnout example names a person and their predicted risk: stored only for people who consented
    (the learner learns from everyone's; the examples of others stay on the internal topic)."""
    return ex["model"] != "burnout" or bool(ex.get("consent"))


def example_row(ex: dict, learned: bool) -> dict:
    return {"model": ex["model"], "example_id": ex["id"], "entity_id": ex["entity_id"],
            "pred_event_id": ex["pred_event_id"], "label_event_id": ex["label_event_id"],
            "predicted_at": _ts(ex["predicted_at"]), "labelled_at": _ts(ex["labelled_at"]), "label": int(ex["y"]),
            "probability": float(ex["p"]), "baseline": float(ex.get("b") or 0.0),
            "model_version": ex.get("model_version", ""), "n_labels": int(ex.get("n_labels", 0)),
            "n_pos": int(ex.get("n_pos", 0)), "weight": float(ex.get("w", 1.0)), "learned": int(learned),
            "features": json.dumps(ex["x"], separators=(",", ":"))}


async def follow_snapshots(ctx) -> None:
    """Read ``models.snapshots`` from the beginning and keep following it into ``ctx.models``.

    Every worker runs it (``create_app`` starts it with the signal agents), whichever agents it runs."""
    s, registry = ctx.settings, ctx.models
    from aiokafka import AIOKafkaConsumer, TopicPartition

    tp = TopicPartition(ctx.topic_map.name(SNAPSHOT_TOPIC), 0)
    while True:
        consumer = None
        try:
            consumer = AIOKafkaConsumer(**s.kafka.aiokafka_kwargs(
                enable_auto_commit=False, group_id=None, client_id="pulsewire-model-follower",
                max_partition_fetch_bytes=16 * 1024 * 1024))
            await consumer.start()
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            if end == 0:
                registry.ready.set()
            while True:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for msg in batch.get(tp, []):
                    try:
                        if msg.value and registry.offer(msg.value):
                            log.info("loaded model %s", registry.handles[snapshot_meta(msg.value)["name"]].version_str)
                    except Exception:
                        log.exception("bad model snapshot at offset %s", msg.offset)
                if not registry.ready.is_set() and await consumer.position(tp) >= end:
                    registry.ready.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("model follower failed; reconnecting")
            registry.ready.set()  # never block prediction on the follower
            await asyncio.sleep(2)
        finally:
            if consumer is not None:
                try:
                    await consumer.stop()
                except Exception:
                    pass


def install(app, ctx) -> None:
    key, registry = ctx.keys.snapshot_key, ctx.models
    learners: dict[str, OnlineLearner | None] = {name: None for name in MODELS}

    source = app.topic(*(ctx.topic_map.name(f"learn.{m}") for m in MODELS), value_type=bytes, key_type=bytes,
                       value_serializer="raw", key_serializer="raw")
    watch_drift = drift.learner_watch(app, ctx)

    async def handle(batch: Batch) -> None:
        by_model: dict[str, list[Record]] = {}
        for rec in batch.records:
            name = rec.value.get("model") if isinstance(rec.value, dict) else None
            if name not in MODELS or rec.topic != f"learn.{name}":
                await batch.dead(rec, ValueError(f"example for model {name!r} on {rec.topic}"))
                continue
            by_model.setdefault(name, []).append(rec)
        for name, recs in by_model.items():
            try:
                ln = learners[name] = registry.learner(name, learners[name], ctx.learner_config.calibration_lr(name))
                learned = [(r.value, ln.learn(r.value, r.partition, r.offset)) for r in recs]
                rows = [example_row(ex, ok) for ex, ok in learned if storable(ex)]
                raw = ln.snapshot(key)
                await ctx.topics[SNAPSHOT_TOPIC].send(key=name.encode(), value=raw)
                if registry.offer(raw):
                    log.info("published model %s", registry.handles[name].version_str)
                await asyncio.to_thread(registry.checkpoint, name, raw)
            except Exception as exc:
                log.exception("learning a batch of %s failed", name)
                for r in recs:
                    await batch.dead(r, exc)
                continue
            await ctx.sinks["learn_examples"].write(rows)
            await watch_drift(name, [r for r, (_, ok) in zip(recs, learned) if ok])

    @app.agent(source, name="pulsewire.learn")
    async def learn(stream):
        try:
            await asyncio.wait_for(registry.ready.wait(), timeout=30)
        except asyncio.TimeoutError:
            log.warning("model snapshots not read within 30 s; learning from the local checkpoint")
        await run_batches(ctx, stream, "learn", size=500, within=1.0, parse=json.loads, handle=handle)

    ctx.agents["learn"] = learn
