-- +goose Up
-- Every version of a patient and of an allergy: the stores write one row
-- per create and per update, in the transaction that writes the current row
-- (patients, allergies), so a committed version is never missing and a
-- rolled-back change leaves none. resource is the version as the current row
-- held it; changed_at is when it was made (the resource's updatedAt);
-- changed_by is who made it, the actor as the write's audit record names it
-- (domain/audit.Actor), NULL when the write had no audit record of its own
-- and for the versions backfilled below. Rows are append-only: the triggers
-- refuse UPDATE, DELETE and TRUNCATE, whoever asks, as on the audit trail.
CREATE TABLE patient_versions (
    id         uuid        NOT NULL REFERENCES patients (id),
    version    integer     NOT NULL CHECK (version > 0),
    resource   jsonb       NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by jsonb,
    PRIMARY KEY (id, version)
);

CREATE TABLE allergy_versions (
    id         uuid        NOT NULL REFERENCES allergies (id),
    version    integer     NOT NULL CHECK (version > 0),
    resource   jsonb       NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by jsonb,
    PRIMARY KEY (id, version)
);

-- The current rows, as their current version: earlier versions were never
-- kept, so a history starts here.
INSERT INTO patient_versions (id, version, resource, changed_at)
    SELECT id, version, resource, updated_at FROM patients;
INSERT INTO allergy_versions (id, version, resource, changed_at)
    SELECT id, version, resource, updated_at FROM allergies;

-- +goose StatementBegin
-- version_refuse_change is the trigger that makes the version tables
-- append-only.
CREATE FUNCTION version_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: versions are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '42501',
              HINT = 'A stored version is never changed or removed; a change writes the next version.';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER patient_versions_append_only BEFORE UPDATE OR DELETE ON patient_versions
    FOR EACH ROW EXECUTE FUNCTION version_refuse_change();
CREATE TRIGGER patient_versions_no_truncate BEFORE TRUNCATE ON patient_versions
    FOR EACH STATEMENT EXECUTE FUNCTION version_refuse_change();
CREATE TRIGGER allergy_versions_append_only BEFORE UPDATE OR DELETE ON allergy_versions
    FOR EACH ROW EXECUTE FUNCTION version_refuse_change();
CREATE TRIGGER allergy_versions_no_truncate BEFORE TRUNCATE ON allergy_versions
    FOR EACH STATEMENT EXECUTE FUNCTION version_refuse_change();

REVOKE UPDATE, DELETE, TRUNCATE ON patient_versions, allergy_versions FROM PUBLIC;

-- +goose Down
DROP TABLE allergy_versions;
DROP TABLE patient_versions;
DROP FUNCTION version_refuse_change();
