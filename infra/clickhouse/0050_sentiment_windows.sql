-- A long text is scored as sentence windows and their token-weighted mean is sentiment_score. A short
-- complaint inside a long friendly text moves that mean only by its share of the tokens, so the most
-- negative window's score is kept beside it, with how many windows were read (scored.text
-- sentiment.min_window_score / .windows). NULL for rows stored before this migration and for rows
-- without text.
ALTER TABLE events_scored ADD COLUMN IF NOT EXISTS sentiment_min_window_score Nullable(Float32)
    COMMENT 'score of the most negative sentence window; equals sentiment_score for a text of one window'
    AFTER sentiment_score;

ALTER TABLE events_scored ADD COLUMN IF NOT EXISTS text_windows Nullable(UInt16)
    COMMENT 'sentence windows read (max_tokens each); 0 for blank text' AFTER text_truncated;
