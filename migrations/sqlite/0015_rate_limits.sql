-- Token buckets of the rate limits, for processes that share the database. (SQLite serves one
-- process, which keeps its buckets in memory; the table keeps the two trees alike.)
CREATE TABLE rate_buckets (
    bucket TEXT PRIMARY KEY NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    allowed BOOLEAN NOT NULL
);
CREATE INDEX rate_buckets_at ON rate_buckets(at_s);
