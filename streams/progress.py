"""How far the worker group has got, read from the broker (committed vs end offsets).

Used by ``pulsewire demo`` for its progress bar:
it needs no access to the store, so it works with any number of workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .kafka_security import KafkaConnection

log = logging.getLogger(__name__)


@dataclass
class GroupProgress:
    committed: dict[str, int]  # topic -> sum of committed offsets
    end: dict[str, int]        # topic -> sum of end offsets
    behind: dict[str, int] | None = None  # topic -> records not yet committed, summed per partition

    def lag(self, topic: str) -> int:
        if self.behind is not None:
            return self.behind.get(topic, 0)
        return max(self.end.get(topic, 0) - self.committed.get(topic, 0), 0)

    @property
    def total_lag(self) -> int:
        """Records not yet committed on any partition. Zero means everything written to these topics
        before the read had been committed: a partition ahead never hides one behind.

        >>> GroupProgress({"a": 5, "b": 9}, {"a": 7, "b": 7}, {"a": 2, "b": 0}).total_lag
        2
        """
        return sum(self.lag(t) for t in self.end)

    def done(self, topic: str) -> int:
        return self.committed.get(topic, 0)


class ProgressReader:
    def __init__(self, broker: "str | KafkaConnection", group: str, topics: list[str]):
        from kafka import KafkaConsumer
        from kafka.admin import KafkaAdminClient

        conn = KafkaConnection.of(broker)
        self.group, self.topics = group, topics
        self.admin = KafkaAdminClient(**conn.kafka_python_kwargs(client_id="pulsewire-progress"))
        self.consumer = KafkaConsumer(**conn.kafka_python_kwargs(client_id="pulsewire-progress",
                                                                 enable_auto_commit=False))

    def read(self) -> GroupProgress:
        from kafka import TopicPartition

        tps = [TopicPartition(t, p) for t in self.topics for p in (self.consumer.partitions_for_topic(t) or ())]
        # Committed offsets first, end offsets after: a record committed between the two reads is then
        # counted as written too. The other order let a stage that committed records written after the
        # end offsets were read show a negative lag that cancelled another stage's records in flight,
        # so "lag 0" could be read while a restarted worker still had hundreds of records to store.
        try:  # kafka-python 3.x: list_group_offsets({group: None}) -> {group: {tp: OffsetAndMetadata}}
            committed = self.admin.list_group_offsets({self.group: None}).get(self.group, {})
        except Exception as exc:  # the group does not exist yet (no commit so far)
            log.debug("no committed offsets for %s yet: %s", self.group, exc)
            committed = {}
        end = self.consumer.end_offsets(tps)
        c_sum: dict[str, int] = {t: 0 for t in self.topics}
        e_sum: dict[str, int] = {t: 0 for t in self.topics}
        behind: dict[str, int] = {t: 0 for t in self.topics}
        for tp, off in end.items():
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset is not None and meta.offset >= 0 else 0
            e_sum[tp.topic] += off
            c_sum[tp.topic] += done
            behind[tp.topic] += max(off - done, 0)
        return GroupProgress(c_sum, e_sum, behind)

    def close(self) -> None:
        self.admin.close()
        self.consumer.close()
