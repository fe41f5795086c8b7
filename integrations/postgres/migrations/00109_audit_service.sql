-- +goose Up
-- The calling service an audit record names (Record.Service): what a
-- service calling the API says it is, in X-Service-Name. The default reads
-- back as a record without the field, whose canonical form omits it:
-- records sealed before this migration verify as they did, and the sealer
-- hashes the service of every record after it.
ALTER TABLE audit_events ADD COLUMN service text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN service;
