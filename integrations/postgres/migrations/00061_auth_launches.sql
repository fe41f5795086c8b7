-- +goose Up
-- A SMART launch context (EHR launch): the app a clinician already works in
-- names the patient (and encounter) another app is opened for, and hands the
-- app the opaque launch value. The app sends it to the authorization
-- endpoint; the sign-in's tokens are then confined to that patient. Only
-- the SHA-256 of the value is stored; it is short-lived and used once.
CREATE TABLE auth_launches (
    id_hash      text        PRIMARY KEY,
    patient_id   uuid        NOT NULL CONSTRAINT auth_launches_patient_fkey REFERENCES patients (id),
    encounter_id uuid        CONSTRAINT auth_launches_encounter_fkey REFERENCES encounters (id),
    client_id    text        NOT NULL,      -- who created it
    user_id      uuid,                      -- the signed-in person who created it, if any
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX auth_launches_expires ON auth_launches (expires_at);

-- +goose Down
DROP TABLE auth_launches;
