-- +goose Up
-- Procedures (domain/procedure): the resource directory procedures are
-- booked on, the read model of the ProcedureScheduling process, and the
-- allocations, where PostgreSQL itself refuses a double booking.

-- btree_gist gives GiST the = operator on text and uuid, so one exclusion
-- constraint can say "the same resource, an overlapping time".
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The directory: rooms, members of staff and pieces of equipment, each as
-- the domain keeps it (procedure.Resource: capabilities, skills, hours,
-- blocked periods, turnover) in resource, with the columns lists filter on.
-- version counts the resource's changes: an update names the version it
-- read, and a stale one is refused.
CREATE TABLE procedure_resources (
    id         uuid        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('room', 'staff', 'equipment')),
    name       text        NOT NULL,
    resource   jsonb       NOT NULL,
    active     boolean     NOT NULL,
    version    integer     NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- The directory by kind, in name order.
CREATE INDEX procedure_resources_kind ON procedure_resources (kind, name, id);

-- The read model: one row per procedure request (id is the request's id)
-- holding its newest version. resource is the procedure as the process keeps
-- it (request, slot, checklist, completion and the whole timeline); version
-- counts the timeline's entries, and the store writes a version only over an
-- older one, so a retried write changes nothing. planned_start and
-- planned_end are the procedure's slot (NULL while it has none) and
-- resource_ids the resources chosen for it, so a room's or a surgeon's list
-- is found without reading every resource; a completed, cancelled or
-- no-show procedure keeps its slot here after its allocations are gone.
-- summary is the procedure as the quality metrics read it
-- (procedure.Procedure.Summary), written with each version so the metrics
-- never read the history.
--
-- Like every record of a patient, a procedure belongs to a registered
-- patient, and one requested during an encounter to that encounter's
-- patient; the store names the API field of a violation by constraint name
-- (referenceFields in integrations/postgres/errors.go), so keep these names
-- in step with it.
CREATE TABLE procedures (
    id            uuid        PRIMARY KEY,
    patient_id    uuid        NOT NULL CONSTRAINT procedures_patient_fkey REFERENCES patients (id),
    encounter_id  uuid        CONSTRAINT procedures_encounter_fkey REFERENCES encounters (id),
    status        text        NOT NULL CHECK (status IN ('requested', 'held', 'booked', 'checked-in', 'in-progress',
                                                         'completed', 'cancelled', 'no-show', 'unscheduled')),
    priority      text        NOT NULL CHECK (priority IN ('elective', 'urgent', 'emergency')),
    planned_start timestamptz,
    planned_end   timestamptz,
    resource_ids  uuid[]      NOT NULL DEFAULT '{}',
    version       integer     NOT NULL CHECK (version > 0),
    resource      jsonb       NOT NULL,
    summary       jsonb       NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT procedures_encounter_patient_fkey FOREIGN KEY (encounter_id, patient_id) REFERENCES encounters (id, patient_id),
    CHECK ((planned_start IS NULL) = (planned_end IS NULL))
);
-- A patient's procedures newest request first.
CREATE INDEX procedures_patient_created ON procedures (patient_id, created_at DESC, id DESC);
-- The work lists by status (everything waiting for a slot, say).
CREATE INDEX procedures_status ON procedures (status, created_at DESC, id DESC);
-- Everyone's newest first, and the metrics' range of request times.
CREATE INDEX procedures_created ON procedures (created_at DESC, id DESC);
-- A day's list, and the metrics' range: what is planned to start within a
-- range.
CREATE INDEX procedures_planned_start ON procedures (planned_start) WHERE planned_start IS NOT NULL;
-- A room's, a surgeon's or a device's procedures.
CREATE INDEX procedures_resource_ids ON procedures USING gin (resource_ids);

-- The allocations: one row per resource a procedure takes (kind room, staff,
-- equipment), and one for the patient (kind patient, resource_id the
-- patient's id: a patient is never in two places at once). A resource is
-- busy over [starts_at, ends_at) and its turnover after it (cleaning,
-- set-up), so during is [starts_at, ends_at + turnover).
--
-- No double booking is the exclusion constraint's to enforce, not the
-- application's: two rows of one (kind, resource_id) whose during overlap
-- cannot both exist, whoever writes them and however they race. It covers
-- every row, held or booked: a released allocation is deleted, and a hold
-- that lapsed stays (and still blocks) until a writer deletes it, which is
-- why a writer deletes the lapsed holds its new rows overlap before
-- inserting them. A violation is SQLSTATE 23P01, which the store answers
-- with the resource taken (postgres.SlotTaken).
--
-- during is stored, not generated: timestamptz + interval is only stable (an
-- interval of days or months depends on the time zone), so PostgreSQL
-- refuses it as a generation expression. The store writes it, the CHECK
-- keeps it equal to the columns, and turnover holds no days or months (as a
-- Go duration never does), so the sum is the same in every time zone.
CREATE TABLE procedure_allocations (
    procedure_id uuid        NOT NULL REFERENCES procedures (id),
    kind         text        NOT NULL CHECK (kind IN ('room', 'staff', 'equipment', 'patient')),
    resource_id  uuid        NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    turnover     interval    NOT NULL DEFAULT '0'
                 CHECK (turnover >= interval '0' AND extract(month FROM turnover) = 0 AND extract(day FROM turnover) = 0),
    state        text        NOT NULL CHECK (state IN ('held', 'booked')),
    expires_at   timestamptz,
    priority     text        NOT NULL CHECK (priority IN ('elective', 'urgent', 'emergency')),
    during       tstzrange   NOT NULL,
    PRIMARY KEY (procedure_id, kind, resource_id),
    CHECK (ends_at > starts_at),
    CHECK (during = tstzrange(starts_at, ends_at + turnover, '[)')),
    -- A hold lapses at expires_at; a booking does not.
    CHECK ((state = 'held') = (expires_at IS NOT NULL)),
    CONSTRAINT procedure_allocations_no_overlap EXCLUDE USING gist (kind WITH =, resource_id WITH =, during WITH &&)
);
-- The busy lookups of the slot search and the bumps, by resource (or
-- patient) id whatever its kind; the constraint's own index serves lookups
-- that name the kind.
CREATE INDEX procedure_allocations_busy ON procedure_allocations USING gist (resource_id, during);

-- +goose Down
DROP TABLE procedure_allocations;
DROP TABLE procedures;
DROP TABLE procedure_resources;
-- The extension goes too, unless something else came to use it.
-- +goose StatementBegin
DO $$
BEGIN
    DROP EXTENSION IF EXISTS btree_gist;
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;
-- +goose StatementEnd
