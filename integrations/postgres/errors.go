package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/zarish-sphere/zarish/domain"
)

// translate is the one translation of PostgreSQL errors into domain errors
// at the store boundary, what naming the operation: no rows is
// domain.ErrNotFound, a unique violation domain.ErrConflict, a missing
// referenced row a *domain.ValidationError naming the API field that
// referenced it (see referenceFields) or else domain.ErrNotFound, and data
// the database cannot hold (a NUL byte, bytes that are not UTF-8, a value
// too large for its index) a *domain.ValidationError, so it is answered 400
// and never retried.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, domain.ErrConflict)
		case "23503": // foreign_key_violation
			if f, ok := referenceFields[pgErr.ConstraintName]; ok {
				return &domain.ValidationError{Fields: []domain.FieldError{f}}
			}
			return fmt.Errorf("%s: referenced row missing: %w", what, domain.ErrNotFound)
		case "22021", "22P05": // invalid byte sequence, untranslatable character
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: "(body)", Message: "holds a character that cannot be stored (NUL or not UTF-8)"}}}
		case "54000", "22001": // program limit exceeded (index row too large), string too long
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: "(body)", Message: "holds a value too large to store"}}}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Messages of the references a caller names.
const (
	unknownPatient      = "is not a registered patient"
	unknownEncounter    = "is not a recorded encounter"
	notEncounterPatient = "is not the patient of the encounter"
)

// referenceFields names, by foreign-key constraint (migration
// 00050_patient_references.sql), the API field whose value referenced a row
// that does not exist: a write naming an unknown patient or encounter is the
// caller's mistake, answered 400 naming the field, not a missing resource.
var referenceFields = map[string]domain.FieldError{
	"encounters_patient_fkey":           {Field: "patientId", Message: unknownPatient},
	"notes_patient_fkey":                {Field: "patientId", Message: unknownPatient},
	"notes_encounter_fkey":              {Field: "encounterId", Message: unknownEncounter},
	"notes_encounter_patient_fkey":      {Field: "patientId", Message: notEncounterPatient},
	"care_plans_patient_fkey":           {Field: "patientId", Message: unknownPatient},
	"care_plans_encounter_fkey":         {Field: "encounterId", Message: unknownEncounter},
	"care_plans_encounter_patient_fkey": {Field: "patientId", Message: notEncounterPatient},
	"allergies_patient_fkey":            {Field: "patientId", Message: unknownPatient},
	"auth_launches_patient_fkey":        {Field: "patientId", Message: unknownPatient},
	"auth_launches_encounter_fkey":      {Field: "encounterId", Message: unknownEncounter},
	// 00070_observations.sql. A batch of observations is answered per item
	// (items[i].patientId) by the store; these name the field of one write.
	"observations_patient_fkey":           {Field: "patientId", Message: unknownPatient},
	"observations_encounter_patient_fkey": {Field: "patientId", Message: notEncounterPatient},
	"news2_scores_patient_fkey":           {Field: "patientId", Message: unknownPatient},
	"spo2_scale_decisions_patient_fkey":   {Field: "patientId", Message: unknownPatient},
	// 00080_prescriptions.sql, 00090_diagnostics.sql.
	"prescriptions_patient_fkey":                {Field: "patientId", Message: unknownPatient},
	"prescriptions_encounter_fkey":              {Field: "encounterId", Message: unknownEncounter},
	"prescriptions_encounter_patient_fkey":      {Field: "patientId", Message: notEncounterPatient},
	"diagnostic_reports_patient_fkey":           {Field: "patientId", Message: unknownPatient},
	"diagnostic_reports_encounter_fkey":         {Field: "encounterId", Message: unknownEncounter},
	"diagnostic_reports_encounter_patient_fkey": {Field: "patientId", Message: notEncounterPatient},
	// 00098_procedures.sql.
	"procedures_patient_fkey":           {Field: "patientId", Message: unknownPatient},
	"procedures_encounter_fkey":         {Field: "encounterId", Message: unknownEncounter},
	"procedures_encounter_patient_fkey": {Field: "patientId", Message: notEncounterPatient},
}
