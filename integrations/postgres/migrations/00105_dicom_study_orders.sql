-- +goose Up
-- The imaging order each DICOM study received by STOW-RS was linked to
-- (domain/dicom.StudyLink): one row per study, written in the same
-- transaction that waits for the diagnostic workflow's link-study Update,
-- so a study is linked once however often its instances are sent, and a
-- link the workflow refused leaves no row. accession_number is the
-- Accession Number (0008,0050) that named the order; linked_by the
-- practitioner the STOW-RS request acted for. report_id is the order the
-- store read from diagnostic_reports; it has no foreign key on purpose:
-- the key-share lock a foreign key takes on the report's row would block
-- the workflow's own write of that row (SELECT … FOR UPDATE) while this
-- transaction waits for the workflow.
CREATE TABLE dicom_study_orders (
    study_instance_uid text        PRIMARY KEY,
    report_id          uuid        NOT NULL,
    accession_number   text        NOT NULL,
    linked_by          uuid        NOT NULL,
    linked_at          timestamptz NOT NULL
);
-- An order's studies.
CREATE INDEX dicom_study_orders_report ON dicom_study_orders (report_id);

-- +goose Down
DROP TABLE dicom_study_orders;
