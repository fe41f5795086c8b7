-- +goose Up
-- Clinical notes. Every row is one version of an encounter's documentation:
-- a correction of a signed note is a new row whose amends_id names the
-- original. resource holds the note as the API returns it.
CREATE TABLE notes (
    id           uuid        PRIMARY KEY,          -- UUIDv7
    encounter_id uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    type         text        NOT NULL CHECK (type IN ('triage', 'progress', 'soap', 'discharge-summary')),
    author_id    uuid        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('draft', 'signed')),
    amends_id    uuid        REFERENCES notes (id),
    amended_by   uuid        REFERENCES notes (id),
    version      integer     NOT NULL,
    resource     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX notes_encounter_created ON notes (encounter_id, created_at, id);
CREATE INDEX notes_patient_created ON notes (patient_id, created_at, id);
-- A signed note is superseded by at most one signed amendment.
CREATE UNIQUE INDEX notes_one_signed_amendment ON notes (amends_id) WHERE status = 'signed';

-- +goose Down
DROP TABLE notes;
