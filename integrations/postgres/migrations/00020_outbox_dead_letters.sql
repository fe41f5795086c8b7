-- +goose Up
-- Events the broker refused for good (too large, invalid), moved out of the
-- outbox so the events after them flow on. Each row keeps the whole event,
-- so an operator can requeue it; a requeued row stays as history. id is the
-- event id: an event dead-lettered again after a requeue updates its row.
CREATE TABLE outbox_dead_letters (
    id             uuid        PRIMARY KEY,
    topic          text        NOT NULL,
    key            text        NOT NULL,
    type           text        NOT NULL,
    source         text        NOT NULL,
    subject        text        NOT NULL DEFAULT '',
    time           timestamptz NOT NULL,
    data           jsonb       NOT NULL,
    traceparent    text        NOT NULL DEFAULT '',
    size           integer     NOT NULL,             -- bytes as the relay encoded it
    error          text        NOT NULL,
    attempts       integer     NOT NULL,
    written_at     timestamptz NOT NULL,             -- the outbox row's created_at
    failed_at      timestamptz NOT NULL DEFAULT now(),
    status         text        NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'requeued')),
    requeued_at    timestamptz,
    requeued_by    text        NOT NULL DEFAULT '',
    requeue_reason text        NOT NULL DEFAULT ''
);
CREATE INDEX outbox_dead_letters_newest ON outbox_dead_letters (failed_at DESC, id DESC);
CREATE INDEX outbox_dead_letters_waiting ON outbox_dead_letters (failed_at DESC, id DESC) WHERE status = 'dead';

-- +goose Down
DROP TABLE outbox_dead_letters;
