package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// refusingTemporal is the smallest Temporal client the routes need: starts
// and signals are taken, everything that would reach a running workflow
// finds none. The fuzz test asserts on the edge, not on workflows.
type refusingTemporal struct{ client.Client }

type refusedRun struct {
	client.WorkflowRun
	id string
}

func (r refusedRun) GetID() string                  { return r.id }
func (r refusedRun) GetRunID() string               { return "run" }
func (r refusedRun) GetFirstExecutionRunID() string { return "run" }
func (r refusedRun) Get(context.Context, any) error {
	return serviceerror.NewNotFound("no such workflow")
}
func (refusingTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return nil
}
func (refusingTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	return refusedRun{id: o.ID}, nil
}
func (refusingTemporal) SignalWithStartWorkflow(_ context.Context, id, _ string, _ any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	return refusedRun{id: id}, nil
}
func (refusingTemporal) GetWorkflow(_ context.Context, id, _ string) client.WorkflowRun {
	return refusedRun{id: id}
}
func (refusingTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewNotFound("no such workflow")
}
func (refusingTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, serviceerror.NewNotFound("no such workflow")
}
func (refusingTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("no such workflow")
}

// fuzzAPI is the router the other API tests use (testDeps, so every store
// a route needs), with a refusing Temporal, on a fresh database. Its
// requests are the gateway's, acting for the recorder (fuzzActor), a
// practitioner of the directory, so the acts that need a person reach
// their handlers.
func fuzzAPI(tb testing.TB) (http.Handler, *pgxpool.Pool) {
	pool := pgtest.NewPool(tb)
	d, _ := depsOn(pool, nil)
	d.Temporal = refusingTemporal{}
	d.Verifier.(stubVerifier)[gatewayToken] = peopleVerifier()[gatewayToken]
	registerPractitioners(tb, pool, uuid.MustParse(fuzzActor))
	return NewRouter(d), pool
}

// fuzzActor is the practitioner every generated request acts for; the
// seeds name them wherever a body names who acts.
const fuzzActor = recorder

// fuzzContentTypes are the media types a generated request declares.
var fuzzContentTypes = []string{
	"application/json", "application/json; charset=utf-8", "application/json; charset=iso-8859-1",
	"application/fhir+json", "application/x-www-form-urlencoded", "text/plain", "",
}

// FuzzRoutes drives every route of the route table with generated bodies,
// query strings, path parameters and headers, and asserts what must hold
// whatever a client sends: never a 5xx, every /v1 request audited exactly
// once, and what a write answers with is what was sent.
func FuzzRoutes(f *testing.F) {
	h, pool := fuzzAPI(f)
	routes := Routes()
	var seq atomic.Int64
	do := func(method, path, query, contentType, ifMatch, idemKey string, body []byte) (*httptest.ResponseRecorder, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if strings.HasSuffix(path, "/stream") {
			ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
		}
		req := httptest.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
		req.URL.Path, req.URL.RawQuery = path, query
		reqID := fmt.Sprintf("fuzz-%d-%d", time.Now().UnixNano(), seq.Add(1))
		req.Header.Set("X-Request-Id", reqID)
		req.Header.Set("Authorization", "Bearer "+gatewayToken)
		req.Header.Set(headerOnBehalfOf, "Practitioner/"+fuzzActor)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec, reqID
	}
	// Resources the seeds name, so that generated requests also reach
	// handlers past their lookups.
	rec, _ := do("POST", "/v1/patients", "", "application/json", "", "", []byte(patientBody("Fuzz", "Seed")))
	var seeded struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &seeded); err != nil || rec.Code != http.StatusCreated {
		f.Fatalf("seed patient: %d %s", rec.Code, rec.Body)
	}
	pid, someone := seeded.ID, fuzzActor
	if rec, _ := do("POST", "/v1/notifications/policies", "", "application/json", "", "", []byte(`{"id":"critical","levels":[`+fuzzLevel+`]}`)); rec.Code != http.StatusCreated {
		f.Fatalf("seed policy: %d %s", rec.Code, rec.Body)
	}
	bodies, queries := routeSeeds(pid, someone)
	for i, rt := range routes {
		param := someone
		switch {
		case strings.HasPrefix(rt.Path, "/v1/patients/:id"):
			param = pid
		case strings.HasPrefix(rt.Path, "/v1/notifications/policies/"):
			param = "critical"
		case strings.HasPrefix(rt.Path, "/v1/clinical/cds-services/"):
			param = "patient-view"
		}
		ct := 0
		if rt.Path == tokenPath {
			ct = 4
		}
		f.Add(uint16(i), param, queries[rt.Path], []byte(bodies[rt.Method+" "+rt.Path]), uint8(ct), "")
	}
	// The cases the issue measured.
	index := func(method, path string) uint16 {
		for i, rt := range routes {
			if rt.Method == method && rt.Path == path {
				return uint16(i)
			}
		}
		f.Fatalf("no route %s %s", method, path)
		return 0
	}
	big := strings.Repeat("x", 900_000)
	f.Add(index("POST", "/v1/patients"), "", "", []byte(patientBody("Salma", `a\u0000b`)), uint8(0), "")
	f.Add(index("POST", "/v1/patients"), "", "", []byte(patientBody("Salma", "Jos\xff\xfe")), uint8(0), "")
	f.Add(index("POST", "/v1/patients"), "", "", []byte(patientBody("Salma", "Jos\xe9")), uint8(2), "")
	f.Add(index("POST", "/v1/patients"), "", "", []byte(patientBody("Salma", `Jos\ud800`)), uint8(0), "k\xff")
	f.Add(index("GET", "/v1/patients"), "", "name=a%00b", []byte(nil), uint8(6), "")
	f.Add(index("GET", "/v1/patients"), "", "name=ab&limit=0", []byte(nil), uint8(6), "")
	f.Add(index("GET", "/v1/clinical/care-plans"), "", "limit=0", []byte(nil), uint8(6), "")
	f.Add(index("POST", "/v1/clinical/practitioners"), "", "", []byte(`{"name":"`+big+`","roles":["nurse"],"units":[]}`), uint8(0), "")
	f.Add(index("POST", "/v1/clinical/encounters"), "", "", []byte(`{"patientId":"`+pid+`","class":"emergency","location":"a\u0000b"}`), uint8(0), "")
	f.Add(index("POST", "/v1/clinical/encounters/:id/triage"), someone, "", []byte(`{"by":"`+someone+`","acuity":2,"chiefComplaint":"x\u0000y"}`), uint8(0), "")
	f.Add(index("POST", "/v1/notifications/alerts"), "", "", []byte(`{"patientId":"`+pid+`","unit":"ward-3","severity":"critical","category":"lab","message":"a\u0000b","source":"lab/1"}`), uint8(0), "")
	f.Add(index("POST", "/v1/notifications/policies"), "", "", []byte(`{"id":"`+big+`","levels":[`+fuzzLevel+`]}`), uint8(0), "")
	f.Add(index("POST", "/v1/notifications/policies"), "", "", []byte(`{"id":"../../v1/patients","levels":[`+fuzzLevel+`]}`), uint8(0), "")
	f.Add(index("GET", "/v1/notifications/policies/:id"), "../../v1/patients", "", []byte(nil), uint8(6), "")
	f.Add(index("GET", "/v1/notifications/policies/:id"), "a\x00b", "", []byte(nil), uint8(6), "")
	f.Add(index("POST", "/v1/clinical/encounters/:id/notes"), someone, "", []byte(`{"type":"progress","authorId":"`+someone+`","text":"`+strings.Repeat("<", 90_000)+`"}`), uint8(0), "")

	f.Fuzz(func(t *testing.T, route uint16, param, query string, body []byte, contentType uint8, header string) {
		rt := routes[int(route)%len(routes)]
		path := strings.ReplaceAll(rt.Path, ":activityId", someone)
		path = strings.ReplaceAll(path, ":id", param)
		// A header that cannot cross the wire (control characters) is not sent.
		if strings.ContainsFunc(header, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			header = ""
		}
		ifMatch, idemKey := "", ""
		switch rt.Method {
		case http.MethodPut, http.MethodDelete:
			ifMatch = header
			if ifMatch == "" {
				ifMatch = `"1"`
			}
		case http.MethodPost:
			idemKey = header
		}
		ct := fuzzContentTypes[int(contentType)%len(fuzzContentTypes)]
		rec, reqID := do(rt.Method, path, query, ct, ifMatch, idemKey, body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%q (%s, %d-byte body %.200q): %d %.500s", rt.Method, path, query, ct, len(body), body, rec.Code, rec.Body)
		}
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s answered invalid UTF-8: %.200q", rt.Method, path, rec.Body)
		}
		if strings.HasPrefix(path, "/v1/") {
			var n int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE request_id = $1`, reqID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("%s %s (%d) left %d audit records, want 1", rt.Method, path, rec.Code, n)
			}
		}
		if rec.Code < 300 && echoesItsBody[rt.Method+" "+rt.Path] {
			if field, sent, got, ok := storedAsSent(body, rec.Body.Bytes()); !ok {
				t.Fatalf("%s %s stored %s = %q, sent %q", rt.Method, path, field, got, sent)
			}
		}
	})
}

// fuzzResult is one new observation as the diagnostic results' seeds send it.
const fuzzResult = `{"code":"2823-3","value":{"value":6.8,"unit":"mmol/L"},"effectiveAt":"2026-11-25T08:00:00Z",
	"referenceRange":{"low":3.5,"high":5.3,"unit":"mmol/L"}}`

// fuzzDraftOrder is a draft MedicationRequest as the order hooks' seeds send it.
const fuzzDraftOrder = `{"resourceType":"MedicationRequest","id":"d1","status":"draft","intent":"order",
	"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"723","display":"amoxicillin"}]},
	"dosageInstruction":[{"route":{"text":"oral"},"timing":{"repeat":{"frequency":3,"period":1,"periodUnit":"d"}},
	"doseAndRate":[{"doseQuantity":{"value":500,"unit":"mg"}}]}],"dispenseRequest":{"expectedSupplyDuration":{"value":7,"unit":"days"}}}`

// echoesItsBody are the writes that answer with the resource they stored,
// so that every field sent can be compared with the one stored.
var echoesItsBody = map[string]bool{
	"POST /v1/patients": true, "PUT /v1/patients/:id": true,
	"POST /v1/clinical/encounters/:id/notes": true, "PUT /v1/clinical/notes/:id": true,
	"POST /v1/clinical/care-plans": true, "PUT /v1/clinical/care-plans/:id": true,
	"POST /v1/patients/:id/allergies": true, "PUT /v1/clinical/allergies/:id": true,
	"POST /v1/clinical/practitioners": true, "POST /v1/clinical/on-call": true,
	"POST /v1/notifications/policies": true, "POST /v1/notifications/routing-rules": true,
	"POST /v1/audit/events": true,
}

// readOnly are fields a client may echo from a read but the server keeps.
var readOnly = map[string]bool{"createdAt": true, "updatedAt": true, "version": true, "signedAt": true}

// storedAsSent compares every string the request body sent with the
// answer's string at the same path. Stores trim text and fold the case of
// codes and email addresses; UUIDs and times compare by value.
func storedAsSent(sent, answer []byte) (field, want, got string, ok bool) {
	answered := map[string]string{}
	_ = walkJSON(answer, nil, nil, func(n *jsonNode) bool {
		if n.kind == '"' && !n.key {
			answered[n.path] = n.str
		}
		return true
	})
	ok = true
	_ = walkJSON(sent, nil, nil, func(n *jsonNode) bool {
		if n.kind != '"' || n.key || n.str == "" || readOnly[lastKey(n.path)] {
			return true
		}
		g, found := answered[n.path]
		if !found || sameValue(n.str, g) {
			return true
		}
		field, want, got, ok = n.path, n.str, g, false
		return false
	})
	return field, want, got, ok
}

func sameValue(sent, got string) bool {
	if got == sent || strings.EqualFold(got, strings.TrimSpace(sent)) {
		return true
	}
	if a, err := uuid.Parse(sent); err == nil {
		b, err := uuid.Parse(got)
		return err == nil && a == b
	}
	if a, err := time.Parse(time.RFC3339Nano, sent); err == nil {
		b, err := time.Parse(time.RFC3339Nano, got)
		return err == nil && a.Equal(b)
	}
	return false
}

func TestStoredAsSent(t *testing.T) {
	for _, tt := range []struct {
		sent, answer string
		ok           bool
	}{
		{`{"name":{"family":" Khatun "}}`, `{"id":"1","name":{"family":"Khatun"}}`, true},
		{`{"telecom":[{"value":"A@Example.org"}]}`, `{"telecom":[{"value":"a@example.org"}]}`, true},
		{`{"at":"2026-11-25T09:00:00+01:00","who":"0190F3C4-0000-7000-8000-0000000000A1"}`,
			`{"at":"2026-11-25T08:00:00Z","who":"0190f3c4-0000-7000-8000-0000000000a1"}`, true},
		{`{"name":{"family":"José"}}`, `{"name":{"family":"Jos\ufffd"}}`, false},
		{`{"sections":[{"text":"a"},{"text":"b"}]}`, `{"sections":[{"text":"a"},{"text":"c"}]}`, false},
	} {
		if field, _, _, ok := storedAsSent([]byte(tt.sent), []byte(tt.answer)); ok != tt.ok {
			t.Errorf("%s vs %s: ok %v (%s)", tt.sent, tt.answer, ok, field)
		}
	}
}
