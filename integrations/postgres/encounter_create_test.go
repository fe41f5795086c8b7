package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// CreateEncounter stores the encounter, its key and its audit record in one
// transaction; a repeated key with the same body answers the first
// encounter as it is now, another body is refused and stores nothing.
func TestCreateEncounterIsOneIdempotentWrite(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewEncounterStore(pool)
	audits := postgres.NewAuditStore(pool)
	ctx := context.Background()
	patient := pgtest.Patient(t, pool)
	open := func(id uuid.UUID) encounter.State {
		st, err := encounter.New(encounter.Details{EncounterID: id, PatientID: patient, Class: encounter.ClassEmergency,
			Location: "ed-resus"}, encounterNow)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	idem := &domain.Idempotency{Scope: "client POST /v1/clinical/encounters", Key: "k-1", Hash: sha256.Sum256([]byte(`{"a":1}`))}
	rec := &audit.Record{ID: uuid.Must(uuid.NewV7()), Time: encounterNow, Action: audit.ActionCreate, Status: 201,
		Actor: audit.Actor{Subject: "client", ClientID: "client"}, Outcome: audit.OutcomeSuccess, Method: "POST",
		Route: "/v1/clinical/encounters", Purpose: audit.DefaultPurpose}

	first := open(uuid.Must(uuid.NewV7()))
	got, replay, err := s.CreateEncounter(ctx, idem, rec, first)
	if err != nil || replay || got.ID != first.Details.EncounterID || got.Status != encounter.StatusPlanned {
		t.Fatalf("create: %+v replay %v, %v", got, replay, err)
	}
	stored, err := audits.Get(ctx, rec.ID)
	if err != nil || stored.PatientID == nil || *stored.PatientID != patient || stored.EntityID != got.ID.String() {
		t.Fatalf("audit record: %+v, %v", stored, err)
	}

	// The encounter arrives; the retry with the same key sees it so.
	st, err := first.Arrive(uuid.New(), encounterNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordTransition(ctx, st, st.Last(), nil); err != nil {
		t.Fatal(err)
	}
	again := *rec
	again.ID = uuid.Must(uuid.NewV7())
	got, replay, err = s.CreateEncounter(ctx, idem, &again, open(uuid.Must(uuid.NewV7())))
	if err != nil || !replay || got.ID != first.Details.EncounterID || got.Status != encounter.StatusArrived {
		t.Fatalf("replay: %+v replay %v, %v", got, replay, err)
	}

	other := *idem
	other.Hash = sha256.Sum256([]byte(`{"a":2}`))
	third := open(uuid.Must(uuid.NewV7()))
	if _, _, err := s.CreateEncounter(ctx, &other, nil, third); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("another body: %v", err)
	}
	if _, err := s.GetEncounter(ctx, third.Details.EncounterID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused create left its encounter: %v", err)
	}
}

// Data PostgreSQL cannot hold is a validation error, answered 400, and
// leaves nothing behind.
func TestCreateEncounterRefusesWhatTheDatabaseCannotHold(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewEncounterStore(pool)
	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: pgtest.Patient(t, pool),
		Class: encounter.ClassEmergency, Location: "a\x00b"}, encounterNow)
	if err != nil {
		t.Fatal(err)
	}
	var verr *domain.ValidationError
	if _, _, err := s.CreateEncounter(context.Background(), nil, nil, st); !errors.As(err, &verr) {
		t.Fatalf("NUL location: %v", err)
	}
	if _, err := s.GetEncounter(context.Background(), st.Details.EncounterID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused create left its encounter: %v", err)
	}
}
