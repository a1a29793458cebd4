-- SVC-3: rate limits every process shares. One row per limited key (a
-- policy and a client address or account): its GCRA "theoretical arrival
-- time" in microseconds since the epoch.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);
