package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/note"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/migrations"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// wantFieldError fails unless err is a *domain.ValidationError naming field.
func wantFieldError(t *testing.T, what string, err error, field string) {
	t.Helper()
	var verr *domain.ValidationError
	if !errors.As(err, &verr) || len(verr.Fields) != 1 || verr.Fields[0].Field != field {
		t.Errorf("%s: %v, want a validation error naming %s", what, err, field)
	}
}

// A write naming a patient or an encounter that does not exist, or a note or
// care plan of another patient's encounter, is refused with a validation
// error naming the API field, and stores nothing: no row, no event, no audit
// record.
func TestRecordsMustReferenceTheirPatientAndEncounter(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	encounters := postgres.NewEncounterStore(pool)
	notes := postgres.NewNoteStore(pool)
	plans := postgres.NewCarePlanStore(pool)
	allergies := postgres.NewAllergyStore(pool)
	enc, patient := encounterOf(t, pool)
	other := pgtest.Patient(t, pool)
	unknown := uuid.Must(uuid.NewV7())
	var recs []uuid.UUID
	record := func() *audit.Record {
		rec := auditRecord(encounterNow, nil)
		recs = append(recs, rec.ID)
		return &rec
	}

	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: unknown,
		Class: encounter.ClassEmergency, Location: "ed"}, encounterNow)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = encounters.CreateEncounter(ctx, nil, record(), st)
	wantFieldError(t, "encounter of an unknown patient", err, "patientId")
	wantFieldError(t, "encounter of an unknown patient, recorded by its workflow", encounters.RecordCreated(ctx, st), "patientId")

	draft := func(enc, patient uuid.UUID) note.Note {
		n, err := note.NewNote(uuid.Must(uuid.NewV7()), enc, patient, note.TypeProgress, uuid.New(), "Stable.", nil, noteNow)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	_, err = notes.Create(ctx, record(), draft(enc, other))
	wantFieldError(t, "note of another patient's encounter", err, "patientId")
	if _, err := notes.Create(ctx, record(), draft(uuid.Must(uuid.NewV7()), patient)); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("note of an unknown encounter: %v, want not found", err)
	}

	plan := func(patient uuid.UUID, enc *uuid.UUID) careplan.CarePlan {
		p, err := careplan.New(uuid.Must(uuid.NewV7()), patient, enc, careplan.Content{
			Title: "Wound care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: planNow},
		}, uuid.NewV7, planNow)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownEnc := uuid.Must(uuid.NewV7())
	_, _, err = plans.Create(ctx, nil, record(), plan(unknown, nil))
	wantFieldError(t, "care plan of an unknown patient", err, "patientId")
	_, _, err = plans.Create(ctx, nil, record(), plan(patient, &unknownEnc))
	wantFieldError(t, "care plan of an unknown encounter", err, "encounterId")
	_, _, err = plans.Create(ctx, nil, record(), plan(other, &enc))
	wantFieldError(t, "care plan of another patient's encounter", err, "patientId")

	_, err = allergies.Create(ctx, record(), newAllergy(t, unknown, allergyDetails("Penicillin", "764146007", allergy.CriticalityHigh)))
	wantFieldError(t, "allergy of an unknown patient", err, "patientId")

	var rows, events, audited int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM encounters) + (SELECT count(*) FROM notes) + (SELECT count(*) FROM care_plans) + (SELECT count(*) FROM allergies),
		(SELECT count(*) FROM outbox WHERE type NOT IN ('patient.created', 'encounter.created')),
		(SELECT count(*) FROM audit_events WHERE id = ANY($1))`, recs).Scan(&rows, &events, &audited); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || events != 0 || audited != 0 {
		t.Fatalf("refused writes left %d rows besides the one encounter, %d events, %d audit records", rows-1, events, audited)
	}

	// The plan and the note of the patient's own encounter are stored.
	if _, _, err := plans.Create(ctx, nil, nil, plan(patient, &enc)); err != nil {
		t.Fatalf("care plan of the patient's encounter: %v", err)
	}
	if _, err := notes.Create(ctx, nil, draft(enc, patient)); err != nil {
		t.Fatalf("note of the patient's encounter: %v", err)
	}
}

// The notes table itself holds a note to its encounter's patient, whatever
// writes it.
func TestNoteOfAnotherPatientsEncounterViolatesItsKey(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	enc, _ := encounterOf(t, pool)
	other := pgtest.Patient(t, pool)
	_, err := pool.Exec(ctx, `INSERT INTO notes (id, encounter_id, patient_id, type, author_id, status, version, resource, created_at, updated_at)
		VALUES ($1, $2, $3, 'progress', $4, 'draft', 1, '{}', now(), now())`, uuid.Must(uuid.NewV7()), enc, other, uuid.New())
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23503" || pgErr.ConstraintName != "notes_encounter_patient_fkey" {
		t.Fatalf("mismatched note: %v", err)
	}
}

// A database whose older rows name patients that were never registered
// still migrates: the constraint that those rows violate stays NOT VALID
// (and still refuses new rows), the others are validated.
func TestPatientReferencesMigrateOverOrphans(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: pgtest.NewDatabase(t), MaxConns: 2}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	var version int64 // of the migration that adds the references
	for _, src := range provider.ListSources() {
		if strings.HasSuffix(src.Path, "_patient_references.sql") {
			version = src.Version
		}
	}
	if version == 0 {
		t.Fatal("no patient_references migration")
	}
	if _, err := provider.UpTo(ctx, version-1); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if _, err := pool.Exec(ctx, `INSERT INTO allergies (id, patient_id, text_key, category, criticality, clinical_status,
			verification_status, active, version, resource, created_at, updated_at)
		VALUES ($1, $2, 'latex', 'environment', 'low', 'active', 'confirmed', true, 1, '{}', $3, $3)`,
		uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), at); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("migrate over an orphan: %v", err)
	}
	validated := func(name string) bool {
		t.Helper()
		var ok bool
		if err := pool.QueryRow(ctx, `SELECT convalidated FROM pg_constraint WHERE conname = $1`, name).Scan(&ok); err != nil {
			t.Fatalf("constraint %s: %v", name, err)
		}
		return ok
	}
	if validated("allergies_patient_fkey") {
		t.Error("the constraint the orphan violates was validated")
	}
	for _, name := range []string{"encounters_patient_fkey", "notes_encounter_patient_fkey", "care_plans_encounter_fkey"} {
		if !validated(name) {
			t.Errorf("%s is not validated on clean tables", name)
		}
	}
	_, err = postgres.NewAllergyStore(pool).Create(ctx, nil, newAllergy(t, uuid.Must(uuid.NewV7()), allergyDetails("Penicillin", "", allergy.CriticalityHigh)))
	wantFieldError(t, "a new allergy of an unknown patient", err, "patientId")

	if _, err := provider.DownTo(ctx, version-1); err != nil {
		t.Fatalf("down: %v", err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_constraint WHERE conname = ANY($1)`, []string{
		"encounters_patient_fkey", "notes_patient_fkey", "notes_encounter_fkey", "notes_encounter_patient_fkey",
		"care_plans_patient_fkey", "care_plans_encounter_fkey", "care_plans_encounter_patient_fkey", "allergies_patient_fkey",
	}).Scan(&left); err != nil || left != 0 {
		t.Fatalf("down left %d constraints, %v", left, err)
	}
}
