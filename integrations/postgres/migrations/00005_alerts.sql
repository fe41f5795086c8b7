-- +goose Up
-- The care-team directory: practitioners, their roles, units and contact
-- points, and the on-call schedule alert escalation resolves recipients from.
CREATE TABLE practitioners (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    roles      text[]      NOT NULL,
    units      text[]      NOT NULL DEFAULT '{}',
    contacts   jsonb       NOT NULL DEFAULT '[]',  -- [{"system":"email|phone|push","value":…}]
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX practitioners_units ON practitioners USING gin (units);

-- Who covers a role on a unit over [starts_at, ends_at); unit '' is hospital-wide.
CREATE TABLE on_call_shifts (
    id              uuid        PRIMARY KEY,
    practitioner_id uuid        NOT NULL REFERENCES practitioners (id),
    role            text        NOT NULL,
    unit            text        NOT NULL DEFAULT '',
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at)
);
CREATE INDEX on_call_shifts_lookup ON on_call_shifts (role, unit, starts_at, ends_at);

-- Escalation policies: ordered levels, each
-- {"recipients":[{"kind":"practitioner|unit-role|on-call","role":…,"practitionerId":…}],
--  "channels":["inapp","email","sms","push"],"ackTimeoutSeconds":N}.
CREATE TABLE escalation_policies (
    id                       text        PRIMARY KEY CHECK (id <> ''),
    name                     text        NOT NULL,
    levels                   jsonb       NOT NULL,
    repeat                   integer     NOT NULL DEFAULT 0 CHECK (repeat >= 0),
    resolve_reminder_seconds integer     NOT NULL DEFAULT 0 CHECK (resolve_reminder_seconds >= 0),
    created_at               timestamptz NOT NULL DEFAULT now()
);

-- Routing rules pick a policy by category ('' matches any) and minimum severity.
CREATE TABLE alert_routing_rules (
    id           uuid PRIMARY KEY,
    category     text NOT NULL DEFAULT '',
    min_severity text NOT NULL CHECK (min_severity IN ('info', 'warning', 'urgent', 'critical')),
    policy_id    text NOT NULL REFERENCES escalation_policies (id),
    UNIQUE (category, min_severity)
);

-- The alerts read model, written by the escalation's activities so the API
-- lists alerts without Temporal visibility.
CREATE TABLE alerts (
    id              uuid        PRIMARY KEY,
    patient_id      uuid        NOT NULL,
    encounter_id    uuid,
    unit            text        NOT NULL,
    severity        text        NOT NULL,
    category        text        NOT NULL,
    source          text        NOT NULL,
    message         text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved', 'exhausted')),
    level           integer     NOT NULL DEFAULT 0,   -- 1-based; 0 before the first notification
    round           integer     NOT NULL DEFAULT 0,
    policy_id       text        NOT NULL,
    raised_at       timestamptz NOT NULL,
    acknowledged_by uuid,
    acknowledged_at timestamptz,
    resolved_by     uuid,
    resolved_at     timestamptz,
    resolve_note    text        NOT NULL DEFAULT '',
    closed_at       timestamptz,                      -- resolved or exhausted
    updated_at      timestamptz NOT NULL
);
CREATE INDEX alerts_status_raised ON alerts (status, raised_at DESC, id DESC);
CREATE INDEX alerts_patient_raised ON alerts (patient_id, raised_at DESC, id DESC);
CREATE INDEX alerts_dedupe ON alerts (patient_id, category, source, status);

-- Everything that happened to an alert. key makes each entry idempotent:
-- "raised", "escalated/<level>/<round>", a notification id, …
CREATE TABLE alert_timeline (
    alert_id        uuid        NOT NULL REFERENCES alerts (id),
    key             text        NOT NULL,
    seq             bigserial   NOT NULL,
    kind            text        NOT NULL,
    at              timestamptz NOT NULL,
    level           integer     NOT NULL DEFAULT 0,
    round           integer     NOT NULL DEFAULT 0,
    practitioner_id uuid,
    name            text        NOT NULL DEFAULT '',
    channel         text        NOT NULL DEFAULT '',
    notification_id uuid,
    note            text        NOT NULL DEFAULT '',
    PRIMARY KEY (alert_id, key)
);
CREATE INDEX alert_timeline_order ON alert_timeline (alert_id, seq);

-- Defaults that ship with the engine. Critical: the patient's nurses, then the
-- charge nurse, then the on-call physician, then the rapid-response team.
INSERT INTO escalation_policies (id, name, levels, repeat, resolve_reminder_seconds) VALUES
('critical-default', 'Critical: nurse → charge nurse → on-call physician → rapid response', '[
  {"recipients":[{"kind":"unit-role","role":"nurse"}],"channels":["inapp","push"],"ackTimeoutSeconds":180},
  {"recipients":[{"kind":"unit-role","role":"charge-nurse"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":180},
  {"recipients":[{"kind":"on-call","role":"physician"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":300},
  {"recipients":[{"kind":"on-call","role":"rapid-response"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":300}
 ]', 2, 1800),
('urgent-default', 'Urgent: nurse → charge nurse → on-call physician', '[
  {"recipients":[{"kind":"unit-role","role":"nurse"}],"channels":["inapp","push"],"ackTimeoutSeconds":600},
  {"recipients":[{"kind":"unit-role","role":"charge-nurse"}],"channels":["inapp","push"],"ackTimeoutSeconds":600},
  {"recipients":[{"kind":"on-call","role":"physician"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":900}
 ]', 1, 3600),
('warning-default', 'Warning: nurse → charge nurse', '[
  {"recipients":[{"kind":"unit-role","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":1800},
  {"recipients":[{"kind":"unit-role","role":"charge-nurse"}],"channels":["inapp","email"],"ackTimeoutSeconds":3600}
 ]', 0, 0),
('info-default', 'Info: nurse, in the app', '[
  {"recipients":[{"kind":"unit-role","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":14400}
 ]', 0, 0);

INSERT INTO alert_routing_rules (id, category, min_severity, policy_id) VALUES
('01936b3e-0000-7000-8000-000000000001', '', 'info',     'info-default'),
('01936b3e-0000-7000-8000-000000000002', '', 'warning',  'warning-default'),
('01936b3e-0000-7000-8000-000000000003', '', 'urgent',   'urgent-default'),
('01936b3e-0000-7000-8000-000000000004', '', 'critical', 'critical-default');

-- +goose Down
DROP TABLE alert_timeline;
DROP TABLE alerts;
DROP TABLE alert_routing_rules;
DROP TABLE escalation_policies;
DROP TABLE on_call_shifts;
DROP TABLE practitioners;
