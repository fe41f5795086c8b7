package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	alertflow "github.com/zarish-sphere/zarish/workflows/alert"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// TestPolicyNamesWhoMayResolve: besides its recipients and the clinicians
// of its unit, the holders of a role the alert's policy names
// (resolverRoles) may resolve it — a charge nurse of another unit — and a
// practitioner holding another role there may not.
func TestPolicyNamesWhoMayResolve(t *testing.T) {
	a := newAlertsAPI(t)
	if r := a.call(t, http.MethodPost, "/v1/notifications/policies", `{"id":"lab-critical","name":"Critical lab values",
		"resolverRoles":["charge-nurse"],
		"levels":[{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}]}`); r.status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	if r := a.call(t, http.MethodGet, "/v1/notifications/policies/lab-critical", ""); !strings.Contains(r.body, `"resolverRoles":["charge-nurse"]`) {
		t.Fatalf("policy read back: %d %s", r.status, r.body)
	}
	wantFields(t, "an unknown resolver role", a.call(t, http.MethodPost, "/v1/notifications/policies", `{"id":"x","name":"x",
		"resolverRoles":["janitor"],"levels":[{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}]}`), "resolverRoles")
	if r := a.call(t, http.MethodPost, "/v1/notifications/routing-rules",
		`{"category":"critical-lab-value","minSeverity":"critical","policyId":"lab-critical"}`); r.status != http.StatusCreated {
		t.Fatalf("routing rule: %d %s", r.status, r.body)
	}
	_, raised := a.raise(t, a.raiseBody("critical", "K+ 7.1"))
	rec, err := a.store.GetAlert(context.Background(), raised.ID)
	if err != nil || rec.PolicyID != "lab-critical" {
		t.Fatalf("raised alert %+v, %v: want policy lab-critical", rec, err)
	}

	team := postgres.NewCareTeamStore(a.pool)
	add := func(role careteam.Role) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		p, err := careteam.NewPractitioner(id, fmt.Sprint("A ", role), []careteam.Role{role}, []string{"ward-9"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := team.CreatePractitioner(context.Background(), nil, p); err != nil {
			t.Fatal(err)
		}
		return id
	}
	charge, nurse := add(careteam.RoleChargeNurse), add(careteam.RoleNurse)
	a.temporal.update = func(id uuid.UUID, req alertflow.Request) (alertflow.State, error) {
		res := req.(*alertflow.ResolveRequest)
		if err := a.store.RecordResolved(context.Background(), id, res.PractitionerID, "Charge nurse", res.Note, time.Now(), res.Audit); err != nil {
			return alertflow.State{}, err
		}
		return alertflow.State{Raise: alert.Raise{AlertID: id}, Status: alert.StatusResolved}, nil
	}
	path := "/v1/notifications/alerts/" + raised.ID.String() + "/resolve"
	wantCode(t, call(t, a.srv, http.MethodPost, path, practitionerToken(nurse), `{"note":"not mine to close"}`),
		http.StatusForbidden, CodeNotARecipient)
	if r := call(t, a.srv, http.MethodPost, path, practitionerToken(charge), `{"note":"repeat sample normal"}`); r.status != http.StatusOK {
		t.Fatalf("the charge nurse resolves: %d %s", r.status, r.body)
	}
}
