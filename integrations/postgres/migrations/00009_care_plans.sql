-- +goose Up
-- Care plans. resource holds the plan as the API returns it (goals,
-- activities and their histories); the columns beside it are what lists
-- filter on. next_due_at is the earliest due time of an open activity of an
-- active plan (NULL when none), so "overdue" is next_due_at <= now.
CREATE TABLE care_plans (
    id           uuid        PRIMARY KEY,          -- UUIDv7
    patient_id   uuid        NOT NULL,
    encounter_id uuid,
    status       text        NOT NULL CHECK (status IN ('draft', 'active', 'on-hold', 'revoked', 'completed')),
    version      integer     NOT NULL,
    resource     jsonb       NOT NULL,
    next_due_at  timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX care_plans_patient_created ON care_plans (patient_id, created_at DESC, id DESC);
CREATE INDEX care_plans_created ON care_plans (created_at DESC, id DESC);
CREATE INDEX care_plans_due ON care_plans (next_due_at) WHERE next_due_at IS NOT NULL;

-- +goose Down
DROP TABLE care_plans;
