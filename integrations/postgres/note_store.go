package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/note"
)

// Note event types published on the clinical topic, keyed by patient.
const (
	EventNoteCreated = "note.created"
	EventNoteUpdated = "note.updated"
	EventNoteSigned  = "note.signed"
	// EventNoteAmended is published for a signed note when an amendment of it
	// is signed and supersedes it.
	EventNoteAmended = "note.amended"
)

// NoteStore keeps clinical notes in PostgreSQL and writes their events to the
// outbox in the same transaction.
type NoteStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
}

// NewNoteStore returns a store on pool.
func NewNoteStore(pool *pgxpool.Pool) *NoteStore {
	return &NoteStore{pool: pool, newEventID: uuid.NewV7}
}

// Create stores a new note with its note.created event. rec, when not nil,
// is the request's audit record, stored in the same transaction. The note's
// patient must be its encounter's: domain.ErrNotFound when the encounter was
// never recorded, a *domain.ValidationError naming patientId when the
// encounter is another patient's (the foreign keys of the notes table hold
// the same, whatever the writer).
func (s *NoteStore) Create(ctx context.Context, rec *audit.Record, n note.Note) (note.Note, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := requireEncounterPatient(ctx, tx, n.EncounterID, n.PatientID); err != nil {
			return err
		}
		if err := insertNote(ctx, tx, n); err != nil {
			return err
		}
		if err := s.appendNoteEvent(ctx, tx, EventNoteCreated, n); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, "DocumentReference", n.ID, n.PatientID)
	})
	if err != nil {
		return note.Note{}, err
	}
	return n, nil
}

// Get returns the note with id, or domain.ErrNotFound.
func (s *NoteStore) Get(ctx context.Context, id uuid.UUID) (note.Note, error) {
	return loadResource[note.Note](ctx, s.pool, "notes", id, false)
}

// ListForEncounter returns every note of the encounter, amendments and the
// originals they supersede included, oldest first.
func (s *NoteStore) ListForEncounter(ctx context.Context, encounterID uuid.UUID) ([]note.Note, error) {
	return listResources[note.Note](ctx, s.pool, "notes",
		`SELECT resource FROM notes WHERE encounter_id = $1 ORDER BY created_at, id`, encounterID)
}

// Update loads the note under a row lock, applies change (an edit or a
// signature) and stores the result with its event: note.signed when change
// signed the note, note.updated otherwise. Signing an amendment also marks
// the note it amends as superseded, with a note.amended event, in the same
// transaction. An error from change aborts the write. rec, when not nil, is
// the request's audit record, stored in the same transaction.
func (s *NoteStore) Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(note.Note) (note.Note, error)) (note.Note, error) {
	k := resourceKind[note.Note]{
		table: "notes", entity: "DocumentReference",
		id:      func(n note.Note) uuid.UUID { return n.ID },
		patient: func(n note.Note) uuid.UUID { return n.PatientID },
		version: func(n note.Note) int { return n.Version },
		keeps: func(current, next note.Note) string {
			switch {
			case next.ID != current.ID:
				return "id"
			case next.EncounterID != current.EncounterID:
				return "encounter"
			case next.PatientID != current.PatientID:
				return "patient"
			case next.Author != current.Author:
				return "author"
			case next.Type != current.Type:
				return "type"
			}
			return ""
		},
		save: func(ctx context.Context, tx pgx.Tx, current, next note.Note) error {
			event := EventNoteUpdated
			if current.Status == note.StatusDraft && next.Status == note.StatusSigned {
				event = EventNoteSigned
				if next.AmendsID != nil {
					// The original first: a second signed amendment of it is
					// refused as ErrSuperseded before it is written.
					if err := s.supersede(ctx, tx, *next.AmendsID, next); err != nil {
						return err
					}
				}
			}
			if err := saveNote(ctx, tx, next); err != nil {
				return err
			}
			return s.appendNoteEvent(ctx, tx, event, next)
		},
	}
	return updateResource(ctx, s.pool, k, id, rec, change)
}

// supersede marks the original of a just-signed amendment.
func (s *NoteStore) supersede(ctx context.Context, tx pgx.Tx, originalID uuid.UUID, amendment note.Note) error {
	original, err := loadResource[note.Note](ctx, tx, "notes", originalID, true)
	if err != nil {
		return fmt.Errorf("amended note %s: %w", originalID, err)
	}
	superseded, err := original.Supersede(amendment, amendment.UpdatedAt)
	if err != nil {
		return err
	}
	if err := saveNote(ctx, tx, superseded); err != nil {
		return err
	}
	return s.appendNoteEvent(ctx, tx, EventNoteAmended, superseded)
}

// Amend loads the note originalID under a row lock, builds its amendment with
// amend and stores the amendment, a new draft, with its note.created event.
// The original is untouched until the amendment is signed. rec, when not nil,
// is the request's audit record, naming the amendment.
func (s *NoteStore) Amend(ctx context.Context, originalID uuid.UUID, rec *audit.Record, amend func(original note.Note) (note.Note, error)) (note.Note, error) {
	var created note.Note
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		original, err := loadResource[note.Note](ctx, tx, "notes", originalID, true)
		if err != nil {
			return err
		}
		n, err := amend(original)
		if err != nil {
			return err
		}
		if n.AmendsID == nil || *n.AmendsID != original.ID || n.EncounterID != original.EncounterID || n.PatientID != original.PatientID {
			return fmt.Errorf("note %s: an amendment must name the original and keep its encounter and patient", originalID)
		}
		if err := insertNote(ctx, tx, n); err != nil {
			return err
		}
		if err := s.appendNoteEvent(ctx, tx, EventNoteCreated, n); err != nil {
			return err
		}
		created = n
		return auditEntity(ctx, tx, rec, "DocumentReference", n.ID, n.PatientID)
	})
	return created, err
}

// requireEncounterPatient refuses a record of patientID made during the
// encounter encounterID unless the encounter is that patient's.
func requireEncounterPatient(ctx context.Context, tx pgx.Tx, encounterID, patientID uuid.UUID) error {
	var owner uuid.UUID
	err := tx.QueryRow(ctx, `SELECT patient_id FROM encounters WHERE id = $1`, encounterID).Scan(&owner)
	if err != nil {
		return translate(err, "encounter "+encounterID.String())
	}
	if owner != patientID {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "patientId", Message: notEncounterPatient + " " + encounterID.String()}}}
	}
	return nil
}

func insertNote(ctx context.Context, tx pgx.Tx, n note.Note) error {
	resource, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode note: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO notes (id, encounter_id, patient_id, type, author_id, status, amends_id, amended_by,
		                   version, resource, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		n.ID, n.EncounterID, n.PatientID, n.Type, n.Author, n.Status, n.AmendsID, n.AmendedBy,
		n.Version, resource, n.CreatedAt, n.UpdatedAt)
	return noteWriteError("insert", n.ID, err)
}

func saveNote(ctx context.Context, tx pgx.Tx, n note.Note) error {
	resource, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode note: %w", err)
	}
	_, err = tx.Exec(ctx, `
		UPDATE notes SET status = $2, amended_by = $3, version = $4, resource = $5, updated_at = $6
		WHERE id = $1`,
		n.ID, n.Status, n.AmendedBy, n.Version, resource, n.UpdatedAt)
	return noteWriteError("update", n.ID, err)
}

// noteWriteError translates a duplicate key (the same note id, or a second
// signed amendment of one note) to domain.ErrConflict.
func noteWriteError(op string, id uuid.UUID, err error) error {
	return writeError("note", op, id, err)
}

func (s *NoteStore) appendNoteEvent(ctx context.Context, tx pgx.Tx, eventType string, n note.Note) error {
	return appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
		Type: eventType, PatientID: n.PatientID, Resource: n, Time: n.UpdatedAt,
		Source:  "/v1/clinical/encounters/" + n.EncounterID.String() + "/notes",
		Subject: "DocumentReference/" + n.ID.String(),
		Link:    "/v1/clinical/notes/" + n.ID.String(),
	})
}
