-- What several web and worker processes on one database share.

-- Sign-in throttling counters (they were in each web process's memory). Keys are SHA-256
-- hashes of the account and address they count.
CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    locked_until TEXT
);

-- Periodic work (housekeeping) is done by whichever worker takes its lease first; the lease
-- runs to the end of the interval.
CREATE TABLE work_leases (
    task TEXT PRIMARY KEY NOT NULL,
    held_until TEXT NOT NULL
);
