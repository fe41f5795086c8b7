package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// registeredPatient registers a patient through the API and returns its id.
func registeredPatient(t *testing.T, srv *httptest.Server) uuid.UUID {
	t.Helper()
	return uuid.MustParse(newPatient(t, call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Test", "Patient"))))
}

// newClinicalAPI serves the patient, note, care plan and allergy routes on a
// fresh database.
func newClinicalAPI(t *testing.T) (*httptest.Server, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	h := NewRouter(Deps{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:   "test",
		Patients:  postgres.NewPatientStore(pool),
		Audit:     postgres.NewAuditStore(pool),
		Notes:     postgres.NewNoteStore(pool),
		CarePlans: postgres.NewCarePlanStore(pool),
		Allergies: postgres.NewAllergyStore(pool),
		Verifier: stubVerifier{
			adminToken: {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
		},
		Health:  NewHealth(nil, time.Second),
		Metrics: NewMetrics(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, pool
}

// wantFields fails unless r is 400 VALIDATION_FAILED naming exactly fields.
func wantFields(t *testing.T, what string, r result, fields ...string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Errorf("%s: %d %s, want 400", what, r.status, r.body)
		return
	}
	e := decodeErr(t, r)
	var got []string
	for _, d := range e.Details {
		got = append(got, d.Field)
	}
	if e.Error != CodeValidationFailed || fmt.Sprint(got) != fmt.Sprint(fields) {
		t.Errorf("%s: %s %v, want %s naming %v", what, e.Error, got, CodeValidationFailed, fields)
	}
}

// A note, care plan or allergy must belong to a registered patient, and a
// note or plan made during an encounter to that encounter's patient: a
// body naming an unknown patient or encounter, or another patient than the
// encounter's, is 400 naming the field, and stores nothing.
func TestClinicalRecordsReferenceTheirPatient(t *testing.T) {
	srv, pool := newClinicalAPI(t)
	patient, other := registeredPatient(t, srv), registeredPatient(t, srv)
	enc := recordEncounter(t, pool, patient, false, nil)
	unknown := uuid.Must(uuid.NewV7())
	author := practitionerToken(uuid.New())

	notesPath := "/v1/clinical/encounters/" + enc.String() + "/notes"
	noteBody := func(patient uuid.UUID) string {
		return fmt.Sprintf(`{"type":"progress","patientId":%q,"text":"Stable."}`, patient)
	}
	wantFields(t, "note naming another patient than the encounter's", call(t, srv, "POST", notesPath, author, noteBody(other)), "patientId")
	wantFields(t, "note naming an unknown patient", call(t, srv, "POST", notesPath, author, noteBody(unknown)), "patientId")
	wantCode(t, call(t, srv, "POST", "/v1/clinical/encounters/"+unknown.String()+"/notes", author, noteBody(patient)),
		http.StatusNotFound, CodeNotFound)

	planBody := func(patient uuid.UUID, enc *uuid.UUID) string {
		encounterID := ""
		if enc != nil {
			encounterID = fmt.Sprintf(`"encounterId":%q,`, *enc)
		}
		return fmt.Sprintf(`{"patientId":%q,%s"title":"Wound care","unit":"ward-3","status":"active",
			"period":{"start":"2026-11-25T08:00:00Z"}}`, patient, encounterID)
	}
	const plans = "/v1/clinical/care-plans"
	wantFields(t, "care plan of an unknown patient", call(t, srv, "POST", plans, adminToken, planBody(unknown, nil)), "patientId")
	wantFields(t, "care plan of an unknown encounter", call(t, srv, "POST", plans, adminToken, planBody(patient, &unknown)), "encounterId")
	wantFields(t, "care plan of another patient's encounter", call(t, srv, "POST", plans, adminToken, planBody(other, &enc)), "patientId")

	// The allergy's patient is its path: an unknown one is not found, as
	// its list is.
	wantCode(t, call(t, srv, "POST", "/v1/patients/"+unknown.String()+"/allergies", recorderToken, allergyJSON("Latex", "low")),
		http.StatusNotFound, CodeNotFound)

	var rows, events, audited int
	if err := pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM notes) + (SELECT count(*) FROM care_plans) + (SELECT count(*) FROM allergies) + (SELECT count(*) FROM workflow_starts),
		(SELECT count(*) FROM outbox WHERE topic = $1 AND type NOT IN ('patient.created', 'encounter.created')),
		(SELECT count(*) FROM audit_events WHERE method = 'POST' AND outcome = 'success' AND route <> '/v1/patients')`,
		postgres.ClinicalTopic).Scan(&rows, &events, &audited); err != nil {
		t.Fatal(err)
	}
	if rows != 0 || events != 0 || audited != 0 {
		t.Fatalf("refused writes left %d rows, %d events, %d successful audit records", rows, events, audited)
	}

	// The patient's own encounter takes both.
	if r := call(t, srv, "POST", notesPath, author, noteBody(patient)); r.status != http.StatusCreated {
		t.Fatalf("note of the encounter's patient: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", plans, adminToken, planBody(patient, &enc)); r.status != http.StatusCreated {
		t.Fatalf("care plan of the encounter's patient: %d %s", r.status, r.body)
	}
}

// An encounter for a patient that was never registered is 400 naming
// patientId; nothing is stored and no workflow starts.
func TestEncounterOfAnUnknownPatientIsRefused(t *testing.T) {
	e := newEncountersAPI(t)
	r := call(t, e.srv, "POST", "/v1/clinical/encounters", adminToken,
		`{"patientId":"`+uuid.NewString()+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`, "Idempotency-Key", "enc-unknown")
	wantFields(t, "encounter of an unknown patient", r, "patientId")
	e.temporal.mu.Lock()
	started := len(e.temporal.started)
	e.temporal.mu.Unlock()
	page, err := e.store.ListEncounters(context.Background(), encounter.Filter{})
	if err != nil || len(page.Encounters) != 0 || started != 0 {
		t.Fatalf("a refused encounter left %d encounters (%v) and %d workflows", len(page.Encounters), err, started)
	}
	// The refusal did not use up its key: the same key with a patient that
	// exists opens the encounter.
	r = call(t, e.srv, "POST", "/v1/clinical/encounters", adminToken,
		`{"patientId":"`+e.patient.String()+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`, "Idempotency-Key", "enc-unknown")
	if r.status != http.StatusCreated {
		t.Fatalf("the key after a refusal: %d %s", r.status, r.body)
	}
}
