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
	level := `{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}`
	if rec, _ := do("POST", "/v1/notifications/policies", "", "application/json", "", "", []byte(`{"id":"critical","levels":[`+level+`]}`)); rec.Code != http.StatusCreated {
		f.Fatalf("seed policy: %d %s", rec.Code, rec.Body)
	}
	bodies := map[string]string{
		"POST /v1/patients":                       patientBody("Salma", "Khatun"),
		"PUT /v1/patients/:id":                    patientBody("Salma", "Khatun-Ali"),
		"POST /v1/clinical/encounters":            `{"patientId":"` + pid + `","class":"emergency","location":"ed-1","reason":"chest pain"}`,
		"POST /v1/clinical/encounters/:id/triage": `{"by":"` + someone + `","acuity":2,"chiefComplaint":"chest pain"}`,
		"POST /v1/clinical/encounters/:id/notes": `{"type":"progress","authorId":"` + someone + `","text":"Stable.",
			"sections":[{"title":"Plan","text":"Observe."}]}`,
		"PUT /v1/clinical/notes/:id":        `{"authorId":"` + someone + `","text":"Stable overnight."}`,
		"POST /v1/clinical/notes/:id/amend": `{"authorId":"` + someone + `","reason":"typo","text":"Stable."}`,
		"POST /v1/clinical/care-plans": `{"patientId":"` + pid + `","title":"Pressure care","unit":"ward-3","status":"active",
			"period":{"start":"2026-11-25T08:00:00Z"},"goals":[{"description":"Skin intact"}],
			"activities":[{"title":"Reposition","ownerId":"` + someone + `","schedule":{"dueAt":"2026-11-25T10:00:00Z","repeat":"PT2H"}}]}`,
		"PUT /v1/clinical/care-plans/:id":                                `{"title":"Pressure care","unit":"ward-3","status":"active","period":{"start":"2026-11-25T08:00:00Z"}}`,
		"POST /v1/clinical/care-plans/:id/activities/:activityId/status": `{"status":"completed","by":"` + someone + `"}`,
		"POST /v1/patients/:id/allergies":                                allergyJSON("Penicillin", "high"),
		"PUT /v1/clinical/allergies/:id":                                 allergyJSON("Penicillin", "low"),
		"POST /v1/clinical/cds-services/:id":                             `{"hook":"patient-view","hookInstance":"` + someone + `","context":{"patientId":"` + pid + `"}}`,
		"POST /v1/clinical/practitioners":                                `{"name":"Nurse Joy","roles":["nurse"],"units":["ward-3"],"contacts":[{"system":"email","value":"joy@example.org"}]}`,
		"POST /v1/clinical/on-call":                                      `{"practitionerId":"` + someone + `","role":"nurse","unit":"ward-3","from":"2026-11-25T08:00:00Z","to":"2026-11-25T20:00:00Z"}`,
		"POST /v1/notifications/policies":                                `{"id":"ward-3","name":"Ward 3","levels":[` + level + `],"repeat":1}`,
		"POST /v1/notifications/routing-rules":                           `{"category":"lab","minSeverity":"urgent","policyId":"critical"}`,
		"POST /v1/notifications/alerts": `{"patientId":"` + pid + `","unit":"ward-3","severity":"critical","category":"lab",
			"message":"Potassium 6.9","source":"lab/1","policyId":"critical"}`,
		"POST /v1/notifications/alerts/:id/acknowledge": `{"practitionerId":"` + someone + `"}`,
		"POST /v1/notifications/alerts/:id/resolve":     `{"practitionerId":"` + someone + `","note":"treated"}`,
		"POST /v1/audit/events": `{"action":"security","outcome":"denied","entityType":"Device","description":"badge refused",
			"actor":{"subject":"guard","roles":["security"]}}`,
		"POST /v1/auth/oauth2/token": "grant_type=client_credentials&scope=system%2FPatient.read",
		"POST /v1/observations":      `{"patientId":"` + pid + `","code":"8867-4","value":{"value":88,"unit":"/min"},"effectiveAt":"2026-11-25T08:00:00Z"}`,
		"POST /v1/observations/batch": `{"items":[{"patientId":"` + pid + `","code":"8310-5","value":{"value":101.3,"unit":"[degF]"},"effectiveAt":"2026-11-25T08:00:00Z"},
			{"patientId":"` + pid + `","code":"85354-9","effectiveAt":"2026-11-25T08:01:00Z","components":[{"code":"8480-6","value":105,"unit":"mm[Hg]"},{"code":"8462-4","value":70,"unit":"mm[Hg]"}]}]}`,
		"POST /v1/observations/news2/calculate":   `{"respirationRate":18,"spo2":96,"spo2Scale":1,"supplementalOxygen":false,"systolicBP":120,"pulse":80,"consciousness":"A","temperature":37.1}`,
		"POST /v1/patients/:id/spo2-scale":        `{"scale":2,"reason":"hypercapnic respiratory failure"}`,
		"POST /v1/medications/interactions/check": `{"medications":[{"name":"warfarin"},{"code":"5640"},{"name":"amoxicilin"}]}`,
		"POST /v1/medications/dosage/calculate":   `{"medication":"gentamicin","weightKg":60,"ageYears":70,"sex":"male","creatinineMicromolL":206.1}`,
		"POST /v1/clinical/cds-services/order-sign": `{"hook":"order-sign","hookInstance":"` + someone + `","context":{"patientId":"` + pid + `",
			"draftOrders":{"resourceType":"Bundle","entry":[{"resource":` + fuzzDraftOrder + `}]}}}`,
		"POST /v1/clinical/cds-services/order-select": `{"hook":"order-select","hookInstance":"` + someone + `","context":{"patientId":"` + pid + `",
			"selections":["MedicationRequest/d1"],"draftOrders":{"resourceType":"Bundle","entry":[{"resource":` + fuzzDraftOrder + `}]}}}`,

		"POST /v1/diagnostics/orders": `{"patientId":"` + pid + `","tests":["24362-6","58410-2"],"priority":"stat",
			"clinicalInformation":"AKI?","specimenNotes":"not from the drip arm"}`,
		"POST /v1/diagnostics/orders/:id/cancel":                              `{"by":"` + someone + `","reason":"ordered in error"}`,
		"POST /v1/diagnostics/orders/:id/specimens":                           `{"by":"` + someone + `","container":"sst-gold","accessionId":"A26-0001","collectedAt":"2026-11-25T08:00:00Z"}`,
		"POST /v1/diagnostics/orders/:id/specimens/:accession/receive":        `{"by":"` + someone + `"}`,
		"POST /v1/diagnostics/orders/:id/specimens/:accession/reject":         `{"by":"` + someone + `","reason":"haemolysed","note":"pink serum"}`,
		"POST /v1/diagnostics/orders/:id/results":                             `{"by":"` + someone + `","observations":[` + fuzzResult + `],"observationIds":["` + someone + `"]}`,
		"POST /v1/diagnostics/reports/:id/flags/:flagId/review":               `{"by":"` + someone + `","note":"the repeat agrees"}`,
		"POST /v1/diagnostics/reports/:id/verify":                             `{"by":"` + someone + `","conclusion":"Normal renal function.","codes":[{"system":"http://snomed.info/sct","code":"17621005","display":"Normal"}]}`,
		"POST /v1/diagnostics/reports/:id/release":                            `{"by":"` + someone + `"}`,
		"POST /v1/diagnostics/reports/:id/open":                               `{"by":"` + someone + `"}`,
		"POST /v1/diagnostics/reports/:id/amend":                              `{"by":"` + someone + `","reason":"advice","addendum":"Repeat in 3 months.","conclusion":"Normal.","codes":[]}`,
		"POST /v1/diagnostics/reports/:id/correct":                            `{"by":"` + someone + `","reason":"transcription","conclusion":"Hyperkalaemia.","observations":[` + fuzzResult + `]}`,
		"POST /v1/diagnostics/reports/:id/withdraw":                           `{"by":"` + someone + `","reason":"wrong patient"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/attempt":   `{"by":"` + someone + `","to":"` + someone + `","reached":true,"note":"ward phone","at":"2026-11-25T08:05:00Z"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/confirm":   `{"by":"` + someone + `","value":"6.8 mmol/L","receiver":"` + someone + `"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/read-back": `{"value":"6.8 mmol/L"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/close":     `{"by":"` + someone + `","outcome":"unable-to-reach","note":"escalated to the consultant"}`,
	}
	queries := map[string]string{
		"/v1/patients":                    "name=salma&limit=5",
		"/v1/notifications/inbox":         "practitionerId=" + someone,
		"/v1/notifications/stream":        "practitionerId=" + someone,
		"/v1/audit/reports/disclosures":   "patientId=" + pid,
		"/v1/audit/reports/user-activity": "actor=admin",
		"/v1/observations":                "patientId=" + pid + "&code=8867-4",
		"/v1/observations/latest":         "patientId=" + pid + "&codes=8867-4,8310-5",
		"/v1/observations/trends":         "patientId=" + pid + "&code=8867-4&bucket=PT1H",
		"/v1/observations/news2":          "patientId=" + pid,
		"/v1/observations/news2/history":  "patientId=" + pid + "&from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z",
		"/v1/medications/drugs":           "q=warf&limit=5",
		"/v1/diagnostics/reports":         "patientId=" + pid + "&status=final&category=laboratory&limit=5",
		"/v1/diagnostics/metrics":         "priority=stat&test=24362-6",
		"/v1/diagnostics/catalogue":       "q=renal&kind=panel",
	}
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
	f.Add(index("POST", "/v1/notifications/policies"), "", "", []byte(`{"id":"`+big+`","levels":[`+level+`]}`), uint8(0), "")
	f.Add(index("POST", "/v1/notifications/policies"), "", "", []byte(`{"id":"../../v1/patients","levels":[`+level+`]}`), uint8(0), "")
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
