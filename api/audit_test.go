package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// recordsFor returns the stored audit records of one request.
func recordsFor(t *testing.T, store *postgres.AuditStore, requestID string) []audit.Record {
	t.Helper()
	var out []audit.Record
	cursor := ""
	for {
		page, next, err := store.Query(context.Background(), audit.Filter{
			From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 500, Cursor: cursor,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.RequestID == requestID {
				out = append(out, r)
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// TestEveryV1RouteIsAuditedOnce walks the router's table: each /v1 route,
// called once, leaves exactly one audit record.
func TestEveryV1RouteIsAuditedOnce(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Walk", "Routes"))
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	seed := recordsFor(t, store, r.header.Get("X-Request-Id"))
	if len(seed) != 1 {
		t.Fatalf("registration left %d audit records", len(seed))
	}
	bodies := map[string]string{
		"POST /v1/patients":                             patientBody("Another", "Patient"),
		"PUT /v1/patients/:id":                          patientBody("Walk", "Routes-Renamed"),
		"POST /v1/notifications/alerts":                 `{}`,
		"POST /v1/notifications/alerts/:id/acknowledge": `{}`,
		"POST /v1/notifications/alerts/:id/resolve":     `{}`,
		"POST /v1/clinical/practitioners":               `{"name":"Nurse Joy","roles":["nurse"],"units":["ward-3"],"contacts":[{"system":"email","value":"joy@example.org"}]}`,
		"POST /v1/clinical/on-call":                     `{}`,
		"POST /v1/notifications/policies":               `{}`,
		"POST /v1/notifications/routing-rules":          `{}`,
		"POST /v1/audit/events":                         `{"action":"security","outcome":"denied","entityType":"Device","description":"badge reader refused"}`,
		"POST /v1/patients/:id/allergies":               allergyJSON("Penicillin", "high"),
		"PUT /v1/clinical/allergies/:id":                allergyJSON("Penicillin", "low"),
		"POST /v1/notifications/deliveries/:id/retry":   `{"reason":"walk the routes"}`,
		"POST /v1/clinical/cds-services/:id":            `{"hook":"patient-view","hookInstance":"` + uuid.NewString() + `","context":{"patientId":"` + p.ID + `"}}`,
	}
	params := map[string]string{
		"/v1/patients/:id":                         p.ID,
		"/v1/patients/:id/allergies":               p.ID,
		"/v1/clinical/cds-services/:id":            "patient-view",
		"/v1/audit/events/:id":                     seed[0].ID.String(),
		"/v1/notifications/inbox/:id/read":         uuid.NewString(),
		"/v1/notifications/alerts/:id":             uuid.NewString(),
		"/v1/notifications/alerts/:id/acknowledge": uuid.NewString(),
		"/v1/notifications/alerts/:id/resolve":     uuid.NewString(),
		"/v1/clinical/practitioners/:id":           uuid.NewString(),
		"/v1/notifications/policies/:id":           "critical",
	}
	queries := map[string]string{
		"/v1/notifications/inbox":          "?practitionerId=nurse-1",
		"/v1/notifications/deliveries":     "?status=dead",
		"/v1/notifications/inbox/:id/read": "?practitionerId=nurse-1",
		"/v1/audit/reports/disclosures":    "?patientId=" + p.ID,
		"/v1/audit/reports/user-activity":  "?actor=admin",
	}
	// Care plans: an invalid plan (400), a revision and a status change of
	// plans that do not exist (404).
	carePlanJSON := `{"title":"Walk routes","unit":"ward-3","status":"active","period":{"start":"2026-11-25T08:00:00Z"},
		"activities":[{"title":"Turn patient","ownerId":"` + uuid.NewString() + `","schedule":{"dueAt":"2026-11-25T10:00:00Z","repeat":"PT2H"}}]}`
	bodies["POST /v1/clinical/care-plans"] = `{"patientId":"` + p.ID + `","title":"","unit":"ward-3","status":"active"}`
	bodies["PUT /v1/clinical/care-plans/:id"] = carePlanJSON
	bodies["POST /v1/clinical/care-plans/:id/activities/:activityId/status"] = `{"status":"completed","by":"` + uuid.NewString() + `"}`
	queries["/v1/clinical/care-plans"] = "?patientId=" + p.ID + "&overdue=true"
	n := 0
	for _, rt := range Routes() {
		if !strings.HasPrefix(rt.Path, "/v1/") {
			continue
		}
		key := rt.Method + " " + rt.Path
		t.Run(key, func(t *testing.T) {
			path := rt.Path
			if id, ok := params[rt.Path]; ok {
				path = strings.Replace(path, ":id", id, 1)
			} else {
				path = strings.Replace(path, ":id", uuid.NewString(), 1)
			}
			path = strings.Replace(path, ":activityId", uuid.NewString(), 1)
			path += queries[rt.Path]
			reqID := fmt.Sprintf("walk-%d-%d", time.Now().UnixNano(), n)
			n++
			headers := []string{"X-Request-Id", reqID}
			if rt.Method == http.MethodPut {
				headers = append(headers, "If-Match", `"1"`)
			}
			if strings.Contains(rt.Path, "stream") {
				// A stream stays open: read its first bytes, then hang up.
				// It is a practitioner's own.
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, rt.Method, srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+practitionerToken(uuid.New()))
				req.Header.Set("X-Request-Id", reqID)
				res, err := srv.Client().Do(req)
				if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
					t.Fatalf("stream: %v %v", err, res)
				}
				res.Body.Close()
				if got := recordsFor(t, store, reqID); len(got) != 1 {
					t.Fatalf("%s left %d audit records, want 1", key, len(got))
				}
				return
			}
			res := call(t, srv, rt.Method, path, adminToken, bodies[key], headers...)
			if res.status >= 500 {
				t.Fatalf("%s: %d %s", key, res.status, res.body)
			}
			if res.header.Get("RateLimit-Remaining") == "" {
				t.Errorf("%s answered without RateLimit headers: every /v1 route spends a budget", key)
			}
			got := recordsFor(t, store, reqID)
			if len(got) != 1 {
				t.Fatalf("%s (status %d) left %d audit records, want 1", key, res.status, len(got))
			}
			if got[0].Route != rt.Path || got[0].Method != rt.Method {
				t.Fatalf("record names %s %s", got[0].Method, got[0].Route)
			}
		})
	}
}

type failingAppend struct{ AuditStore }

func (failingAppend) Append(context.Context, ...audit.Record) error {
	return errors.New("audit database unreachable")
}

// TestReadFailsClosed: when the audit record of a read cannot be stored, the
// caller gets 503, not the patient's data.
func TestReadFailsClosed(t *testing.T) {
	srv, _ := newAuditedAPI(t, func(s AuditStore) AuditStore { return failingAppend{s} })
	// Writes store their record in their own transaction, so this works.
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Hidden", "Person"))
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	r = call(t, srv, "GET", "/v1/patients/"+p.ID, adminToken, "")
	if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "Hidden") || r.header.Get("ETag") != "" {
		t.Fatalf("unaudited read served: %d %s", r.status, r.body)
	}
	if e := decodeErr(t, r); e.Error != CodeAuditUnavailable {
		t.Fatalf("code %s", e.Error)
	}
}

func TestAuditRecordsWhoWhatWhy(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Rina", "Das"), "X-Request-Id", "reg-1")
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	rec := recordsFor(t, store, "reg-1")[0]
	if rec.Action != audit.ActionCreate || rec.Outcome != audit.OutcomeSuccess || rec.PatientID == nil ||
		rec.PatientID.String() != p.ID || rec.Actor.ClientID != "admin" || rec.Purpose != audit.DefaultPurpose || rec.Status != 201 {
		t.Fatalf("create record: %+v", rec)
	}

	call(t, srv, "GET", "/v1/patients?name=rina", readerToken, "", "X-Request-Id", "search-1", "X-Purpose-Of-Use", "payment")
	rec = recordsFor(t, store, "search-1")[0]
	if rec.Action != audit.ActionSearch || len(rec.PatientIDs) != 1 || rec.PatientIDs[0].String() != p.ID || rec.Purpose != "payment" {
		t.Fatalf("search record: %+v", rec)
	}

	call(t, srv, "GET", "/v1/patients/"+p.ID, "", "", "X-Request-Id", "anon-1")
	rec = recordsFor(t, store, "anon-1")[0]
	if rec.Action != audit.ActionDenied || rec.Outcome != audit.OutcomeDenied || rec.Status != 401 {
		t.Fatalf("denied record: %+v", rec)
	}

	call(t, srv, "PUT", "/v1/patients/"+p.ID, adminToken, patientBody("Rina", "Das"), "X-Request-Id", "stale-1", "If-Match", `"7"`)
	rec = recordsFor(t, store, "stale-1")[0]
	if rec.Action != audit.ActionUpdate || rec.Outcome != audit.OutcomeFailure || rec.Status != 412 {
		t.Fatalf("stale update record: %+v", rec)
	}
}

func TestBreakTheGlass(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Unconscious", "Arrival"))
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)

	if r := call(t, srv, "GET", "/v1/patients/"+p.ID, emergencyToken, ""); r.status != http.StatusForbidden {
		t.Fatalf("emergency scope without a reason: %d", r.status)
	}
	r = call(t, srv, "GET", "/v1/patients/"+p.ID, emergencyToken, "", "X-Break-Glass", "unconscious patient in resus", "X-Request-Id", "bg-1")
	if r.status != http.StatusOK {
		t.Fatalf("break glass: %d %s", r.status, r.body)
	}
	rec := recordsFor(t, store, "bg-1")[0]
	if rec.BreakGlass != "unconscious patient in resus" || rec.Outcome != audit.OutcomeSuccess {
		t.Fatalf("break-glass record: %+v", rec)
	}
	// The audit trail itself cannot be reached by breaking the glass.
	if r := call(t, srv, "GET", "/v1/audit/events", emergencyToken, "", "X-Break-Glass", "curious"); r.status != http.StatusForbidden {
		t.Fatalf("audit via break glass: %d", r.status)
	}
	r = call(t, srv, "GET", "/v1/audit/reports/break-glass", adminToken, "")
	var rep ReportBody
	if err := json.Unmarshal([]byte(r.body), &rep); err != nil || rep.Count != 1 || rep.Records[0].ID != rec.ID {
		t.Fatalf("break-glass report: %d %s", r.status, r.body)
	}
}

func TestReports(t *testing.T) {
	srv, _ := newAuditedAPI(t, nil)
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Report", "Subject"))
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	for range 3 {
		call(t, srv, "GET", "/v1/patients/"+p.ID, readerToken, "")
	}
	call(t, srv, "GET", "/v1/patients?name=report", readerToken, "")

	r = call(t, srv, "GET", "/v1/audit/reports/disclosures?patientId="+p.ID, adminToken, "")
	var rep ReportBody
	if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// the registration, three reads and the search that returned the patient
	if rep.Count != 5 {
		t.Fatalf("disclosures: %d records: %s", rep.Count, r.body)
	}
	byActor := map[string]int{}
	for _, rec := range rep.Records {
		byActor[rec.Actor.ClientID]++
	}
	if byActor["reader"] != 4 || byActor["admin"] != 1 {
		t.Fatalf("disclosures by actor: %v", byActor)
	}

	r = call(t, srv, "GET", "/v1/audit/reports/user-activity?actor=reader", adminToken, "", "Accept", "text/csv")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %v %s", r.status, err, r.body)
	}
	if len(rows) != 1+4 {
		t.Fatalf("user-activity csv has %d rows, want header + 4", len(rows))
	}

	r = call(t, srv, "GET", "/v1/audit/events?patientId="+p.ID+"&limit=2", adminToken, "", "Accept", "application/fhir+json")
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(r.body), &bundle); err != nil || bundle.ResourceType != "Bundle" || len(bundle.Entry) != 2 ||
		bundle.Entry[0].Resource["resourceType"] != "AuditEvent" {
		t.Fatalf("fhir bundle: %d %s", r.status, r.body)
	}
	if _, err := uuid.Parse(fmt.Sprint(bundle.Entry[0].Resource["id"])); err != nil {
		t.Fatalf("AuditEvent id: %v", bundle.Entry[0].Resource["id"])
	}
}

type panickingNotes struct{ NoteStore }

// TestPanicAnswers500AndIsAudited: a handler that panics still gets a 500 in
// the envelope, and the failed request its one audit record.
func TestPanicAnswers500AndIsAudited(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	_ = srv
	h := NewRouter(Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(),
		Health: NewHealth(nil, time.Second), Audit: store, Notes: panickingNotes{},
		Verifier: stubVerifier{adminToken: {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}}},
	})
	req := httptest.NewRequest(http.MethodGet, "/v1/clinical/notes/"+uuid.NewString(), nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Request-Id", "panic-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), CodeInternal) {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
	got := recordsFor(t, store, "panic-1")
	if len(got) != 1 || got[0].Outcome != audit.OutcomeFailure || got[0].Status != 500 {
		t.Fatalf("audit records of the panic: %+v", got)
	}
}
