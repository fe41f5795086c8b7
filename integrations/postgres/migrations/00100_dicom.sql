-- +goose Up
-- DICOM instances received by STOW-RS (domain/dicom): one row per SOP
-- instance, the index QIDO-RS searches and WADO-RS finds the stored file
-- by. The file itself lies under the storage root at path, named by its
-- SHA-256, so an instance re-sent with other bytes can never overwrite the
-- one stored; the row is the SOP Instance UID's one entry, so a re-sent
-- instance is not stored twice.
--
-- patient_id is our patient, when the file's Patient ID (0010,0020) is a
-- registered patient's MRN; otherwise the instance stays unlinked, with
-- dicom_patient_id and issuer as the modality sent them. patient_name is
-- the Patient's Name (0010,0010) decoded to UTF-8 in its PN form
-- ("Family^Given"). study_time is the Study Time (0008,0030) as sent.
-- attributes are the header's top-level string elements by tag
-- ("00080060": "CT"), small values only, for reads that need more than
-- the indexed columns.
CREATE TABLE dicom_instances (
    sop_instance_uid    text        PRIMARY KEY,
    sop_class_uid       text        NOT NULL,
    study_instance_uid  text        NOT NULL,
    series_instance_uid text        NOT NULL,
    patient_id          uuid        CONSTRAINT dicom_instances_patient_fkey REFERENCES patients (id),
    dicom_patient_id    text        NOT NULL DEFAULT '',
    issuer              text        NOT NULL DEFAULT '',
    patient_name        text        NOT NULL DEFAULT '',
    accession_number    text        NOT NULL DEFAULT '',
    modality            text        NOT NULL DEFAULT '',
    study_date          date,
    study_time          text        NOT NULL DEFAULT '',
    study_description   text        NOT NULL DEFAULT '',
    series_number       integer,
    series_description  text        NOT NULL DEFAULT '',
    instance_number     integer,
    transfer_syntax_uid text        NOT NULL,
    size                bigint      NOT NULL CHECK (size > 0),
    sha256              bytea       NOT NULL CHECK (length(sha256) = 32),
    path                text        NOT NULL,
    received_at         timestamptz NOT NULL,
    attributes          jsonb       NOT NULL DEFAULT '{}'
);
-- QIDO-RS: a study's instances, and studies by patient, accession number,
-- date and our patient.
CREATE INDEX dicom_instances_study ON dicom_instances (study_instance_uid);
CREATE INDEX dicom_instances_dicom_patient ON dicom_instances (dicom_patient_id);
CREATE INDEX dicom_instances_accession ON dicom_instances (accession_number);
CREATE INDEX dicom_instances_study_date ON dicom_instances (study_date);
CREATE INDEX dicom_instances_patient ON dicom_instances (patient_id);

-- +goose Down
DROP TABLE dicom_instances;
