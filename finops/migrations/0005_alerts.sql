-- 0005: what `finops alert` has to send, per channel. alert_events holds each alert's state (one row per
-- budget or anomaly scope × kind × period × threshold); a change of state (fired, resolved) becomes one
-- delivery per channel here. A delivery is pending while sent_at is NULL: the next run retries it, so
-- a channel that fails loses nothing and one that works is sent to once.
CREATE TABLE alert_deliveries (
    delivery_id BIGINT PRIMARY KEY,
    alert_key VARCHAR NOT NULL,                -- alert_events.alert_key
    kind VARCHAR NOT NULL,                     -- actual, forecast, anomaly
    period_start DATE NOT NULL,
    threshold VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('firing', 'resolved')),
    channel VARCHAR NOT NULL,                  -- [[notify]] name
    message JSON NOT NULL,                     -- the notification: numbers and drivers, never a secret
    created_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL,
    last_error VARCHAR,                        -- why the last attempt failed (secrets scrubbed)
    sent_at TIMESTAMPTZ                        -- NULL while pending
);
