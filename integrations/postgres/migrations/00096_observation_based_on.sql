-- +goose Up
-- based_on is the diagnostic order (FHIR Observation.basedOn, a
-- ServiceRequest; the id of its diagnostic_reports row) a result recorded
-- through the diagnostic service answers; NULL for every other observation.
-- It lets a consumer of the observation events tell the diagnostic
-- service's results, whose critical values the diagnostic process calls
-- back itself, from the rest. Only the diagnostic service sets it, from the
-- order it holds, so it has no foreign key: a key's trigger would be queued
-- for every row of a batch's COPY, NULL or not (see 00070_observations.sql
-- for what the patient key costs). A nullable column without a default
-- rewrites no partition.
ALTER TABLE observations ADD COLUMN based_on uuid;

-- +goose Down
ALTER TABLE observations DROP COLUMN based_on;
