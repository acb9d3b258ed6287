"""drift watch: the watchers of ``models/oversight/drift.py`` inside the agents that already see each series.

* **Sentiment per channel** runs in the metrics agent: ``signals.metrics`` is keyed by dimension, so all of
  a channel's texts meet on one partition and one watcher sees them all (``scored.text`` is keyed by
  entity: a watcher there would see only the channel's texts of one partition's customers).
* **A learner's error and features** run in the learn agent: ``learn.churn`` and ``learn.burnout`` have
  one partition, read by one worker, in the order the learner learns them. They are off
  (``LEARNER_WATCH``): see there.

Watcher state lives in two Faust tables (JSON, changelog-backed), each partitioned like the topic it
watches: ``drift-channels`` like ``signals.metrics``, ``drift-learners`` like ``learn.*`` (one partition).
For each change found: the CloudEvent goes to ``alerts.drift``, its row to ``drift_events``, and only then
is the new state written to the changelog. A crash in between re-finds the same change on replay and
sends the same id again (consumers and the ReplacingMergeTree de-duplicate on it); a change is never lost.

The watch only observes: a failure is logged and counted (stage ``drift``), and never turns the host
agent's records into dead letters or stops it.
"""

from __future__ import annotations

import faust

from pulsewire.models.oversight.drift import DetectorParams, WatchGroup, channel_observations, example_observations
from pulsewire.schemas.drift import Series, drift_row, kafka_record, make_drift_cloudevent

from ._common import Record, log, now

DRIFT_TOPIC = "alerts.drift"  # declared in streams/topics.py
CHANNEL_TABLE = "drift-channels"
LEARNER_TABLE = "drift-learners"

#: The learn agent's error and feature watchers are off. On a clean generator stream (no planted shift,
#: 20,000 events) they report dozens of changes: the labelled population's mix moves with renewal and
#: cancellation waves, and a young learner's error moves as it learns, so their drift events would be
#: noise a person learns to ignore. The watch needs features watched at prediction time and an error
#: compared with the model's own expected error before it can be turned on; until then only the
#: sentiment watchers (quiet on clean data, the planted shift found) report.
LEARNER_WATCH = False


def channel_series(dim: str, name: str) -> Series:
    return Series("sentiment", "sentiment", dimension=dim)


def learner_series(model: str, name: str) -> Series:
    if name == "error":
        return Series("error", model)
    return Series("feature", model, feature=name.removeprefix("feature:"))


class DriftWatch:
    """Feeds records to the watch group of one key (a channel dimension, a model) and publishes its changes."""

    def __init__(self, ctx, table, observations, series, params: DetectorParams, enabled: bool = True):
        self.ctx, self.table, self.params, self.enabled = ctx, table, params, enabled
        self.observations, self.series = observations, series

    async def __call__(self, key: str, records: list[Record]) -> int:
        """Watch ``records`` (all of ``key``); return how many drift events were sent. Never raises."""
        if not records or not self.enabled:
            return 0
        t0 = now()
        try:
            group = WatchGroup.restore(self.table.data.get(key), self.params)
            events = []
            for rec in records:
                for name, change in group.feed(rec.topic, rec.partition, rec.offset, self.observations(rec.value)):
                    events.append(make_drift_cloudevent(self.series(key, name), change, group.params_of(name)))
            for ce in events:
                k, v, headers = kafka_record(ce)
                await self.ctx.topics[DRIFT_TOPIC].send(key=k, value=v, headers=headers)
                log.warning("drift: %s", ce["data"]["summary"])
            await self.ctx.sinks["drift_events"].write([drift_row(ce) for ce in events])
            state = group.snapshot()
            self.table.data[key] = state
            self.table.send_changelog(records[-1].partition, key, state)
        except Exception:
            log.exception("drift watch failed on %s; its records are not watched", key)
            self.ctx.stats.add("drift", len(records), now() - t0, dead_letters=0)
            return 0
        self.ctx.stats.add("drift", len(records), now() - t0)
        return len(events)


def _table(app, ctx, name: str, partitions: int, help: str):
    return app.Table(name, default=None, partitions=partitions,
                     schema=faust.Schema(key_serializer="json", value_serializer="json"), help=help)


def channel_watch(app, ctx, params: DetectorParams | None = None) -> DriftWatch:
    """The watch the metrics agent calls per dimension (only ``channel:*`` dimensions are watched)."""
    table = _table(app, ctx, CHANNEL_TABLE, ctx.settings.topic_partitions,
                   "drift watchers of sentiment per channel (JSON)")
    return DriftWatch(ctx, table, channel_observations, channel_series, params or DetectorParams())


def learner_watch(app, ctx, params: DetectorParams | None = None, enabled: bool = LEARNER_WATCH) -> DriftWatch:
    """The watch the learn agent calls per model with the examples it learned (a no-op unless ``enabled``)."""
    table = _table(app, ctx, LEARNER_TABLE, 1, "drift watchers of each learner's error and features (JSON)")
    return DriftWatch(ctx, table, example_observations, learner_series, params or DetectorParams(), enabled)
