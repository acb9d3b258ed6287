-- Every erasure carried out (`pulsewire forget`): who asked (a role), when, and what was removed.
-- The subject is stored only as a keyed hash (HMAC under the `erasure` subkey of the pseudonym key):
-- whoever holds the key and the person's id can check that they were erased; nobody else can tell
-- who it was. One row per request (a replayed request keeps one row); a second request for the same
-- subject is a row of its own with nothing removed and earlier_erasures > 0.
CREATE TABLE IF NOT EXISTS erasures
(
    request_id        String,
    subject_hash      String COMMENT 'keyed hash of the subject; never a raw id or a pseudonym',
    subject_type      LowCardinality(String) COMMENT 'customer | employee',
    requested_by      LowCardinality(String) COMMENT 'a role (hr-admin, dpo), never a person',
    requested_at      DateTime64(3, 'UTC'),
    erased_at         DateTime64(3, 'UTC'),
    rows_removed      Map(String, UInt64) COMMENT 'table -> rows deleted',
    rows_total        UInt64,
    state_removed     Array(String) COMMENT 'worker state dropped (Faust tables), by store name',
    earlier_erasures  UInt32 COMMENT 'erasures of the same subject recorded before this one'
)
ENGINE = ReplacingMergeTree(erased_at)
ORDER BY request_id;
