-- +goose Up
-- The encounters read model, written by the Encounter workflow's activities
-- so the API lists encounters without Temporal visibility. version is the
-- seq of the last timeline entry applied, so a late or repeated write of an
-- older state never overwrites a newer one.
CREATE TABLE encounters (
    id              uuid        PRIMARY KEY,
    patient_id      uuid        NOT NULL,
    class           text        NOT NULL CHECK (class IN ('emergency', 'inpatient', 'outpatient', 'virtual')),
    status          text        NOT NULL CHECK (status IN ('planned', 'arrived', 'triaged', 'in-progress', 'discharged', 'cancelled')),
    reason          text        NOT NULL DEFAULT '',
    location        text        NOT NULL,
    priority        text        NOT NULL DEFAULT '',
    acuity          integer     CHECK (acuity BETWEEN 1 AND 5),   -- ESI level
    chief_complaint text        NOT NULL DEFAULT '',
    attending       uuid,
    disposition     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    arrived_at      timestamptz,
    triaged_at      timestamptz,
    started_at      timestamptz,
    ended_at        timestamptz,                                -- discharged or cancelled
    version         integer     NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX encounters_created ON encounters (created_at DESC, id DESC);
CREATE INDEX encounters_patient_created ON encounters (patient_id, created_at DESC, id DESC);
CREATE INDEX encounters_status_created ON encounters (status, created_at DESC, id DESC);
CREATE INDEX encounters_location_status ON encounters (location, status);

-- Everything that happened to an encounter; seq is the entry's position in
-- the workflow's timeline and the transition key that makes each write
-- idempotent.
CREATE TABLE encounter_timeline (
    encounter_id uuid        NOT NULL REFERENCES encounters (id),
    seq          integer     NOT NULL,
    kind         text        NOT NULL,
    at           timestamptz NOT NULL,
    by_id        uuid,
    note         text        NOT NULL DEFAULT '',
    PRIMARY KEY (encounter_id, seq)
);

-- Where the patient was, one row per stay, in order.
CREATE TABLE encounter_locations (
    encounter_id uuid        NOT NULL REFERENCES encounters (id),
    seq          integer     NOT NULL,
    location     text        NOT NULL,
    from_at      timestamptz NOT NULL,
    until_at     timestamptz,
    PRIMARY KEY (encounter_id, seq)
);

-- Orders other processes placed during the encounter.
CREATE TABLE encounter_orders (
    encounter_id uuid        NOT NULL REFERENCES encounters (id),
    order_id     uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('prescription', 'procedure', 'diagnostic')),
    status       text        NOT NULL CHECK (status IN ('open', 'closed')),
    linked_at    timestamptz NOT NULL,
    closed_at    timestamptz,
    PRIMARY KEY (encounter_id, order_id)
);

-- +goose Down
DROP TABLE encounter_orders;
DROP TABLE encounter_locations;
DROP TABLE encounter_timeline;
DROP TABLE encounters;
