-- +goose Up
-- The care-team roles (a charge nurse, the rapid-response team) whose
-- holders may resolve a policy's alerts besides its recipients and the
-- clinicians of the alert's unit.
ALTER TABLE escalation_policies ADD COLUMN resolver_roles text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE escalation_policies DROP COLUMN resolver_roles;
