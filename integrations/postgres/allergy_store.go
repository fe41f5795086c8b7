package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// Allergy event types published on the clinical topic, keyed by patient.
const (
	EventAllergyRecorded = "allergy.recorded"
	EventAllergyUpdated  = "allergy.updated"
)

const entityAllergy = "AllergyIntolerance"

// AllergyStore keeps patients' allergies and intolerances in PostgreSQL and
// writes their events to the outbox in the same transaction.
type AllergyStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
}

// NewAllergyStore returns a store on pool.
func NewAllergyStore(pool *pgxpool.Pool) *AllergyStore {
	return &AllergyStore{pool: pool, newEventID: uuid.NewV7}
}

// Create stores a new record, as its version 1, with its allergy.recorded
// event. An active record of a substance the patient already has an active
// record of is refused with a *allergy.DuplicateError naming that record.
// rec, when not nil, is the request's audit record, stored in the same
// transaction; its actor is the version's.
func (s *AllergyStore) Create(ctx context.Context, rec *audit.Record, a allergy.Allergy) (allergy.Allergy, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := refuseDuplicate(ctx, tx, a); err != nil {
			return err
		}
		if err := insertAllergy(ctx, tx, a, rec); err != nil {
			return err
		}
		if err := s.appendAllergyEvent(ctx, tx, EventAllergyRecorded, a); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, entityAllergy, a.ID, a.PatientID)
	})
	if err != nil {
		return allergy.Allergy{}, s.duplicateRace(ctx, a, err)
	}
	return a, nil
}

// Get returns the record with id, or domain.ErrNotFound.
func (s *AllergyStore) Get(ctx context.Context, id uuid.UUID) (allergy.Allergy, error) {
	return loadResource[allergy.Allergy](ctx, s.pool, "allergies", id, false)
}

// Versions returns every stored version of the record with id, oldest
// first, or domain.ErrNotFound.
func (s *AllergyStore) Versions(ctx context.Context, id uuid.UUID) ([]allergy.Allergy, error) {
	return listVersions[allergy.Allergy](ctx, s.pool, allergyVersions, id)
}

// ListForPatient returns the patient's records, oldest first; only the
// active ones (see allergy.Allergy.Active) when onlyActive.
func (s *AllergyStore) ListForPatient(ctx context.Context, patientID uuid.UUID, onlyActive bool) ([]allergy.Allergy, error) {
	return listAllergies(ctx, s.pool, patientID, onlyActive)
}

// Update loads the record under a row lock, applies change and stores the
// result, and the new version in allergy_versions, with its allergy.updated
// event. An error from change aborts the write; a change that makes the
// record duplicate another active one is refused with a
// *allergy.DuplicateError. rec, when not nil, is the request's audit record,
// stored in the same transaction; its actor is the version's.
func (s *AllergyStore) Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(allergy.Allergy) (allergy.Allergy, error)) (allergy.Allergy, error) {
	var candidate allergy.Allergy
	k := resourceKind[allergy.Allergy]{
		table: "allergies", entity: entityAllergy,
		id:      func(a allergy.Allergy) uuid.UUID { return a.ID },
		patient: func(a allergy.Allergy) uuid.UUID { return a.PatientID },
		version: func(a allergy.Allergy) int { return a.Version },
		keeps: func(current, next allergy.Allergy) string {
			switch {
			case next.ID != current.ID:
				return "id"
			case next.PatientID != current.PatientID:
				return "patient"
			}
			return ""
		},
		save: func(ctx context.Context, tx pgx.Tx, _, next allergy.Allergy) error {
			candidate = next
			if err := refuseDuplicate(ctx, tx, next); err != nil {
				return err
			}
			if err := saveAllergy(ctx, tx, next, rec); err != nil {
				return err
			}
			return s.appendAllergyEvent(ctx, tx, EventAllergyUpdated, next)
		},
	}
	updated, err := updateResource(ctx, s.pool, k, id, rec, change)
	if err != nil {
		return allergy.Allergy{}, s.duplicateRace(ctx, candidate, err)
	}
	return updated, nil
}

// refuseDuplicate looks for an active record of the same substance. The
// patient's active records are few; the unique indexes catch a concurrent
// write this check cannot see.
func refuseDuplicate(ctx context.Context, tx pgx.Tx, a allergy.Allergy) error {
	if !a.Active() {
		return nil
	}
	active, err := listAllergies(ctx, tx, a.PatientID, true)
	if err != nil {
		return err
	}
	if dup, ok := allergy.FindDuplicate(active, a); ok {
		return &allergy.DuplicateError{ExistingID: dup.ID}
	}
	return nil
}

// duplicateRace turns a unique-index violation, left by a concurrent write
// of the same substance, into the *allergy.DuplicateError the check would
// have reported, once that write is visible.
func (s *AllergyStore) duplicateRace(ctx context.Context, a allergy.Allergy, err error) error {
	if !errors.Is(err, domain.ErrConflict) || a.PatientID == uuid.Nil {
		return err
	}
	active, lerr := s.ListForPatient(ctx, a.PatientID, true)
	if lerr != nil {
		return err
	}
	if dup, ok := allergy.FindDuplicate(active, a); ok {
		return &allergy.DuplicateError{ExistingID: dup.ID}
	}
	return err
}

func listAllergies(ctx context.Context, q rowsQuerier, patientID uuid.UUID, onlyActive bool) ([]allergy.Allergy, error) {
	return listResources[allergy.Allergy](ctx, q, "allergies",
		`SELECT resource FROM allergies WHERE patient_id = $1 AND (active OR NOT $2) ORDER BY created_at, id`,
		patientID, onlyActive)
}

func insertAllergy(ctx context.Context, tx pgx.Tx, a allergy.Allergy, rec *audit.Record) error {
	resource, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode allergy: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO allergies (id, patient_id, code_key, text_key, category, criticality, clinical_status,
		                       verification_status, active, version, resource, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		a.ID, a.PatientID, a.Substance.CodeKey(), a.Substance.TextKey(), a.Category, a.Criticality, a.ClinicalStatus,
		a.VerificationStatus, a.Active(), a.Version, resource, a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return allergyWriteError("insert", a.ID, err)
	}
	return appendVersion(ctx, tx, allergyVersions, a.ID, a.Version, resource, a.UpdatedAt, rec)
}

func saveAllergy(ctx context.Context, tx pgx.Tx, a allergy.Allergy, rec *audit.Record) error {
	resource, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode allergy: %w", err)
	}
	_, err = tx.Exec(ctx, `
		UPDATE allergies SET code_key = $2, text_key = $3, category = $4, criticality = $5, clinical_status = $6,
		       verification_status = $7, active = $8, version = $9, resource = $10, updated_at = $11
		WHERE id = $1`,
		a.ID, a.Substance.CodeKey(), a.Substance.TextKey(), a.Category, a.Criticality, a.ClinicalStatus,
		a.VerificationStatus, a.Active(), a.Version, resource, a.UpdatedAt)
	if err != nil {
		return allergyWriteError("update", a.ID, err)
	}
	return appendVersion(ctx, tx, allergyVersions, a.ID, a.Version, resource, a.UpdatedAt, rec)
}

// allergyWriteError translates a duplicate key (the same id, or a second
// active record of one substance) to domain.ErrConflict.
func allergyWriteError(op string, id uuid.UUID, err error) error {
	return writeError("allergy", op, id, err)
}

func (s *AllergyStore) appendAllergyEvent(ctx context.Context, tx pgx.Tx, eventType string, a allergy.Allergy) error {
	return appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
		Type: eventType, PatientID: a.PatientID, Resource: a, Time: a.UpdatedAt,
		Source:  "/v1/patients/" + a.PatientID.String() + "/allergies",
		Subject: entityAllergy + "/" + a.ID.String(),
		Link:    "/v1/clinical/allergies/" + a.ID.String(),
	})
}
