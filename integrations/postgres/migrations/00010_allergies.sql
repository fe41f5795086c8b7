-- +goose Up
-- Patients' allergies and intolerances (FHIR AllergyIntolerance). resource
-- holds the record as the API returns it; the other columns are what queries
-- and constraints need. active is clinically active and neither refuted nor
-- entered in error; code_key is system|code ('' when uncoded) and text_key
-- the lower-cased substance text.
CREATE TABLE allergies (
    id                  uuid        PRIMARY KEY,          -- UUIDv7
    patient_id          uuid        NOT NULL,
    code_key            text        NOT NULL DEFAULT '',
    text_key            text        NOT NULL,
    category            text        NOT NULL CHECK (category IN ('food', 'medication', 'environment', 'biologic')),
    criticality         text        NOT NULL CHECK (criticality IN ('low', 'high', 'unable-to-assess')),
    clinical_status     text        NOT NULL CHECK (clinical_status IN ('active', 'inactive', 'resolved')),
    verification_status text        NOT NULL CHECK (verification_status IN ('unconfirmed', 'confirmed', 'refuted', 'entered-in-error')),
    active              boolean     NOT NULL,
    version             integer     NOT NULL,
    resource            jsonb       NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX allergies_patient_created ON allergies (patient_id, created_at, id);
-- A patient has at most one active record of a substance, by code or by text.
CREATE UNIQUE INDEX allergies_one_active_code ON allergies (patient_id, code_key) WHERE active AND code_key <> '';
CREATE UNIQUE INDEX allergies_one_active_text ON allergies (patient_id, text_key) WHERE active;

-- +goose Down
DROP TABLE allergies;
