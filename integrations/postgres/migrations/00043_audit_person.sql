-- +goose Up
-- Audit records name the person as well as the client: the signed-in user
-- and their practitioner, or the practitioner a machine client asserted with
-- X-On-Behalf-Of (actor_asserted), and the session the token belonged to.
ALTER TABLE audit_events
    ADD COLUMN actor_user         text    NOT NULL DEFAULT '',
    ADD COLUMN actor_practitioner text    NOT NULL DEFAULT '',
    ADD COLUMN actor_asserted     boolean NOT NULL DEFAULT false,
    ADD COLUMN actor_session      text    NOT NULL DEFAULT '';
-- One person's activity by time, whichever client they used.
CREATE INDEX audit_events_actor_user ON audit_events (actor_user, recorded_at) WHERE actor_user <> '';
CREATE INDEX audit_events_actor_practitioner ON audit_events (actor_practitioner, recorded_at) WHERE actor_practitioner <> '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN actor_session, DROP COLUMN actor_asserted,
    DROP COLUMN actor_practitioner, DROP COLUMN actor_user;
