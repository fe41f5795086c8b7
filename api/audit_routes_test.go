package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The audit routes need only the audit store: a submitted security event
// is the request's own record and reads back, the chain is intact, and a
// client without AuditEvent.read is refused, on the record.
func TestAuditRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	srv := serveRouter(t, d)

	r := call(t, srv, "POST", "/v1/audit/events", adminToken,
		`{"action":"security","outcome":"denied","entityType":"Device","description":"badge reader refused"}`,
		"X-Request-Id", "audit-submit")
	var rec audit.Record
	if err := json.Unmarshal([]byte(r.body), &rec); err != nil || r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, auditStore, "audit-submit")
	if len(recs) != 1 || recs[0].ID != rec.ID || recs[0].Action != audit.ActionSecurity ||
		recs[0].EntityType != "Device" || recs[0].Actor.ClientID != "admin" {
		t.Errorf("the submitted event is not the request's record: %+v", recs)
	}
	if r := call(t, srv, "GET", r.header.Get("Location"), adminToken, ""); r.status != http.StatusOK {
		t.Errorf("read back: %d %s", r.status, r.body)
	}
	var v VerifyBody
	if r := call(t, srv, "GET", "/v1/audit/verify", adminToken, ""); json.Unmarshal([]byte(r.body), &v) != nil || !v.Intact {
		t.Errorf("verify: %d %s", r.status, r.body)
	}

	wantCode(t, call(t, srv, "GET", "/v1/audit/events", readerToken, "", "X-Request-Id", "audit-refused"), http.StatusForbidden, CodeForbidden)
	if recs := recordsFor(t, auditStore, "audit-refused"); len(recs) != 1 || recs[0].Action != audit.ActionDenied ||
		recs[0].Outcome != audit.OutcomeDenied {
		t.Errorf("audit record of the refusal: %+v", recs)
	}
}
