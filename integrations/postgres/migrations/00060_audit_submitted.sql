-- +goose Up
-- Audit hardening: submitted records name their submitter, and a
-- break-the-glass access reaches the privacy officer.
--
-- A record a service submitted (POST /v1/audit/events) is flagged and names
-- its submitter — the client, and the signed-in user and their practitioner
-- when a user's token submitted it — apart from the actor it describes,
-- which is only the submitter's word. The columns' defaults read back as a
-- record without the fields (Record.Submitted false, no Submitter), whose
-- canonical form omits them: records sealed before this migration verify as
-- they did, and the sealer hashes the new fields of every record after it.
ALTER TABLE audit_events
    ADD COLUMN submitted              boolean NOT NULL DEFAULT false,
    ADD COLUMN submitter_client       text    NOT NULL DEFAULT '',
    ADD COLUMN submitter_user         text    NOT NULL DEFAULT '',
    ADD COLUMN submitter_practitioner text    NOT NULL DEFAULT '';
-- A person's activity includes what they submitted.
CREATE INDEX audit_events_submitter_user ON audit_events (submitter_user, recorded_at) WHERE submitter_user <> '';
CREATE INDEX audit_events_submitter_practitioner ON audit_events (submitter_practitioner, recorded_at) WHERE submitter_practitioner <> '';

-- Every break-the-glass access raises an alert for the privacy officer's
-- review (category break-glass, which also names this policy): the privacy
-- officer on call — on the patient's unit, else hospital-wide — in the app and
-- by email, walked three times an hour apart, and reminded daily while
-- acknowledged but unresolved. With nobody holding the role the alert is
-- undeliverable, which alarms the operator's fallback contact.
INSERT INTO escalation_policies (id, name, levels, repeat, resolve_reminder_seconds) VALUES
('break-glass-review', 'Break-the-glass review: the privacy officer on call', '[
  {"recipients":[{"kind":"on-call","role":"privacy-officer"}],"channels":["inapp","email"],"ackTimeoutSeconds":3600}
 ]', 2, 86400)
ON CONFLICT (id) DO NOTHING;
INSERT INTO alert_routing_rules (id, category, min_severity, policy_id) VALUES
('01936b3e-0000-7000-8000-000000000060', 'break-glass', 'info', 'break-glass-review')
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM alert_routing_rules WHERE id = '01936b3e-0000-7000-8000-000000000060';
DELETE FROM escalation_policies WHERE id = 'break-glass-review'
    AND NOT EXISTS (SELECT 1 FROM alert_routing_rules WHERE policy_id = 'break-glass-review');
ALTER TABLE audit_events DROP COLUMN submitter_practitioner, DROP COLUMN submitter_user,
    DROP COLUMN submitter_client, DROP COLUMN submitted;
