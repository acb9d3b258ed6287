-- Dead letters hold no personal values. A dead letter of a personal source (a connector that declares
-- personal fields or declares nothing, and every events.<kind> record) is stored with its reason, a
-- detail without the record's values, a keyed hash of the payload, its size and field names, and its
-- origin; the raw record stays only on events.dlq, for that topic's short retention.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_hash String DEFAULT ''
    COMMENT 'HMAC-SHA256 of the payload under the payload-hash subkey: equal payloads match, nobody can test a guess';
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_bytes UInt32 DEFAULT 0
    COMMENT 'size of the payload as the source sent it';
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_fields Array(String) DEFAULT []
    COMMENT 'field names of the payload (dotted paths), never values';
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS redacted UInt8 DEFAULT 0
    COMMENT '1: a personal source; payload is empty and detail holds no value of it';
ALTER TABLE dead_letters COMMENT COLUMN payload
    'the payload of a source that declared no personal field; empty for personal sources (the raw record is on events.dlq)';
ALTER TABLE dead_letters COMMENT COLUMN dl_id
    'keyed id of source, reason and payload hash: a replay or a re-sent record keeps its id';

-- Dead letters expire (default 30 days; set at start-up from PULSEWIRE_DEAD_LETTER_TTL_DAYS). The
-- earlier of the source's failure time and the time stored, so a wrong clock at a source cannot keep
-- a row forever.
ALTER TABLE dead_letters MODIFY TTL toDateTime(least(failed_at, stored_at)) + toIntervalDay(30);

-- Rows stored before this migration may hold raw records: which sources were personal was not
-- recorded, so every row is treated as personal. The payload goes, quoted values go from the detail,
-- only canonical event field names stay (a source may key records by person), and the size stays. Their payload_hash stays empty: SQL has no key to compute it.
-- The migration waits for the mutation, so no worker starts while raw rows remain.
ALTER TABLE dead_letters UPDATE
    payload_fields = if(isValidJSON(payload),
                        arrayFilter(k -> has(['attributes', 'author_role', 'channel', 'consent', 'conversation_id', 'csat', 'customer_id', 'days', 'employee_id', 'event', 'event_id', 'exit_type', 'hours', 'ingested_at', 'kind', 'label', 'leave_type', 'model_version', 'mrr', 'occurred_at', 'plan', 'previous_plan', 'priority', 'probabilities', 'product', 'question', 'rating', 'schema_version', 'score', 'sentiment', 'source', 'status', 'team_id', 'text', 'ticket_id', 'truncated', 'type'], k), JSONExtractKeys(payload)),
                        []),
    payload_bytes = toUInt32(if(payload_encoding = 'base64', length(tryBase64Decode(payload)), length(payload))),
    detail = replaceRegexpAll(detail, '\'[^\']*\'|"[^"]*"', '[value]'),
    payload = '',
    redacted = 1
WHERE redacted = 0
SETTINGS mutations_sync = 2;
