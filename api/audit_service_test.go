package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/audit"
)

// TestAuditNamesTheCallingService: a service names itself in
// X-Service-Name and its requests' audit records keep the name; a name not
// of letters, digits, dot, dash and underscore, or longer than 100, is
// refused naming the header, and the refusal's record names no service.
func TestAuditNamesTheCallingService(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	r := call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Rina", "Das"),
		"X-Request-Id", "svc-1", "X-Service-Name", "lab-gateway_2.eu-west")
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if rec := recordsFor(t, store, "svc-1"); len(rec) != 1 || rec[0].Service != "lab-gateway_2.eu-west" || rec[0].Actor.ClientID != "admin" {
		t.Fatalf("records: %+v", rec)
	}
	call(t, srv, "GET", "/v1/patients?name=rina", readerToken, "", "X-Request-Id", "svc-2")
	if rec := recordsFor(t, store, "svc-2"); len(rec) != 1 || rec[0].Service != "" {
		t.Fatalf("a request without the header: %+v", rec)
	}
	// A submitted record names the service that submitted it too.
	r = call(t, srv, "POST", "/v1/audit/events", adminToken, `{"action":"security","outcome":"failure","entityType":"Device"}`,
		"X-Request-Id", "svc-3", "X-Service-Name", "badge-reader")
	var submitted audit.Record
	if err := json.Unmarshal([]byte(r.body), &submitted); err != nil || r.status != http.StatusCreated || submitted.Service != "badge-reader" {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}

	for _, bad := range []struct{ value, message string }{
		{"lab gateway", "must be letters, digits, '.', '-' and '_'"},
		{"lab/gateway", "must be letters, digits, '.', '-' and '_'"},
		{"läb", "must be letters, digits, '.', '-' and '_'"},
		{strings.Repeat("s", 101), "must be at most 100 characters"},
	} {
		r := call(t, srv, "GET", "/v1/patients?name=rina", readerToken, "", "X-Request-Id", "svc-bad", "X-Service-Name", bad.value)
		e := decodeErr(t, r)
		if r.status != http.StatusBadRequest || e.Error != CodeValidationFailed || len(e.Details) != 1 ||
			e.Details[0].Field != "X-Service-Name" || e.Details[0].Message != bad.message {
			t.Fatalf("X-Service-Name %q: %d %s", bad.value, r.status, r.body)
		}
	}
	recs := recordsFor(t, store, "svc-bad")
	if len(recs) != 4 {
		t.Fatalf("refusals recorded: %d, want 4", len(recs))
	}
	for _, rec := range recs {
		if rec.Service != "" || rec.Status != http.StatusBadRequest {
			t.Fatalf("a refusal's record: %+v", rec)
		}
	}
	if rec := recordsFor(t, store, "svc-1"); rec[0].Service != "lab-gateway_2.eu-west" {
		t.Fatalf("read back: %+v", rec[0])
	}
}
