package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/note"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var noteNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// encounterOf registers a patient and records an encounter of theirs: a
// note is written during an encounter, about its patient.
func encounterOf(t *testing.T, pool *pgxpool.Pool) (enc, patient uuid.UUID) {
	t.Helper()
	patient = pgtest.Patient(t, pool)
	st := newEncounter(t, postgres.NewEncounterStore(pool), patient, encounter.ClassInpatient, "ward-3", noteNow)
	return st.Details.EncounterID, patient
}

func newDraft(t *testing.T, s *postgres.NoteStore, enc, patient, author uuid.UUID, rec *audit.Record) note.Note {
	t.Helper()
	n, err := note.NewNote(uuid.Must(uuid.NewV7()), enc, patient, note.TypeProgress, author, "Stable overnight.", nil, noteNow)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Create(context.Background(), rec, n)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func sign(by uuid.UUID, at time.Time) func(note.Note) (note.Note, error) {
	return func(n note.Note) (note.Note, error) { return n.Sign(by, at) }
}

func TestNoteLifecycle(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewNoteStore(pool)
	enc, patient := encounterOf(t, pool)
	author, colleague := uuid.New(), uuid.New()

	rec := auditRecord(noteNow, nil)
	d := newDraft(t, s, enc, patient, author, &rec)
	var entity string
	var auditPatient uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT entity_type || '/' || entity_id, patient_id FROM audit_events WHERE id = $1`, rec.ID).
		Scan(&entity, &auditPatient); err != nil {
		t.Fatalf("audit record of the create: %v", err)
	}
	if entity != "DocumentReference/"+d.ID.String() || auditPatient != patient {
		t.Fatalf("audit names %s of %s", entity, auditPatient)
	}

	edited, err := s.Update(ctx, d.ID, nil, func(n note.Note) (note.Note, error) {
		return n.EditDraft(author, "Stable overnight; afebrile.", nil, noteNow.Add(time.Minute))
	})
	if err != nil || edited.Version != 2 || edited.Text != "Stable overnight; afebrile." {
		t.Fatalf("edit: %+v, %v", edited, err)
	}
	if _, err := s.Update(ctx, d.ID, nil, sign(colleague, noteNow)); !errors.Is(err, note.ErrNotAuthor) {
		t.Fatalf("colleague signs: %v", err)
	}
	signed, err := s.Update(ctx, d.ID, nil, sign(author, noteNow.Add(2*time.Minute)))
	if err != nil || signed.Status != note.StatusSigned {
		t.Fatalf("sign: %+v, %v", signed, err)
	}
	if _, err := s.Update(ctx, d.ID, nil, func(n note.Note) (note.Note, error) {
		return n.EditDraft(author, "changed after signing", nil, noteNow)
	}); !errors.Is(err, note.ErrNotDraft) {
		t.Fatalf("edit of a signed note: %v", err)
	}

	amendment, err := s.Amend(ctx, d.ID, nil, func(o note.Note) (note.Note, error) {
		return note.Amend(o, uuid.Must(uuid.NewV7()), colleague, "temperature was 38.2", "Febrile overnight.", nil, noteNow.Add(time.Hour))
	})
	if err != nil || *amendment.AmendsID != d.ID || amendment.Status != note.StatusDraft {
		t.Fatalf("amend: %+v, %v", amendment, err)
	}
	if got, _ := s.Get(ctx, d.ID); got.AmendedBy != nil {
		t.Fatal("an unsigned amendment superseded the original")
	}
	signedAmendment, err := s.Update(ctx, amendment.ID, nil, sign(colleague, noteNow.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	original, err := s.Get(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if original.Status != note.StatusSigned || original.AmendedBy == nil || *original.AmendedBy != amendment.ID ||
		original.Text != "Stable overnight; afebrile." {
		t.Fatalf("original after the amendment was signed: %+v", original)
	}

	list, err := s.ListForEncounter(ctx, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != d.ID || list[1].ID != signedAmendment.ID {
		t.Fatalf("versions = %+v", list)
	}
	if other, err := s.ListForEncounter(ctx, uuid.New()); err != nil || len(other) != 0 || other == nil {
		t.Fatalf("unknown encounter: %v, %v", other, err)
	}

	want := []string{
		"note.created " + d.ID.String(),
		"note.updated " + d.ID.String(),
		"note.signed " + d.ID.String(),
		"note.created " + amendment.ID.String(),
		"note.amended " + d.ID.String(),
		"note.signed " + amendment.ID.String(),
	}
	if got := clinicalEvents(t, pool, patient, "note"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

func TestNoteAmendRules(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewNoteStore(pool)
	enc, patient := encounterOf(t, pool)
	author := uuid.New()
	d := newDraft(t, s, enc, patient, author, nil)
	amend := func(o note.Note) (note.Note, error) {
		return note.Amend(o, uuid.Must(uuid.NewV7()), author, "typo", "Corrected.", nil, noteNow)
	}

	if _, err := s.Amend(ctx, d.ID, nil, amend); !errors.Is(err, note.ErrNotSigned) {
		t.Fatalf("amending a draft: %v", err)
	}
	if _, err := s.Amend(ctx, uuid.New(), nil, amend); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("amending an unknown note: %v", err)
	}
	if _, err := s.Update(ctx, uuid.New(), nil, sign(author, noteNow)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("signing an unknown note: %v", err)
	}
	if _, err := s.Update(ctx, d.ID, nil, sign(author, noteNow)); err != nil {
		t.Fatal(err)
	}

	// Two corrections drafted at once: the first signed supersedes the
	// original; signing the second is refused and leaves it a draft.
	var drafts [2]note.Note
	var wg sync.WaitGroup
	for i := range drafts {
		wg.Go(func() {
			a, err := s.Amend(ctx, d.ID, nil, amend)
			if err != nil {
				t.Error(err)
			}
			drafts[i] = a
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if _, err := s.Update(ctx, drafts[0].ID, nil, sign(author, noteNow)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, drafts[1].ID, nil, sign(author, noteNow)); !errors.Is(err, note.ErrSuperseded) {
		t.Fatalf("second amendment signed: %v", err)
	}
	if n, _ := s.Get(ctx, drafts[1].ID); n.Status != note.StatusDraft {
		t.Fatalf("refused signature changed the amendment: %+v", n)
	}
	if _, err := s.Amend(ctx, d.ID, nil, amend); !errors.Is(err, note.ErrSuperseded) {
		t.Fatalf("amending a superseded note: %v", err)
	}
}

func TestNoteCreateIsAtomic(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewNoteStore(pool)
	enc, patient := encounterOf(t, pool)
	d := newDraft(t, s, enc, patient, uuid.New(), nil)
	if _, err := s.Create(ctx, nil, d); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("same id twice: %v", err)
	}
	var notes, events int
	_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM outbox WHERE type LIKE 'note.%')`).Scan(&notes, &events)
	if notes != 1 || events != 1 {
		t.Fatalf("%d notes, %d events after a refused duplicate", notes, events)
	}
}
