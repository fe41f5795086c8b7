package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/cds"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/note"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// fixedReminders reports the same overdue activities for every patient.
type fixedReminders []cds.OverdueActivity

func (f fixedReminders) OverdueActivities(context.Context, uuid.UUID, time.Time) ([]cds.OverdueActivity, error) {
	return f, nil
}

// clinicalReaderToken reads every resource decision support builds cards
// from; readerToken reads patients only.
const clinicalReaderToken = "clinical-reader"

// newCDSAPI serves the router, with every store decision support reads, on
// a fresh database.
func newCDSAPI(t *testing.T, reminders CarePlanReminders) (*httptest.Server, *pgxpool.Pool, *postgres.AuditStore) {
	t.Helper()
	pool := pgtest.NewPool(t)
	auditStore := postgres.NewAuditStore(pool)
	h := NewRouter(Deps{
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:       "test",
		Patients:      postgres.NewPatientStore(pool),
		Audit:         auditStore,
		Alerts:        postgres.NewAlertStore(pool),
		Encounters:    postgres.NewEncounterStore(pool),
		Notes:         postgres.NewNoteStore(pool),
		Allergies:     postgres.NewAllergyStore(pool),
		CareReminders: reminders,
		Verifier: stubVerifier{
			adminToken:  {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
			readerToken: {Subject: "reader", ClientID: "reader", Scopes: []string{"system/Patient.read"}},
			clinicalReaderToken: {Subject: "clinical-reader", ClientID: "clinical-reader", Scopes: []string{"system/Patient.read",
				"system/Flag.read", "system/AllergyIntolerance.read", "system/CarePlan.read", "system/Encounter.read", "system/DocumentReference.read"}},
		},
		Token:   http.NotFoundHandler(),
		JWKS:    http.NotFoundHandler(),
		Health:  NewHealth(nil, time.Second),
		Metrics: NewMetrics(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, pool, auditStore
}

// recordEncounter puts an encounter of the patient into the read model, in
// progress when started, with an open order when order is not nil.
func recordEncounter(t *testing.T, pool *pgxpool.Pool, patientID uuid.UUID, started bool, order *uuid.UUID) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	store := postgres.NewEncounterStore(pool)
	at := time.Now().UTC().Add(-time.Hour)
	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: patientID,
		Class: encounter.ClassInpatient, Location: "ward-3"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordCreated(ctx, st); err != nil {
		t.Fatal(err)
	}
	clinician := uuid.New()
	steps := []func(encounter.State) (encounter.State, error){}
	if started {
		steps = append(steps,
			func(s encounter.State) (encounter.State, error) { return s.Arrive(clinician, at) },
			func(s encounter.State) (encounter.State, error) { return s.Triage(clinician, at, 3, "fever") },
			func(s encounter.State) (encounter.State, error) { return s.Start(clinician, at, clinician) })
	}
	if order != nil {
		steps = append(steps, func(s encounter.State) (encounter.State, error) {
			s, _ = s.LinkOrder(*order, encounter.OrderPrescription, at)
			return s, nil
		})
	}
	for _, step := range steps {
		if st, err = step(st); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordTransition(ctx, st, st.Last(), nil); err != nil {
			t.Fatal(err)
		}
	}
	return st.Details.EncounterID
}

func raiseAlert(t *testing.T, pool *pgxpool.Pool, patientID uuid.UUID, sev alert.Severity, message string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	err := postgres.NewAlertStore(pool).RecordAlertRaised(context.Background(), alert.Raise{AlertID: id, PatientID: patientID,
		Unit: "ward-3", Severity: sev, Category: "news2", Message: message, Source: "test"}, "warning-default", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func hookRequest(hook, patientID, encounterID string) string {
	return fmt.Sprintf(`{"hook":%q,"hookInstance":%q,"fhirServer":"https://ehr.example.org/fhir",
		"context":{"patientId":%q,"encounterId":%q,"userId":"Practitioner/42"},"prefetch":{"patient":{"resourceType":"Patient"}}}`,
		hook, uuid.NewString(), patientID, encounterID)
}

func cardsOf(t *testing.T, r result) []cds.Card {
	t.Helper()
	var body struct {
		Cards []cds.Card `json:"cards"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != http.StatusOK || body.Cards == nil {
		t.Fatalf("not a cards answer: %d %s", r.status, r.body)
	}
	return body.Cards
}

func summaries(cards []cds.Card) string {
	var out []string
	for _, c := range cards {
		out = append(out, string(c.Indicator)+": "+c.Summary)
	}
	return strings.Join(out, "\n")
}

func TestCDSServices(t *testing.T) {
	due := time.Now().Add(-26 * time.Hour)
	srv, pool, store := newCDSAPI(t, fixedReminders{{PlanID: uuid.New(), ActivityID: uuid.New(), Title: "HbA1c check", DueAt: due}})
	pid := newPatient(t, call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Decision", "Support")))
	patientID := uuid.MustParse(pid)
	for _, b := range []string{allergyJSON("Penicillin", "high"), allergyJSON("Latex", "low")} {
		if r := call(t, srv, "POST", "/v1/patients/"+pid+"/allergies", recorderToken, b); r.status != http.StatusCreated {
			t.Fatalf("allergy: %d %s", r.status, r.body)
		}
	}
	raiseAlert(t, pool, patientID, alert.SeverityCritical, "NEWS2 score 9")
	raiseAlert(t, pool, patientID, alert.SeverityWarning, "NEWS2 score 5")
	resolved := raiseAlert(t, pool, patientID, alert.SeverityUrgent, "NEWS2 score 7")
	if err := postgres.NewAlertStore(pool).RecordResolved(context.Background(), resolved, uuid.New(), "Nurse Joy", "settled", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	order := uuid.New()
	enc := recordEncounter(t, pool, patientID, true, &order)
	other := recordEncounter(t, pool, patientID, false, nil)
	draft, err := note.NewNote(uuid.Must(uuid.NewV7()), enc, patientID, note.TypeProgress, uuid.New(), "Improving.", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewNoteStore(pool).Create(context.Background(), nil, draft); err != nil {
		t.Fatal(err)
	}

	r := call(t, srv, "GET", "/v1/clinical/cds-services", readerToken, "")
	var discovery CDSServices
	if err := json.Unmarshal([]byte(r.body), &discovery); err != nil || len(discovery.Services) != 3 ||
		discovery.Services[0].Hook != "patient-view" || discovery.Services[0].ID != "patient-view" {
		t.Fatalf("discovery: %d %s", r.status, r.body)
	}

	r = call(t, srv, "POST", "/v1/clinical/cds-services/patient-view", clinicalReaderToken, hookRequest("patient-view", pid, ""),
		"X-Request-Id", "cds-pv")
	cards := cardsOf(t, r)
	want := strings.Join([]string{
		"critical: Critical alert (news2): NEWS2 score 9",
		"warning: Warning alert (news2): NEWS2 score 5",
		"warning: High-criticality allergy: Penicillin (hives, moderate)",
		"warning: Care-plan activity overdue: HbA1c check",
		"info: Active allergy: Latex",
	}, "\n")
	if got := summaries(cards); got != want {
		t.Fatalf("patient-view cards:\n%s\nwant\n%s", got, want)
	}
	// A caller who reads patients only gets no card built from alerts,
	// allergies or care plans it may not read.
	if got := summaries(cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/patient-view", readerToken,
		hookRequest("patient-view", pid, "")))); got != "" {
		t.Fatalf("patient-view for a Patient.read token:\n%s", got)
	}
	recs := recordsFor(t, store, "cds-pv")
	if len(recs) != 1 || recs[0].EntityType != "GuidanceResponse" || recs[0].PatientID == nil || *recs[0].PatientID != patientID ||
		recs[0].Action != "read" {
		t.Fatalf("audit of the hook call: %+v", recs)
	}

	cards = cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/encounter-start", clinicalReaderToken,
		hookRequest("encounter-start", pid, enc.String())))
	want = strings.Join([]string{
		"critical: Critical alert (news2): NEWS2 score 9",
		"warning: High-criticality allergy: Penicillin (hives, moderate)",
		"warning: The patient already has an open inpatient encounter (planned at ward-3)",
	}, "\n")
	if got := summaries(cards); got != want || !strings.Contains(cards[2].Detail, other.String()) {
		t.Fatalf("encounter-start cards:\n%s\nwant\n%s", got, want)
	}

	cards = cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/encounter-discharge", clinicalReaderToken,
		hookRequest("encounter-discharge", pid, enc.String())))
	want = strings.Join([]string{
		"critical: 1 open order: discharge will be refused unless forced with a reason",
		"warning: 1 unsigned note on this encounter",
		"warning: No signed discharge summary for this encounter",
	}, "\n")
	if got := summaries(cards); got != want {
		t.Fatalf("encounter-discharge cards:\n%s\nwant\n%s", got, want)
	}
	if s := cards[1].Suggestions; len(s) != 1 || s[0].Actions[0].Resource["id"] != draft.ID.String() {
		t.Fatalf("sign suggestion: %+v", s)
	}
	if s := cards[2].Suggestions; len(s) != 1 || s[0].Actions[0].Type != cds.ActionCreate {
		t.Fatalf("write-summary suggestion: %+v", s)
	}
}

func TestCDSRefusals(t *testing.T) {
	srv, pool, _ := newCDSAPI(t, nil)
	pid := newPatient(t, call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Refused", "Requests")))
	theirs := recordEncounter(t, pool, registeredPatient(t, srv), false, nil)
	fieldsOf := func(r result) []string {
		var out []string
		for _, f := range decodeErr(t, r).Details {
			out = append(out, f.Field)
		}
		return out
	}

	r := call(t, srv, "POST", "/v1/clinical/cds-services/encounter-start", adminToken,
		`{"hook":"patient-view","context":{"patientId":"`+pid+`"}}`)
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	if got := fieldsOf(r); !slices.Equal(got, []string{"hook", "hookInstance", "context.encounterId"}) {
		t.Fatalf("fields %v", got)
	}
	r = call(t, srv, "POST", "/v1/clinical/cds-services/encounter-discharge", adminToken, hookRequest("encounter-discharge", pid, theirs.String()))
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	if got := fieldsOf(r); !slices.Equal(got, []string{"context.encounterId"}) {
		t.Fatalf("another patient's encounter: %v", got)
	}
	r = call(t, srv, "POST", "/v1/clinical/cds-services/encounter-discharge", adminToken, hookRequest("encounter-discharge", pid, uuid.NewString()))
	if got := fieldsOf(r); r.status != http.StatusBadRequest || !slices.Equal(got, []string{"context.encounterId"}) {
		t.Fatalf("unknown encounter: %d %v", r.status, got)
	}
	wantCode(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", adminToken, hookRequest("order-sign", pid, "")),
		http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, srv, "POST", "/v1/clinical/cds-services/patient-view", adminToken, hookRequest("patient-view", uuid.NewString(), "")),
		http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, srv, "POST", "/v1/clinical/cds-services/patient-view", adminToken, `{"hook":"patient-view","context":{"patientId":"`+pid+`","mood":"x"}}`),
		http.StatusBadRequest, CodeValidationFailed)
	if r := call(t, srv, "GET", "/v1/clinical/cds-services", "", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous discovery: %d", r.status)
	}

	// Without care plans, alerts or allergies, patient-view has nothing to say.
	if cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/patient-view", adminToken, hookRequest("patient-view", pid, ""))); len(cards) != 0 {
		t.Fatalf("cards for a quiet chart: %+v", cards)
	}
}
