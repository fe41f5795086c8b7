-- +goose Up
-- The service registry: each running instance of a role heartbeats here.
-- An instance that stops cleanly says so (stopped); one that vanishes is
-- seen by its last heartbeat. Rows of instances gone a day are pruned.
CREATE TABLE service_instances (
    id           text        NOT NULL,
    service      text        NOT NULL,
    version      text        NOT NULL,
    host         text        NOT NULL,
    port         integer     NOT NULL DEFAULT 0,
    health_check text        NOT NULL DEFAULT '',
    metadata     jsonb       NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    stopped      boolean     NOT NULL DEFAULT false,
    -- One process may be several services (a worker of two queues).
    PRIMARY KEY (service, id)
);

-- +goose Down
DROP TABLE service_instances;
