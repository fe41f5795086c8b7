package api

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// TestRolesAgainstRouteTable checks the role catalogue against the scopes the
// routes require: every route but audit submission is reachable through some
// role, the auditor reaches only the audit trail, and the admin no clinical
// record.
func TestRolesAgainstRouteTable(t *testing.T) {
	reach := map[access.Role][]Route{}
	for _, rt := range Routes() {
		// Public routes, and a signed-in user's own (openid: any user).
		if rt.Scope == "" || rt.Scope == access.ScopeOpenID {
			continue
		}
		var granted bool
		for _, r := range access.Roles {
			if (access.Principal{Scopes: r.Scopes()}).Allows(rt.Scope) {
				reach[r] = append(reach[r], rt)
				granted = true
			}
		}
		// Services submit audit events with a scope registered on them.
		if !granted && rt.Scope != "system/AuditEvent.write" {
			t.Errorf("%s %s needs %s, which no role grants", rt.Method, rt.Path, rt.Scope)
		}
	}
	for _, r := range access.Roles {
		if len(reach[r]) == 0 {
			t.Errorf("role %s reaches no route", r)
		}
	}
	for _, rt := range reach[access.RoleAuditor] {
		if rt.Method != "GET" || !strings.HasPrefix(rt.Path, "/v1/audit/") && !strings.HasPrefix(rt.Path, "/fhir/R4/AuditEvent") {
			t.Errorf("auditor reaches %s %s", rt.Method, rt.Path)
		}
	}
	clinical := []string{"Patient", "Encounter", "DocumentReference", "CarePlan", "AllergyIntolerance", "GuidanceResponse", "Flag", "Communication", "AuditEvent"}
	for _, rt := range reach[access.RoleAdmin] {
		if slices.Contains(clinical, rt.Entity) {
			t.Errorf("admin reaches %s %s (%s)", rt.Method, rt.Path, rt.Entity)
		}
	}
}

// TestAuditorRole: a token of an auditor client is refused clinical routes,
// reads the audit trail, and the audit records name its role, in FHIR too.
func TestAuditorRole(t *testing.T) {
	d, store := testDeps(t, nil)
	const auditorToken = "auditor"
	d.Verifier.(stubVerifier)[auditorToken] = access.Principal{
		Subject: "audit-desk", ClientID: "audit-desk", Scopes: access.RoleAuditor.Scopes(), Roles: []string{"auditor"},
	}
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)

	for _, path := range []string{"/v1/patients", "/v1/clinical/encounters", "/v1/notifications/alerts", "/v1/clinical/practitioners"} {
		if r := call(t, srv, "GET", path, auditorToken, "", "X-Request-Id", "auditor-denied"); r.status != 403 {
			t.Errorf("auditor GET %s: %d %s, want 403", path, r.status, r.body)
		}
	}
	if r := call(t, srv, "POST", "/v1/audit/events", auditorToken, `{}`); r.status != 403 {
		t.Errorf("auditor POST /v1/audit/events: %d %s, want 403", r.status, r.body)
	}
	r := call(t, srv, "GET", "/v1/audit/events?actor=audit-desk", auditorToken, "", "X-Request-Id", "auditor-reads")
	if r.status != 200 {
		t.Fatalf("auditor GET /v1/audit/events: %d %s", r.status, r.body)
	}

	denied := recordsFor(t, store, "auditor-denied")
	if len(denied) != 4 {
		t.Fatalf("denied requests left %d audit records, want 4", len(denied))
	}
	for _, rec := range denied {
		if rec.Outcome != audit.OutcomeDenied || rec.Actor.ClientID != "audit-desk" || !slices.Equal(rec.Actor.Roles, []string{"auditor"}) {
			t.Errorf("denied record actor %+v outcome %s, want audit-desk as auditor, denied", rec.Actor, rec.Outcome)
		}
	}
	read := recordsFor(t, store, "auditor-reads")
	if len(read) != 1 || read[0].Outcome != audit.OutcomeSuccess || !slices.Equal(read[0].Actor.Roles, []string{"auditor"}) {
		t.Fatalf("audit read records: %+v", read)
	}

	// The FHIR rendering names the role on the requesting agent.
	r = call(t, srv, "GET", "/v1/audit/events/"+read[0].ID.String(), auditorToken, "", "Accept", "application/fhir+json")
	var ev struct {
		Agent []struct {
			Requestor bool `json:"requestor"`
			Role      []struct {
				Text string `json:"text"`
			} `json:"role"`
		} `json:"agent"`
	}
	if err := json.Unmarshal([]byte(r.body), &ev); err != nil || r.status != 200 || len(ev.Agent) == 0 ||
		len(ev.Agent[0].Role) != 1 || ev.Agent[0].Role[0].Text != "auditor" || !ev.Agent[0].Requestor {
		t.Fatalf("FHIR AuditEvent: %d %s", r.status, r.body)
	}
}
