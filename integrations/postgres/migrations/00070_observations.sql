-- +goose Up
-- Observations: vital signs and laboratory results (domain/observation), one
-- row per version. A version is never changed except for `current`, which
-- the store clears on the previous version in the transaction that inserts
-- the next (amended, corrected or entered-in-error); every query of values
-- reads current rows only.
--
-- A time series: partitioned by month of effective_at (UTC), so a patient's
-- trend over a window reads the partitions of that window and old months can
-- be detached and archived whole. There is no DEFAULT partition: adding a
-- month would have to scan it. The store creates the month a write needs
-- (CREATE TABLE IF NOT EXISTS observations_yYYYYmMM PARTITION OF …), outside
-- the write's transaction, and remembers the months it has seen.
--
-- The primary key must hold the partition key. (id, version) is unique
-- because each version is written by the transaction that clears `current` on
-- the one before (a row lock: a second writer of the same version finds the
-- previous one no longer current), and ids are fresh UUIDv7s; an amendment
-- may move effective_at to another month, so the key cannot be (id, version)
-- alone.
--
-- Values are kept as sent (sent_value, sent_unit) and in the code's canonical
-- UCUM unit (value_num, value_unit), which every query, trend and rule reads.
-- The interpretation is stored with the value — its flag and the reference
-- and critical ranges it was judged against, with their sources — so a later
-- change of the catalogue cannot change what a stored result was compared
-- with. The ranges are few (a code's bands by sex and age, and the ranges
-- laboratories report) and their citations long, so each is stored once in
-- observation_ranges under an id derived from its content, and a row names
-- its ranges by id (range_id, critical_id): a row is some 500 bytes smaller
-- than with the ranges inline as jsonb, COPY a quarter faster (measured ~37k
-- rows/s inline, ~48k by id) and a patient's year of vitals in fewer pages. A panel (blood pressure,
-- 85354-9) has no value of its own: its components, each a quantity with its
-- own flag and range ids, are in components.
CREATE TABLE observations (
    id                     uuid             NOT NULL,            -- UUIDv7, shared by every version
    version                integer          NOT NULL CHECK (version > 0),
    effective_at           timestamptz      NOT NULL,            -- when the value was true of the patient
    current                boolean          NOT NULL,            -- the latest version of id
    patient_id             uuid             NOT NULL,
    encounter_id           uuid,
    category               text             NOT NULL CHECK (category IN ('vital-signs', 'laboratory')),
    code                   text             NOT NULL,            -- LOINC
    display                text             NOT NULL,
    value_kind             text             NOT NULL CHECK (value_kind IN ('quantity', 'coded', 'string', 'boolean', 'panel')),
    value_num              double precision,                     -- quantity, canonical unit
    value_unit             text,                                 -- the canonical unit
    sent_value             double precision,                     -- quantity as sent
    sent_unit              text,
    value_code             text,                                 -- coded answer
    value_display          text,
    value_text             text,                                 -- string
    value_bool             boolean,                              -- boolean
    components             jsonb,                                -- panel: [{code, display, value, unit, canonical, canonicalUnit, flag, range, critical}]
    component_codes        text[],                               -- panel: the components' codes and canonical values, in
    component_values       double precision[],                   --   order, for index-only trends of a component
    issued                 timestamptz      NOT NULL,
    performer_practitioner uuid,                                 -- from the caller's token
    performer_client       text             NOT NULL,
    performer_asserted     boolean          NOT NULL,            -- practitioner named by a machine client
    method                 text             NOT NULL,
    device                 text             NOT NULL,
    status                 text             NOT NULL CHECK (status IN ('preliminary', 'final', 'amended', 'corrected', 'entered-in-error')),
    subject_sex            text             NOT NULL,            -- what the value was interpreted for
    subject_age_months     integer          NOT NULL,
    flag                   text             NOT NULL,            -- HL7 v3 interpretation: N, L, H, LL, HH, A or ''
    range_id               uuid,                                 -- observation_ranges: the reference range judged against
    critical_id            uuid,                                 -- observation_ranges: the critical limits
    delta_flags            jsonb,                                -- delta rules met against earlier results
    reason                 text             NOT NULL,            -- why this version amends or withdraws the last
    recorded_at            timestamptz      NOT NULL,
    PRIMARY KEY (id, version, effective_at),
    -- The store translates a violation (23503) by constraint name into a
    -- validation error naming the API field (integrations/postgres/errors.go).
    -- PostgreSQL checks a foreign key row by row, the largest single cost of
    -- a COPY here: measured ~100k rows/s without it, ~50k with it.
    CONSTRAINT observations_patient_fkey FOREIGN KEY (patient_id) REFERENCES patients (id),
    -- An observation made during an encounter belongs to the encounter's
    -- patient; MATCH SIMPLE skips rows without an encounter.
    CONSTRAINT observations_encounter_patient_fkey FOREIGN KEY (encounter_id, patient_id) REFERENCES encounters (id, patient_id)
) PARTITION BY RANGE (effective_at);

-- A patient's values of one code, newest first: latest values, trends, delta
-- checks, NEWS2 readings, and lists. Partial on current: superseded versions
-- are read only by id (the primary key), so they stay out of the index every
-- clinical query walks. Entered-in-error rows stay in (they are current, and
-- few); queries skip them by status. id orders equal times, as the keyset
-- cursor does. It is the only secondary index: each one costs every insert
-- (a second, on (patient_id, effective_at), cut COPY from ~98k to ~68k
-- rows/s), so a list across codes merges this index's per-code scans
-- (UNION ALL of ordered, limited scans) instead.
--
-- It INCLUDEs what a trend reads, so a patient's year of hourly values (8,760
-- rows spread over as many heap pages among other patients' rows) is read
-- from the index alone once the pages are all-visible: value_num, status
-- (to skip entered-in-error rows) and a panel's component codes and values.
CREATE INDEX observations_patient_code_time ON observations (patient_id, code, effective_at DESC, id DESC)
    INCLUDE (value_num, status, component_codes, component_values) WHERE current;

-- The ranges observations were judged against, each stored once: id is a
-- name-based UUID (v5) of the range's JSON, so the same range always has the
-- same id and a row, once written, never changes. Never deleted.
CREATE TABLE observation_ranges (
    id    uuid  PRIMARY KEY,
    range jsonb NOT NULL      -- domain/observation Range: sex, age band, low, high, unit, source
);

-- NEWS2 scores the engine computed from complete sets of a patient's
-- readings (domain/observation NEWS2Score). parameters holds each of the
-- seven readings scored — code, value or answer, time and the observation it
-- came from — in Chart 1's order; source_ids the same observations, so the
-- scores an amended or withdrawn observation fed can be found.
CREATE TABLE news2_scores (
    id                       uuid        PRIMARY KEY,            -- UUIDv7
    patient_id               uuid        NOT NULL CONSTRAINT news2_scores_patient_fkey REFERENCES patients (id),
    scored_at                timestamptz NOT NULL,               -- when it was computed
    window_start             timestamptz NOT NULL,
    window_end               timestamptz NOT NULL,               -- the newest reading
    total                    smallint    NOT NULL CHECK (total BETWEEN 0 AND 20),
    risk                     text        NOT NULL CHECK (risk IN ('low', 'low-medium', 'medium', 'high')),
    red_score                boolean     NOT NULL,
    scale                    smallint    NOT NULL CHECK (scale IN (1, 2)),
    respiration_rate_score   smallint    NOT NULL,
    spo2_score               smallint    NOT NULL,
    air_or_oxygen_score      smallint    NOT NULL,
    systolic_bp_score        smallint    NOT NULL,
    pulse_score              smallint    NOT NULL,
    consciousness_score      smallint    NOT NULL,
    temperature_score        smallint    NOT NULL,
    response                 jsonb       NOT NULL,               -- Charts 2 and 4: threshold, frequency, action
    parameters               jsonb       NOT NULL,
    source_ids               uuid[]      NOT NULL,
    CHECK (window_start <= window_end),
    -- The same readings scored on the same scale are the same score: a
    -- retried save stores nothing new.
    CONSTRAINT news2_scores_same_set UNIQUE (patient_id, scale, source_ids)
);
CREATE INDEX news2_scores_patient_latest ON news2_scores (patient_id, window_end DESC, scored_at DESC);
CREATE INDEX news2_scores_sources ON news2_scores USING gin (source_ids);

-- The NEWS2 SpO2 scale a clinician chose for a patient: Scale 2 for
-- hypercapnic respiratory failure with a prescribed 88-92% target, or back
-- to Scale 1. Rows are decisions, kept as history: a new decision revokes the
-- one in force (revoked_at, revoked_by) in the transaction that inserts it;
-- at most one is in force per patient. No row in force means Scale 1.
CREATE TABLE spo2_scale_decisions (
    id          uuid        PRIMARY KEY,                         -- UUIDv7
    patient_id  uuid        NOT NULL CONSTRAINT spo2_scale_decisions_patient_fkey REFERENCES patients (id),
    scale       smallint    NOT NULL CHECK (scale IN (1, 2)),
    decided_by  uuid        NOT NULL,                            -- the practitioner, from the token
    decided_at  timestamptz NOT NULL,
    reason      text        NOT NULL,
    revoked_at  timestamptz,
    revoked_by  uuid,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE UNIQUE INDEX spo2_scale_decisions_in_force ON spo2_scale_decisions (patient_id) WHERE revoked_at IS NULL;
CREATE INDEX spo2_scale_decisions_patient ON spo2_scale_decisions (patient_id, decided_at DESC);

-- +goose Down
DROP TABLE spo2_scale_decisions;
DROP TABLE news2_scores;
DROP TABLE observation_ranges;
DROP TABLE observations;
