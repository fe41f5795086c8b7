-- +goose Up
-- Prescriptions (domain/prescription): the read model of the Prescription
-- process, one row per prescription holding its newest version. resource is
-- the prescription as the process keeps it (details, findings, checks,
-- dispenses, administrations and the whole timeline); the columns beside it
-- are what lists and the medication checks filter on. version counts the
-- timeline's entries: the store writes a version only over an older one, so
-- a retried write changes nothing.
--
-- A prescription belongs to a registered patient, and one written during an
-- encounter to that encounter's patient (MATCH SIMPLE skips the pair when
-- there is no encounter). The store translates a violation (23503) by
-- constraint name into a validation error naming the API field
-- (integrations/postgres/prescription_store.go), so keep these names in
-- step with it. The encounter key is created before the pair, so an
-- encounter that does not exist is reported as encounterId, not patientId.
CREATE TABLE prescriptions (
    id           uuid        PRIMARY KEY,          -- UUIDv7
    patient_id   uuid        NOT NULL CONSTRAINT prescriptions_patient_fkey REFERENCES patients (id),
    encounter_id uuid        CONSTRAINT prescriptions_encounter_fkey REFERENCES encounters (id),
    status       text        NOT NULL CHECK (status IN ('draft', 'on-hold', 'active', 'cancelled', 'stopped', 'completed')),
    version      integer     NOT NULL CHECK (version > 0),
    resource     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT prescriptions_encounter_patient_fkey FOREIGN KEY (encounter_id, patient_id) REFERENCES encounters (id, patient_id)
);
-- A patient's prescriptions newest first (lists, the medication history),
-- and everyone's for the unfiltered list.
CREATE INDEX prescriptions_patient_created ON prescriptions (patient_id, created_at DESC, id DESC);
CREATE INDEX prescriptions_created ON prescriptions (created_at DESC, id DESC);
-- The patient's open prescriptions (prescription.Status.Open), which every
-- check of a new order reads: a few rows per patient among many closed ones.
CREATE INDEX prescriptions_open ON prescriptions (patient_id, created_at, id)
    WHERE status IN ('draft', 'on-hold', 'active');

-- The alerts the Prescription process raises.
--
-- prescription-hold: a prescription held by a finding that nobody overrode,
-- cancelled or discontinued in time (urgent). The pharmacist on call — on the
-- patient's unit, else hospital-wide — in the app and by email; after 15
-- minutes the pharmacist again by SMS and push together with the on-call
-- physician, who may act as prescriber. Walked twice, and a reminder each
-- hour while acknowledged but unresolved, as the urgent default does. Any
-- pharmacist may resolve it, not only the one notified: whoever overrides
-- or cancels the order ends the hold.
--
-- prescription-finding: a recheck (a new allergy, a new prescription) found
-- a new problem with an active prescription (urgent). The prescriber is the
-- alert's owner and is notified at the first level beside the pharmacist on
-- call (alert.Raise.WithOwner); the levels are those of the hold.
--
-- medication-dose-due: a scheduled dose not recorded in time (warning). No
-- rule of its own: the catch-all warning rule (warning-default, 00005) sends
-- it to the nurses of the patient's unit, then the charge nurse, as the
-- other warnings of the ward.
--
-- Each rule matches its category from info up, so the category reaches the
-- pharmacist whatever severity it is raised with.
INSERT INTO escalation_policies (id, name, levels, repeat, resolve_reminder_seconds, resolver_roles) VALUES
('prescription-hold', 'Prescription on hold: the pharmacist on call → pharmacist and on-call physician', '[
  {"recipients":[{"kind":"on-call","role":"pharmacist"}],"channels":["inapp","email"],"ackTimeoutSeconds":900},
  {"recipients":[{"kind":"on-call","role":"pharmacist"},{"kind":"on-call","role":"physician"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":900}
 ]', 1, 3600, '{pharmacist}'),
('prescription-finding', 'New finding on an active prescription: the prescriber and the pharmacist on call → pharmacist and on-call physician', '[
  {"recipients":[{"kind":"on-call","role":"pharmacist"}],"channels":["inapp","email"],"ackTimeoutSeconds":900},
  {"recipients":[{"kind":"on-call","role":"pharmacist"},{"kind":"on-call","role":"physician"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":900}
 ]', 1, 3600, '{pharmacist}')
ON CONFLICT (id) DO NOTHING;
INSERT INTO alert_routing_rules (id, category, min_severity, policy_id) VALUES
('01936b3e-0000-7000-8000-000000000080', 'prescription-hold', 'info', 'prescription-hold'),
('01936b3e-0000-7000-8000-000000000081', 'prescription-finding', 'info', 'prescription-finding')
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM alert_routing_rules WHERE id IN ('01936b3e-0000-7000-8000-000000000080', '01936b3e-0000-7000-8000-000000000081');
DELETE FROM escalation_policies WHERE id IN ('prescription-hold', 'prescription-finding')
    AND NOT EXISTS (SELECT 1 FROM alert_routing_rules r WHERE r.policy_id = escalation_policies.id);
DROP TABLE prescriptions;
