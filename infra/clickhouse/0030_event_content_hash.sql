-- Conflicting duplicates: the first version of an event wins. The sink stores a hash of what the
-- source sent (every field but the ones pulsewire sets) beside each event, looks up the versions
-- already stored for a batch's event_ids, and turns a different content under a stored event_id
-- into a dead letter (reason conflicting_duplicate). Rows stored before this migration have ''.
ALTER TABLE events_scored ADD COLUMN IF NOT EXISTS content_hash String DEFAULT ''
    COMMENT 'sha256 of the canonical event without ingested_at; the first stored version of an event_id wins';

-- The per-batch lookup is by event_id alone (any kind and source): a bloom filter keeps it from
-- reading every granule of a large table.
ALTER TABLE events_scored ADD INDEX IF NOT EXISTS event_id_bloom event_id TYPE bloom_filter GRANULARITY 4;

-- Parts written before the index existed get it too (a background mutation; harmless to repeat).
ALTER TABLE events_scored MATERIALIZE INDEX event_id_bloom;
