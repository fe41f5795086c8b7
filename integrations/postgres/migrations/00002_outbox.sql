-- +goose Up
-- The transactional outbox: a row per event, written in the same transaction as
-- the change it describes, published by the relay and then marked sent.
CREATE TABLE outbox (
    id         uuid        PRIMARY KEY,           -- CloudEvent id; consumers dedupe on it
    seq        bigserial   NOT NULL UNIQUE,       -- insertion order, for the relay's batches
    topic      text        NOT NULL,
    key        text        NOT NULL,              -- partition key: the patient id
    type       text        NOT NULL,
    source     text        NOT NULL,
    subject    text        NOT NULL DEFAULT '',
    time       timestamptz NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE outbox;
