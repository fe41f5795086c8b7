-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- MRNs are drawn from this sequence; the check digit is appended by the application.
CREATE SEQUENCE patient_mrn_seq START WITH 1000001;

CREATE TABLE patients (
    id              uuid        PRIMARY KEY,          -- UUIDv7
    mrn             text        NOT NULL UNIQUE,
    version         integer     NOT NULL,
    active          boolean     NOT NULL DEFAULT true,
    family          text        NOT NULL,
    given           text[]      NOT NULL,
    -- lower-cased, accent-stripped "given… family", computed by the application
    name_search     text        NOT NULL,
    birth_date      date        NOT NULL,
    sex             text        NOT NULL,
    phones          text[]      NOT NULL DEFAULT '{}', -- digits only, for search
    identifier_keys text[]      NOT NULL DEFAULT '{}', -- "system|value", for search
    resource        jsonb       NOT NULL,              -- the full profile as the API returns it
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX patients_name_trgm ON patients USING gin (name_search gin_trgm_ops);
CREATE INDEX patients_birth_date ON patients (birth_date);
CREATE INDEX patients_phones ON patients USING gin (phones);
CREATE INDEX patients_identifier_keys ON patients USING gin (identifier_keys);

-- Idempotency-Key records for POSTs: the same key from the same client returns
-- the resource the first request created.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,   -- client id and route
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,   -- SHA-256 of the request body
    resource_id  uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE patients;
DROP SEQUENCE patient_mrn_seq;
