-- +goose Up
-- specimen-recollection: the laboratory rejected a tube (haemolysed,
-- clotted, insufficient, mislabelled, wrong container) and asks for another
-- (urgent for a STAT or urgent order, a warning otherwise). The physicians
-- and nurses of the unit that collected it, in the app and by push; after
-- 15 minutes without an acknowledgement the unit's charge nurse, who sees
-- that someone draws it. Walked twice with an hourly reminder; the alert is
-- resolved when the new tube is collected or the order ends, and the
-- laboratory may resolve it too.
INSERT INTO escalation_policies (id, name, levels, repeat, resolve_reminder_seconds, resolver_roles) VALUES
('specimen-recollection', 'Rejected specimen to recollect: the unit''s team → the charge nurse', '[
  {"recipients":[{"kind":"unit-role","role":"physician"},{"kind":"unit-role","role":"nurse"}],"channels":["inapp","push"],"ackTimeoutSeconds":900},
  {"recipients":[{"kind":"unit-role","role":"charge-nurse"}],"channels":["inapp","push","sms"],"ackTimeoutSeconds":900}
 ]', 1, 3600, '{lab}')
ON CONFLICT (id) DO NOTHING;
INSERT INTO alert_routing_rules (id, category, min_severity, policy_id) VALUES
('01936b3e-0000-7000-8000-000000000097', 'specimen-recollection', 'info', 'specimen-recollection')
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM alert_routing_rules WHERE id = '01936b3e-0000-7000-8000-000000000097';
DELETE FROM escalation_policies WHERE id = 'specimen-recollection'
    AND NOT EXISTS (SELECT 1 FROM alert_routing_rules r WHERE r.policy_id = escalation_policies.id);
