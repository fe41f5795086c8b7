-- +goose Up
-- Outbound subscriptions (domain/subscription): third-party systems that
-- receive our CloudEvents by signed webhook, and the delivery of each
-- matching event to each of them.

-- A subscription names the event types it wants (exact CloudEvent types
-- such as observation.recorded, or prefixes such as "observation.*"), an
-- optional patient and category filter, and the endpoint events are POSTed
-- to. secret is the HMAC-SHA256 key of the X-Zarish-Signature header, kept
-- as the subscriber gave it: it is never shown again, but it should be
-- encrypted at rest (with a key outside the database) before production.
-- consecutive_failures counts the failed attempts since the last delivered
-- one; the deliverer pauses the subscription (status paused, with
-- paused_reason) when it reaches the limit. version counts the
-- subscription's changes: an update names the version it read.
CREATE TABLE subscriptions (
    id                   uuid        PRIMARY KEY,
    name                 text        NOT NULL,
    event_types          text[]      NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 20),
    patient_id           uuid,
    category             text,
    endpoint             text        NOT NULL,
    secret               text        NOT NULL,
    status               text        NOT NULL CHECK (status IN ('active', 'paused')),
    consecutive_failures integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    paused_reason        text        NOT NULL DEFAULT '',
    created_by           text        NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    version              integer     NOT NULL CHECK (version > 0)
);
-- The list, newest first.
CREATE INDEX subscriptions_created ON subscriptions (created_at DESC, id DESC);

-- One row per event and subscription: the unique key makes a second
-- enqueue of the same event (a Kafka message read twice) change nothing.
-- payload is the CloudEvent JSON as it was enqueued, sent as the request
-- body; it may hold clinical data, so it is never logged. attempt counts the
-- POSTs tried; a pending or failed delivery is due at next_attempt_at (the
-- deliverer also moves it forward by a lease when it claims it, so another
-- instance leaves it alone meanwhile); a delivered or dead one is done.
CREATE TABLE subscription_deliveries (
    id              uuid        PRIMARY KEY,
    subscription_id uuid        NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    attempt         integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    http_status     integer,
    error           text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (subscription_id, event_id)
);
-- What the deliverer claims: the due deliveries, soonest first.
CREATE INDEX subscription_deliveries_due ON subscription_deliveries (status, next_attempt_at);
-- A subscription's deliveries, newest first.
CREATE INDEX subscription_deliveries_list ON subscription_deliveries (subscription_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE subscription_deliveries;
DROP TABLE subscriptions;
