-- +goose Up
-- Workflows to start once the write they follow commits: a row written in
-- the write's transaction, started by the workflow starter (inside
-- `zarish relay`), idempotently under its workflow id. started_at is set
-- once Temporal has the run (or already had it); until then failed tries
-- count in attempts, with the latest error, and wait for next_attempt_at.
CREATE TABLE workflow_starts (
    id                uuid        PRIMARY KEY,
    seq               bigserial   NOT NULL UNIQUE,
    workflow_id       text        NOT NULL,
    workflow_type     text        NOT NULL,
    task_queue        text        NOT NULL,
    input             jsonb,
    search_attributes jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    run_id            text        NOT NULL DEFAULT '',
    attempts          integer     NOT NULL DEFAULT 0,
    last_error        text        NOT NULL DEFAULT '',
    next_attempt_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_starts_pending ON workflow_starts (next_attempt_at, seq) WHERE started_at IS NULL;
CREATE INDEX workflow_starts_workflow ON workflow_starts (workflow_id);

-- +goose Down
DROP TABLE workflow_starts;
