-- +goose Up
-- Clinical records reference an existing patient, and a record made during
-- an encounter belongs to that encounter's patient: a note (or a care plan
-- that names an encounter) carries (encounter_id, patient_id), and that pair
-- must be an encounter's. The store translates a violation (23503) by
-- constraint name into a validation error naming the API field
-- (integrations/postgres/errors.go), so keep these names in step with it.
--
-- The constraints are added NOT VALID: they hold for every row written from
-- now on, and a long-lived development database whose older rows name
-- patients that were never registered still migrates. Each is then
-- validated only where no existing row violates it, in this transaction:
-- the check is one anti-join per table, cheap at read-model sizes, and safe
-- because adding the constraint already holds a lock that keeps writes out
-- until the commit, so no violating row can slip in between the check and
-- the validation. A fresh or clean database thus ends with every constraint
-- validated; one with orphans keeps them NOT VALID (new rows are still
-- checked) until an operator cleans the orphans and runs
-- ALTER TABLE … VALIDATE CONSTRAINT, which takes a lock that does not block
-- writes.
--
-- encounters (id, patient_id) is unique because id is; the index is what a
-- composite foreign key needs as its target.
CREATE UNIQUE INDEX encounters_id_patient ON encounters (id, patient_id);

ALTER TABLE encounters ADD CONSTRAINT encounters_patient_fkey
    FOREIGN KEY (patient_id) REFERENCES patients (id) NOT VALID;

-- The order matters for the answer: PostgreSQL checks a row's foreign keys
-- in the order of their triggers' names, which follow creation, so a plan
-- naming an encounter that does not exist is reported by the encounter key
-- (encounterId) before the pair (patientId). The note store does not rely on
-- it: it reads the encounter's patient first.
ALTER TABLE notes ADD CONSTRAINT notes_patient_fkey
    FOREIGN KEY (patient_id) REFERENCES patients (id) NOT VALID;
ALTER TABLE notes ADD CONSTRAINT notes_encounter_fkey
    FOREIGN KEY (encounter_id) REFERENCES encounters (id) NOT VALID;
ALTER TABLE notes ADD CONSTRAINT notes_encounter_patient_fkey
    FOREIGN KEY (encounter_id, patient_id) REFERENCES encounters (id, patient_id) NOT VALID;

-- encounter_id is nullable: a plan without an encounter is checked against
-- the patient alone (MATCH SIMPLE skips a pair with a NULL).
ALTER TABLE care_plans ADD CONSTRAINT care_plans_patient_fkey
    FOREIGN KEY (patient_id) REFERENCES patients (id) NOT VALID;
ALTER TABLE care_plans ADD CONSTRAINT care_plans_encounter_fkey
    FOREIGN KEY (encounter_id) REFERENCES encounters (id) NOT VALID;
ALTER TABLE care_plans ADD CONSTRAINT care_plans_encounter_patient_fkey
    FOREIGN KEY (encounter_id, patient_id) REFERENCES encounters (id, patient_id) NOT VALID;

ALTER TABLE allergies ADD CONSTRAINT allergies_patient_fkey
    FOREIGN KEY (patient_id) REFERENCES patients (id) NOT VALID;

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM encounters e WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = e.patient_id)) THEN
        ALTER TABLE encounters VALIDATE CONSTRAINT encounters_patient_fkey;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM notes n WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = n.patient_id)) THEN
        ALTER TABLE notes VALIDATE CONSTRAINT notes_patient_fkey;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM notes n WHERE NOT EXISTS (SELECT 1 FROM encounters e WHERE e.id = n.encounter_id)) THEN
        ALTER TABLE notes VALIDATE CONSTRAINT notes_encounter_fkey;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM notes n WHERE NOT EXISTS (
            SELECT 1 FROM encounters e WHERE e.id = n.encounter_id AND e.patient_id = n.patient_id)) THEN
        ALTER TABLE notes VALIDATE CONSTRAINT notes_encounter_patient_fkey;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM care_plans c WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = c.patient_id)) THEN
        ALTER TABLE care_plans VALIDATE CONSTRAINT care_plans_patient_fkey;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM care_plans c WHERE c.encounter_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.id = c.encounter_id)) THEN
        ALTER TABLE care_plans VALIDATE CONSTRAINT care_plans_encounter_fkey;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM care_plans c WHERE c.encounter_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM encounters e WHERE e.id = c.encounter_id AND e.patient_id = c.patient_id)) THEN
        ALTER TABLE care_plans VALIDATE CONSTRAINT care_plans_encounter_patient_fkey;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM allergies a WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = a.patient_id)) THEN
        ALTER TABLE allergies VALIDATE CONSTRAINT allergies_patient_fkey;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE allergies DROP CONSTRAINT IF EXISTS allergies_patient_fkey;
ALTER TABLE care_plans DROP CONSTRAINT IF EXISTS care_plans_encounter_patient_fkey;
ALTER TABLE care_plans DROP CONSTRAINT IF EXISTS care_plans_encounter_fkey;
ALTER TABLE care_plans DROP CONSTRAINT IF EXISTS care_plans_patient_fkey;
ALTER TABLE notes DROP CONSTRAINT IF EXISTS notes_encounter_patient_fkey;
ALTER TABLE notes DROP CONSTRAINT IF EXISTS notes_encounter_fkey;
ALTER TABLE notes DROP CONSTRAINT IF EXISTS notes_patient_fkey;
ALTER TABLE encounters DROP CONSTRAINT IF EXISTS encounters_patient_fkey;
DROP INDEX IF EXISTS encounters_id_patient;
