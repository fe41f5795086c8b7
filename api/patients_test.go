package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/ingest"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/integrations/ratelimit"
)

// stubVerifier maps fixed tokens to principals, and the token of
// practitionerToken to that practitioner signed in; the real verifier is
// tested in integrations/auth and end to end in cmd/zarish.
type stubVerifier map[string]access.Principal

func (s stubVerifier) Verify(_ context.Context, bearer string) (access.Principal, error) {
	if id, ok := strings.CutPrefix(bearer, practitionerTokenPrefix); ok {
		if _, err := uuid.Parse(id); err != nil {
			return access.Principal{}, access.ErrInvalidToken
		}
		return access.Principal{Subject: "u-" + id, ClientID: "app", Scopes: []string{"user/*.*"}, Roles: []string{"clinician"},
			UserID: "u-" + id, PractitionerID: id}, nil
	}
	p, ok := s[bearer]
	if !ok {
		return access.Principal{}, access.ErrInvalidToken
	}
	return p, nil
}

const practitionerTokenPrefix = "practitioner:"

// practitionerToken is the token of practitioner id signed in (a user whose
// fhirUser is id, with every user scope), which any stubVerifier accepts:
// the person an act that records a practitioner needs.
func practitionerToken(id uuid.UUID) string { return practitionerTokenPrefix + id.String() }

const (
	adminToken     = "admin"
	readerToken    = "reader"
	emergencyToken = "emergency"
)

func newTestAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _ := newAuditedAPI(t, nil)
	return srv
}

// newAuditedAPI serves the router on a fresh database; wrap, when given,
// wraps the audit store (to make it fail, say).
func newAuditedAPI(t *testing.T, wrap func(AuditStore) AuditStore) (*httptest.Server, *postgres.AuditStore) {
	t.Helper()
	d, store := testDeps(t, wrap)
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)
	return srv, store
}

// testDeps is the router's dependencies on a fresh database, with the audit
// store wrapped by wrap when given.
func testDeps(t testing.TB, wrap func(AuditStore) AuditStore) (Deps, *postgres.AuditStore) {
	t.Helper()
	return depsOn(pgtest.NewPool(t), wrap)
}

// testMedications is the embedded medication knowledge base, loaded once
// for every test.
var testMedications = sync.OnceValue(func() *medication.Registry {
	kb, err := medication.Embedded()
	if err != nil {
		panic(err)
	}
	r, err := medication.NewRegistry(kb)
	if err != nil {
		panic(err)
	}
	return r
})

// depsOn is testDeps on pool.
func depsOn(pool *pgxpool.Pool, wrap func(AuditStore) AuditStore) (Deps, *postgres.AuditStore) {
	store := postgres.NewAuditStore(pool)
	var auditStore AuditStore = store
	if wrap != nil {
		auditStore = wrap(store)
	}
	return Deps{
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:       "test",
		StepKeys:      postgres.NewStepKeys(pool),
		Patients:      postgres.NewPatientStore(pool),
		Audit:         auditStore,
		Inbox:         postgres.NewNotificationStore(pool),
		Alerts:        postgres.NewAlertStore(pool),
		CareTeam:      postgres.NewCareTeamStore(pool),
		Deliveries:    postgres.NewNotificationStore(pool),
		Encounters:    postgres.NewEncounterStore(pool),
		Notes:         postgres.NewNoteStore(pool),
		Allergies:     postgres.NewAllergyStore(pool),
		Observations:  postgres.NewObservationStore(pool),
		CarePlans:     postgres.NewCarePlanStore(pool),
		CareReminders: postgres.NewCarePlanStore(pool),
		// The knowledge base shipped with the engine, and the prescriptions
		// beside the other stores.
		Medications:       testMedications(),
		MedicationContext: postgres.NewPrescriptionStore(pool),
		Prescriptions:     postgres.NewPrescriptionStore(pool),
		Diagnostics:       postgres.NewDiagnosticStore(pool),
		Procedures:        postgres.NewProcedureStore(pool),
		DeadLetters:       postgres.NewDeadLetterStore(pool),
		HL7v2:             ingest.New(postgres.NewHL7v2Store(pool), postgres.NewPatientStore(pool), postgres.NewObservationStore(pool), slog.New(slog.NewTextHandler(io.Discard, nil))),
		HL7v2Messages:     postgres.NewHL7v2Store(pool),
		Registry:          postgres.NewServiceRegistry(pool),
		DICOM:             postgres.NewDICOMStore(pool),
		Subscriptions:     postgres.NewSubscriptionStore(pool),
		FHIRImport:        bundle.New(postgres.NewFHIRImportStore(pool), time.Now, uuid.NewV7),
		DICOMDir:          os.TempDir(),
		Users:             postgres.NewUserStore(pool),
		Sessions:          postgres.NewOAuthStore(pool),
		Launches:          postgres.NewOAuthStore(pool),
		Verifier: stubVerifier{
			adminToken:     {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
			readerToken:    {Subject: "reader", ClientID: "reader", Scopes: []string{"system/Patient.read"}},
			emergencyToken: {Subject: "er-doctor", ClientID: "er-app", Scopes: []string{"emergency"}},
		},
		Token:   http.NotFoundHandler(),
		JWKS:    http.NotFoundHandler(),
		Health:  NewHealth(map[string]Check{"database": func(ctx context.Context) error { return pool.Ping(ctx) }}, time.Second),
		Metrics: NewMetrics(),
		// Budgets no test spends, so every route runs through the limiter.
		RateLimits: RateLimits{
			Limiter:   ratelimit.NewMemory(),
			Client:    ratelimit.PerMinute(1_000_000, 10_000),
			Anonymous: ratelimit.PerMinute(1_000_000, 10_000),
			Token:     ratelimit.PerMinute(1_000_000, 10_000),
		},
	}, store
}

// serviceDeps is where a service's own suite starts: the audit store on
// pool, the admin and reader tokens, and no store of any service; the suite
// adds only the stores its service's routes hold.
func serviceDeps(pool *pgxpool.Pool) (Deps, *postgres.AuditStore) {
	store := postgres.NewAuditStore(pool)
	return Deps{
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version: "test",
		Audit:   store,
		Verifier: stubVerifier{
			adminToken:  {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
			readerToken: {Subject: "reader", ClientID: "reader", Scopes: []string{"system/Patient.read"}},
		},
		Health:  NewHealth(nil, time.Second),
		Metrics: NewMetrics(),
	}, store
}

// serveRouter serves NewRouter(d) until the test ends.
func serveRouter(t *testing.T, d Deps) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string, headers ...string) result {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(raw)}
}

func patientBody(given, family string) string {
	return fmt.Sprintf(`{"name":{"given":[%q],"family":%q},"birthDate":"1990-05-17","sex":"male",
		"telecom":[{"system":"phone","value":"+880 1700-000001"}]}`, given, family)
}

func decodeErr(t *testing.T, r result) ErrorBody {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("not an error envelope: %s", r.body)
	}
	if e.RequestID == "" || e.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("envelope request id %q vs header %q", e.RequestID, r.header.Get("X-Request-Id"))
	}
	return e
}

func TestErrorEnvelopeEverywhere(t *testing.T) {
	srv := newTestAPI(t)
	cases := []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
		code                            string
	}{
		{"unknown route", "GET", "/v1/nothing", adminToken, "", nil, 404, CodeNotFound},
		{"wrong method", "PATCH", "/v1/patients", adminToken, "", nil, 405, CodeMethodNotAllowed},
		{"no token", "GET", "/v1/patients", "", "", nil, 401, CodeUnauthorized},
		{"bad token", "GET", "/v1/patients", "forged", "", nil, 401, CodeUnauthorized},
		{"missing scope", "POST", "/v1/patients", readerToken, patientBody("A", "B"), nil, 403, CodeForbidden},
		{"bad id", "GET", "/v1/patients/not-a-uuid", adminToken, "", nil, 400, CodeValidationFailed},
		{"mistyped MRN", "GET", "/v1/patients/10000025", adminToken, "", nil, 400, CodeValidationFailed},
		{"unknown patient", "GET", "/v1/patients/0190f3c4-0000-7000-8000-000000000000", adminToken, "", nil, 404, CodeNotFound},
		{"unknown query", "GET", "/v1/patients?colour=blue", adminToken, "", nil, 400, CodeValidationFailed},
		{"bad limit", "GET", "/v1/patients?limit=1000", adminToken, "", nil, 400, CodeValidationFailed},
		{"bad cursor", "GET", "/v1/patients?cursor=%21%21", adminToken, "", nil, 400, CodeValidationFailed},
		{"not json", "POST", "/v1/patients", adminToken, "{", nil, 400, CodeInvalidJSON},
		{"wrong type", "POST", "/v1/patients", adminToken, `{"name":"x"}`, nil, 400, CodeValidationFailed},
		{"no If-Match", "PUT", "/v1/patients/0190f3c4-0000-7000-8000-000000000000", adminToken, patientBody("A", "B"), nil, 428, CodePreconditionRequired},
		{"bad If-Match", "PUT", "/v1/patients/0190f3c4-0000-7000-8000-000000000000", adminToken, patientBody("A", "B"), []string{"If-Match", "3"}, 400, CodeValidationFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, tc.method, tc.path, tc.token, tc.body, tc.headers...)
			e := decodeErr(t, r)
			if r.status != tc.status || e.Error != tc.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.status, e.Error, tc.status, tc.code, r.body)
			}
		})
	}
	t.Run("wrong media type", func(t *testing.T) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/patients", strings.NewReader(patientBody("A", "B")))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "text/plain")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("got %d", res.StatusCode)
		}
	})
}

func TestRequestIDEchoed(t *testing.T) {
	srv := newTestAPI(t)
	r := call(t, srv, "GET", "/health", "", "", "X-Request-Id", "trace-abc-123")
	if r.header.Get("X-Request-Id") != "trace-abc-123" {
		t.Fatalf("request id not kept: %v", r.header)
	}
	r = call(t, srv, "GET", "/health", "", "", "X-Request-Id", "bad id with spaces")
	if id := r.header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe request id echoed: %q", id)
	}
}

func TestInvalidRegistrationStoresNothing(t *testing.T) {
	srv := newTestAPI(t)
	r := call(t, srv, "POST", "/v1/patients", adminToken,
		`{"name":{"given":[""],"family":""},"birthDate":"2999-01-01","sex":"x","telecom":[{"system":"fax","value":"1"}]}`)
	e := decodeErr(t, r)
	if r.status != 400 || len(e.Details) < 5 {
		t.Fatalf("want every field reported: %d %s", r.status, r.body)
	}
	r = call(t, srv, "GET", "/v1/patients", adminToken, "")
	if !strings.Contains(r.body, `"data":[]`) {
		t.Fatalf("something was stored: %s", r.body)
	}
}

func TestIdempotencyKeyReusedWithOtherBody(t *testing.T) {
	srv := newTestAPI(t)
	if r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Rafi", "Ahmed"), "Idempotency-Key", "k1"); r.status != 201 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Other", "Person"), "Idempotency-Key", "k1")
	if e := decodeErr(t, r); r.status != 422 || e.Error != CodeIdempotencyMismatch {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

func TestSearchPaginationIsStable(t *testing.T) {
	srv := newTestAPI(t)
	for i := range 25 {
		if r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody(fmt.Sprintf("Nasrin%02d", i), "Begum")); r.status != 201 {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
	}
	for _, query := range []string{"", "name=begum&"} {
		seen := map[string]bool{}
		cursor := ""
		pages := 0
		for {
			path := "/v1/patients?" + query + "limit=10"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := call(t, srv, "GET", path, adminToken, "")
			var page struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
				Next *string `json:"next"`
			}
			if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != 200 {
				t.Fatalf("page: %d %s", r.status, r.body)
			}
			for _, p := range page.Data {
				if seen[p.ID] {
					t.Fatalf("%q: patient %s on two pages", query, p.ID)
				}
				seen[p.ID] = true
			}
			pages++
			if page.Next == nil {
				break
			}
			cursor = *page.Next
		}
		if len(seen) != 25 || pages != 3 {
			t.Fatalf("%q: saw %d patients over %d pages, want 25 over 3", query, len(seen), pages)
		}
	}
}

func TestUpdateKeepsReadOnlyFields(t *testing.T) {
	srv := newTestAPI(t)
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Salma", "Khatun"))
	var p struct {
		ID  string `json:"id"`
		MRN string `json:"mrn"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	// Echoing the read-only fields back is fine; changing them is not.
	body := strings.Replace(patientBody("Salma", "Khatun"), "{", `{"id":"`+p.ID+`","mrn":"999","version":1,`, 1)
	r = call(t, srv, "PUT", "/v1/patients/"+p.ID, adminToken, body, "If-Match", `"1"`)
	if e := decodeErr(t, r); r.status != 400 || e.Details[0].Field != "mrn" {
		t.Fatalf("changing mrn: %d %s", r.status, r.body)
	}
	body = strings.Replace(patientBody("Salma", "Khatun-Ali"), "{", `{"id":"`+p.ID+`","mrn":"`+p.MRN+`",`, 1)
	r = call(t, srv, "PUT", "/v1/patients/"+p.ID, adminToken, body, "If-Match", `"1"`)
	if r.status != 200 || r.header.Get("ETag") != `"2"` || !strings.Contains(r.body, "Khatun-Ali") {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", "/v1/patients/"+p.ID, adminToken, "", "If-None-Match", `"2"`); r.status != 304 {
		t.Fatalf("conditional get: %d", r.status)
	}
}

// The patient routes need only the patient register: a registration is
// stored with its audit record, and a client without Patient.write is
// refused, on the record.
func TestPatientRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.Patients = postgres.NewPatientStore(pool)
	srv := serveRouter(t, d)

	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Nadia", "Islam"), "X-Request-Id", "patient-register")
	id := newPatient(t, r)
	if r.header.Get("Location") != "/v1/patients/"+id {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	if r := call(t, srv, "GET", "/v1/patients/"+id, readerToken, ""); r.status != http.StatusOK || !strings.Contains(r.body, `"Nadia"`) {
		t.Errorf("read: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, auditStore, "patient-register")
	if len(recs) != 1 || recs[0].Action != audit.ActionCreate || recs[0].EntityType != "Patient" || recs[0].EntityID != id ||
		recs[0].PatientID == nil || recs[0].PatientID.String() != id || recs[0].Outcome != audit.OutcomeSuccess {
		t.Errorf("audit record of the registration: %+v", recs)
	}

	r = call(t, srv, "POST", "/v1/patients", readerToken, patientBody("Not", "Registered"), "X-Request-Id", "patient-refused")
	wantCode(t, r, http.StatusForbidden, CodeForbidden)
	if recs := recordsFor(t, auditStore, "patient-refused"); len(recs) != 1 || recs[0].Outcome != audit.OutcomeDenied {
		t.Errorf("audit record of the refusal: %+v", recs)
	}
}
