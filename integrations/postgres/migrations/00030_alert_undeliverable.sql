-- +goose Up
-- An alert no level of its policy could deliver (nobody to notify at any
-- level) is closed as undeliverable, after its operator alarm went to the
-- fallback contact: a status of its own, so the list can filter on it.
ALTER TABLE alerts DROP CONSTRAINT alerts_status_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_status_check
    CHECK (status IN ('open', 'acknowledged', 'resolved', 'exhausted', 'undeliverable'));

-- +goose Down
UPDATE alerts SET status = 'exhausted' WHERE status = 'undeliverable';
ALTER TABLE alerts DROP CONSTRAINT alerts_status_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_status_check
    CHECK (status IN ('open', 'acknowledged', 'resolved', 'exhausted'));
