package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// TestRequirements pins the permission each kind of operation needs.
func TestRequirements(t *testing.T) {
	required := requirements(Routes())
	for key, want := range map[string]string{
		"GET /v1/patients":                                   "system/Patient.s",
		"GET /v1/patients/:id":                               "system/Patient.r",
		"POST /v1/patients":                                  "system/Patient.c",
		"PUT /v1/patients/:id":                               "system/Patient.u",
		"DELETE /v1/patients/:id":                            "system/Patient.d",
		"POST /v1/clinical/encounters/:id/notes":             "system/DocumentReference.c",
		"GET /v1/clinical/encounters/:id/notes":              "system/DocumentReference.s",
		"POST /v1/clinical/notes/:id/sign":                   "system/DocumentReference.u",
		"POST /v1/patients/:id/allergies":                    "system/AllergyIntolerance.c",
		"POST /v1/clinical/encounters/:id/discharge":         "system/Encounter.u",
		"POST /v1/clinical/cds-services/:id":                 "system/Patient.r",
		"GET /v1/notifications/stream":                       "system/Communication.s",
		"POST /v1/notifications/alerts/:id/acknowledge":      "system/Flag.u",
		"GET /v1/auth/sessions":                              access.ScopeOpenID,
		"POST /v1/integration/outbox/dead-letters/:id/retry": "system/Endpoint.u",
	} {
		if got := required[key]; got != want {
			t.Errorf("%s needs %q, want %q", key, got, want)
		}
	}
}

// walkTemporal accepts every workflow start, so each route's handler runs.
type walkTemporal struct {
	client.Client
}

func (f *walkTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}

func (f *walkTemporal) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}

// walkPath fills a route's path parameters with ids.
func walkPath(path string, id func(param string) string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = id(name)
		}
	}
	return strings.Join(parts, "/")
}

// walkCall is call with a deadline: a live stream that was let through is
// cut off after its headers.
func walkCall(t *testing.T, srv *httptest.Server, method, path, token, body string) result {
	t.Helper()
	if path != streamPath {
		return call(t, srv, method, path, token, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := srv.Client().Do(req)
	if err != nil {
		return result{status: 0}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(raw)}
}

func insufficientScope(r result) bool {
	return r.status == http.StatusForbidden && strings.Contains(r.header.Get("WWW-Authenticate"), "insufficient_scope")
}

// TestEveryRouteByContextAndPermission walks the route table (OWASP API1,
// API5): for each route and each SMART context — a machine client
// (system/), a signed-in user (user/), a user launched for one patient
// (patient/) — the one v2 permission the route needs is enough to get past
// authorization, every other permission on the same resource type is not,
// and neither is the permission on another type. v1 grants reach what
// their v2 expansion reaches.
func TestEveryRouteByContextAndPermission(t *testing.T) {
	d, _ := testDeps(t, nil)
	d.Temporal = &walkTemporal{}
	verifier := d.Verifier.(stubVerifier)
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)
	launch := uuid.New()

	tokens := 0
	principalWith := func(ctx string, scopes ...string) string {
		tokens++
		token := fmt.Sprintf("walk-%d", tokens)
		p := access.Principal{Subject: "walker", ClientID: "walker", Scopes: scopes}
		if ctx != access.ContextSystem {
			p.UserID, p.PractitionerID = uuid.NewString(), uuid.NewString()
		}
		if ctx == access.ContextPatient {
			p.Patient = launch.String()
		}
		verifier[token] = p
		return token
	}

	required := requirements(Routes())
	for _, rt := range Routes() {
		need, err := access.ParseScope(required[rt.Method+" "+rt.Path])
		if err != nil {
			continue // public, or a signed-in user's own (openid)
		}
		path := walkPath(rt.Path, func(string) string { return uuid.NewString() })
		body := ""
		if rt.Method != http.MethodGet && rt.Method != http.MethodDelete {
			body = `{}`
		}
		other := "Basic"
		if need.ResourceType == other {
			other = "Binary"
		}
		for _, ctx := range []string{access.ContextSystem, access.ContextUser, access.ContextPatient} {
			scope := func(typ string, perms access.Permission) string {
				return access.Scope{Context: ctx, ResourceType: typ, Perms: perms}.String()
			}
			name := fmt.Sprintf("%s %s as %s", rt.Method, rt.Path, ctx)
			r := walkCall(t, srv, rt.Method, path, principalWith(ctx, scope(need.ResourceType, need.Perms)), body)
			switch {
			case ctx == access.ContextPatient && administers(required[rt.Method+" "+rt.Path]):
				// Administration and the audit trail are never a patient's.
				if r.status != http.StatusForbidden || refusalCode(t, r) != CodePatientContext {
					t.Errorf("%s with %s: %d %s, want 403 %s", name, scope(need.ResourceType, need.Perms), r.status, r.body, CodePatientContext)
				}
			case insufficientScope(r):
				t.Errorf("%s with %s: refused for want of scope (%s)", name, scope(need.ResourceType, need.Perms), r.body)
			}
			if rest := access.PermsAll &^ need.Perms; rest != 0 {
				if r := walkCall(t, srv, rt.Method, path, principalWith(ctx, scope(need.ResourceType, rest)), body); !insufficientScope(r) {
					t.Errorf("%s with %s: %d %s, want 403 insufficient_scope", name, scope(need.ResourceType, rest), r.status, r.body)
				}
			}
			if r := walkCall(t, srv, rt.Method, path, principalWith(ctx, scope(other, access.PermsAll)), body); !insufficientScope(r) {
				t.Errorf("%s with %s: %d, want 403 insufficient_scope", name, scope(other, access.PermsAll), r.status)
			}
			v1 := access.Scope{Context: ctx, ResourceType: access.AnyResource, Perms: access.PermsWrite, V1: true}
			if need.Perms&access.PermsRead != 0 {
				v1.Perms = access.PermsRead
			}
			if r := walkCall(t, srv, rt.Method, path, principalWith(ctx, v1.String()), body); insufficientScope(r) {
				t.Errorf("%s with v1 %s: refused for want of scope", name, v1)
			}
		}
	}
}

// TestPatientTokenReachesOnlyItsPatient walks every route with a token
// launched for patient A, against patient B's records: each route that
// names a patient refuses B, every write that names no patient is refused,
// and no answer of any route holds B's id.
func TestPatientTokenReachesOnlyItsPatient(t *testing.T) {
	d, _ := testDeps(t, nil)
	d.Temporal = &walkTemporal{}
	verifier := d.Verifier.(stubVerifier)
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)

	physician := uuid.New()
	verifier["physician"] = access.Principal{Subject: "u-doc", ClientID: "app", Scopes: []string{"user/*.*"},
		Roles: []string{"clinician"}, UserID: uuid.NewString(), PractitionerID: physician.String()}
	create := func(path, body string) string {
		t.Helper()
		r := call(t, srv, "POST", path, "physician", body)
		if r.status != http.StatusCreated && r.status != http.StatusAccepted {
			t.Fatalf("POST %s: %d %s", path, r.status, r.body)
		}
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.ID == "" {
			t.Fatalf("POST %s: no id in %s", path, r.body)
		}
		return v.ID
	}
	a := create("/v1/patients", patientBody("Alma", "Aziz"))
	b := create("/v1/patients", patientBody("Bashir", "Barua"))
	ids := map[string]string{"Patient": b}
	ids["Encounter"] = create("/v1/clinical/encounters", `{"patientId":"`+b+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`)
	ids["DocumentReference"] = create("/v1/clinical/encounters/"+ids["Encounter"]+"/notes", `{"type":"progress","patientId":"`+b+`","text":"Stable."}`)
	ids["AllergyIntolerance"] = create("/v1/patients/"+b+"/allergies",
		`{"substance":{"text":"Penicillin"},"category":"medication","criticality":"high","reactions":[{"manifestations":["hives"],"severity":"moderate"}]}`)
	ids["CarePlan"] = create("/v1/clinical/care-plans", carePlanJSON(uuid.MustParse(b), physician, time.Now().Add(time.Hour)))

	verifier["launched"] = access.Principal{Subject: "u-doc", ClientID: "app", Scopes: []string{"patient/*.*"},
		Roles: []string{"clinician"}, UserID: uuid.NewString(), PractitionerID: physician.String(), Patient: a}

	required := requirements(Routes())
	for _, rt := range Routes() {
		need, err := access.ParseScope(required[rt.Method+" "+rt.Path])
		if err != nil {
			continue
		}
		write := need.Perms&access.PermsWrite != 0
		path := walkPath(rt.Path, func(param string) string {
			if param == "id" {
				if strings.HasPrefix(rt.Path, "/v1/patients/:id") {
					return b
				}
				if id, ok := ids[rt.Entity]; ok {
					return id
				}
			}
			return uuid.NewString()
		})
		body := ""
		if rt.Method != http.MethodGet && rt.Method != http.MethodDelete {
			body = `{"patientId":"` + b + `"}`
		}
		name := rt.Method + " " + rt.Path
		r := call(t, srv, rt.Method, path, "launched", body)
		if strings.Contains(r.body, b) {
			t.Errorf("%s: the answer holds the other patient: %d %s", name, r.status, r.body)
		}
		namesPatient := strings.HasPrefix(rt.Path, "/v1/patients/:id") || body != "" || rt.Path == streamPath ||
			administers(required[rt.Method+" "+rt.Path])
		if (write || namesPatient) && (r.status != http.StatusForbidden || refusalCode(t, r) != CodePatientContext) {
			t.Errorf("%s: %d %s, want 403 %s", name, r.status, r.body, CodePatientContext)
		}
		// Lists by patient are narrowed to the launch patient; naming
		// the other patient is refused.
		if rt.Method == http.MethodGet && !write {
			r := call(t, srv, rt.Method, path+"?patientId="+b, "launched", "")
			if strings.Contains(r.body, b) {
				t.Errorf("%s?patientId=B: the answer holds the other patient", name)
			}
		}
	}

	// The launch patient's own records are reachable, and lists are
	// narrowed to them.
	if r := call(t, srv, "GET", "/v1/patients/"+a, "launched", ""); r.status != http.StatusOK {
		t.Errorf("own patient: %d %s", r.status, r.body)
	}
	r := call(t, srv, "GET", "/v1/clinical/encounters", "launched", "")
	if r.status != http.StatusOK || strings.Contains(r.body, b) {
		t.Errorf("encounter list: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", "/v1/patients/"+a+"/allergies", "launched",
		`{"substance":{"text":"Latex"},"category":"environment","criticality":"low","reactions":[{"manifestations":["rash"],"severity":"mild"}]}`); r.status != http.StatusCreated {
		t.Errorf("allergy of the launch patient: %d %s", r.status, r.body)
	}
}

// refusalCode is the error code of a refusal: the envelope's, or under
// /fhir the code an OperationOutcome's diagnostics begin with.
func refusalCode(t *testing.T, r result) string {
	t.Helper()
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+json") {
		return decodeErr(t, r).Error
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Code, Diagnostics string
		} `json:"issue"`
	}
	if err := json.Unmarshal([]byte(r.body), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	code, _, _ := strings.Cut(oo.Issue[0].Diagnostics, ":")
	return code
}
