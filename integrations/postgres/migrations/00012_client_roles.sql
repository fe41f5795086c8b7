-- +goose Up
-- The roles an OAuth2 client acts in (clinician, nurse, …). Each role grants a
-- fixed set of scopes on top of the client's own; the catalogue lives in the
-- code, so changing a role's scopes changes them for every client holding it.
ALTER TABLE oauth_clients ADD COLUMN roles text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE oauth_clients DROP COLUMN roles;
