-- Every look-up of one person's data (`pulsewire export`): when, which command, who ran it (a role
-- and the operator's OS login) and how many rows it returned per table. The subject is stored only as
-- a keyed hash (the same as in `erasures`: HMAC under the `erasure` subkey of the pseudonym key), never
-- an id or a pseudonym: whoever holds the key and the person's id can list who looked them up; nobody
-- else can tell whom a row is about. A look-up that found nothing is recorded too (found = 0).
CREATE TABLE IF NOT EXISTS data_access_audit
(
    access_id      String COMMENT 'one per command run',
    accessed_at    DateTime64(3, 'UTC'),
    command        LowCardinality(String) COMMENT 'export',
    subject_hash   String COMMENT 'keyed hash of the subject; never a raw id or a pseudonym',
    subject_type   LowCardinality(String) COMMENT 'customer | employee',
    requested_by   LowCardinality(String) DEFAULT '' COMMENT 'a role (hr-admin, dpo) when given, never a name',
    os_user        String DEFAULT '' COMMENT 'the operating-system login that ran the command, when known',
    found          UInt8,
    rows_returned  Map(String, UInt64) COMMENT 'table -> rows returned',
    rows_total     UInt64
)
ENGINE = ReplacingMergeTree(accessed_at)
ORDER BY access_id
TTL toDateTime(accessed_at) + INTERVAL 365 DAY;
