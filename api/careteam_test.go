package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The care-team routes need only the directory and the escalation
// policies: a practitioner is added, on the record, and a routing rule
// naming no policy is refused by field.
func TestCareTeamRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.CareTeam, d.Alerts = postgres.NewCareTeamStore(pool), postgres.NewAlertStore(pool)
	srv := serveRouter(t, d)

	r := call(t, srv, "POST", "/v1/clinical/practitioners", adminToken,
		`{"name":"Nurse Joy","roles":["nurse"],"units":["ward-3"],"contacts":[{"system":"email","value":"joy@example.org"}]}`,
		"X-Request-Id", "practitioner-add")
	var p careteam.Practitioner
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	if r.header.Get("Location") != "/v1/clinical/practitioners/"+p.ID.String() {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	if r := call(t, srv, "GET", "/v1/clinical/practitioners?unit=ward-3", adminToken, ""); r.status != http.StatusOK ||
		!strings.Contains(r.body, p.ID.String()) {
		t.Errorf("ward-3's practitioners: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, auditStore, "practitioner-add")
	if len(recs) != 1 || recs[0].Action != audit.ActionCreate || recs[0].EntityType != "Practitioner" ||
		recs[0].EntityID != p.ID.String() || recs[0].Outcome != audit.OutcomeSuccess {
		t.Errorf("audit record of the practitioner: %+v", recs)
	}

	if r := call(t, srv, "POST", "/v1/notifications/policies", adminToken, `{"id":"ward-3","name":"Ward 3","levels":[
		{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}]}`); r.status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", "/v1/notifications/routing-rules", adminToken,
		`{"category":"news2","minSeverity":"urgent","policyId":"ward-3"}`); r.status != http.StatusCreated {
		t.Errorf("rule to the policy: %d %s", r.status, r.body)
	}
	wantFields(t, "rule naming no policy", call(t, srv, "POST", "/v1/notifications/routing-rules", adminToken,
		`{"category":"news2","minSeverity":"urgent","policyId":"nobody"}`), "policyId")
}
