-- +goose Up
-- A notification is about an alert, or about another resource: a diagnostic
-- report sent to its orderer, corrected or withdrawn (about names it as
-- "DiagnosticReport/<id>"). Such a notification has no alert: alert_id is
-- the nil uuid, and nothing escalates it.
ALTER TABLE notifications ADD COLUMN about text NOT NULL DEFAULT '';
ALTER TABLE inbox_items ADD COLUMN about text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE inbox_items DROP COLUMN about;
ALTER TABLE notifications DROP COLUMN about;
