-- +goose Up
-- Diagnostic reports (domain/diagnostic): the read model of the
-- DiagnosticReport process, one row per order holding its newest version.
-- resource is the report as the process keeps it (the order, specimens,
-- results, flags, callbacks, every verified version and the whole timeline);
-- the columns beside it are what lists and the quality metrics filter on.
-- version counts the timeline's entries: the store writes a version only
-- over an older one, so a retried write changes nothing.
--
-- category is the service the order goes to (laboratory or imaging, from
-- its items' kind), tests the codes of the ordered items (tests, panels and
-- imaging procedures as ordered, not a panel's members), and summary the
-- report as the metrics read it (diagnostic.Report.Summary), written with
-- each version so the metrics never read the history.
--
-- A report belongs to a registered patient, and one ordered during an
-- encounter to that encounter's patient (MATCH SIMPLE skips the pair when
-- there is no encounter). The store translates a violation (23503) by
-- constraint name into a validation error naming the API field
-- (integrations/postgres/diagnostic_store.go), so keep these names in step
-- with it. The encounter key is created before the pair, so an encounter
-- that does not exist is reported as encounterId, not patientId.
CREATE TABLE diagnostic_reports (
    id           uuid        PRIMARY KEY,          -- the order's id, UUIDv7
    patient_id   uuid        NOT NULL CONSTRAINT diagnostic_reports_patient_fkey REFERENCES patients (id),
    encounter_id uuid        CONSTRAINT diagnostic_reports_encounter_fkey REFERENCES encounters (id),
    status       text        NOT NULL CHECK (status IN ('registered', 'partial', 'preliminary', 'final', 'amended',
                                                         'corrected', 'appended', 'cancelled', 'entered-in-error')),
    category     text        NOT NULL CHECK (category IN ('laboratory', 'imaging')),
    priority     text        NOT NULL CHECK (priority IN ('routine', 'urgent', 'stat')),
    tests        text[]      NOT NULL,
    version      integer     NOT NULL CHECK (version > 0),
    resource     jsonb       NOT NULL,
    summary      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT diagnostic_reports_encounter_patient_fkey FOREIGN KEY (encounter_id, patient_id) REFERENCES encounters (id, patient_id)
);
-- A patient's reports newest first.
CREATE INDEX diagnostic_reports_patient_created ON diagnostic_reports (patient_id, created_at DESC, id DESC);
-- The work lists by status (everything awaiting verification, say).
CREATE INDEX diagnostic_reports_status ON diagnostic_reports (status, created_at DESC, id DESC);
-- Everyone's reports newest first, and the metrics' range of order times.
CREATE INDEX diagnostic_reports_created ON diagnostic_reports (created_at DESC, id DESC);

-- The alerts the DiagnosticReport process raises.
--
-- critical-result: a critical laboratory value waiting for its read-back
-- (critical). The ordering clinician is the alert's owner and is notified at
-- the first level (alert.Raise.WithOwner) beside the physicians and nurses
-- of the patient's unit, in the app, by push and by SMS; after 10 minutes
-- without an acknowledgement the on-call physician, on the same channels.
-- Walked three times, and a reminder every half hour while acknowledged but
-- unresolved, as the critical default does. The laboratory may resolve it
-- besides its recipients: the scientist who completes the read-back closes
-- the callback.
--
-- diagnostic-overdue: a STAT order past a turnaround target (urgent). The
-- physicians and nurses of the patient's unit in the app and by push; after
-- 15 minutes the laboratory on call, by SMS as well, who finds where the
-- specimen or the report stands. Walked twice, with an hourly reminder, as
-- the urgent default does; the laboratory may resolve it.
--
-- Each rule matches its category from info up, so the category follows its
-- own policy whatever severity it is raised with.
INSERT INTO escalation_policies (id, name, levels, repeat, resolve_reminder_seconds, resolver_roles) VALUES
('critical-result', 'Critical result awaiting read-back: the ordering clinician and the unit''s team → on-call physician', '[
  {"recipients":[{"kind":"unit-role","role":"physician"},{"kind":"unit-role","role":"nurse"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":600},
  {"recipients":[{"kind":"on-call","role":"physician"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":600}
 ]', 2, 1800, '{lab}'),
('diagnostic-overdue', 'STAT order past its turnaround target: the unit''s team → the laboratory on call', '[
  {"recipients":[{"kind":"unit-role","role":"physician"},{"kind":"unit-role","role":"nurse"}],"channels":["inapp","push"],"ackTimeoutSeconds":900},
  {"recipients":[{"kind":"on-call","role":"lab"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":900}
 ]', 1, 3600, '{lab}')
ON CONFLICT (id) DO NOTHING;
INSERT INTO alert_routing_rules (id, category, min_severity, policy_id) VALUES
('01936b3e-0000-7000-8000-000000000090', 'critical-result', 'info', 'critical-result'),
('01936b3e-0000-7000-8000-000000000091', 'diagnostic-overdue', 'info', 'diagnostic-overdue')
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM alert_routing_rules WHERE id IN ('01936b3e-0000-7000-8000-000000000090', '01936b3e-0000-7000-8000-000000000091');
DELETE FROM escalation_policies WHERE id IN ('critical-result', 'diagnostic-overdue')
    AND NOT EXISTS (SELECT 1 FROM alert_routing_rules r WHERE r.policy_id = escalation_policies.id);
DROP TABLE diagnostic_reports;
