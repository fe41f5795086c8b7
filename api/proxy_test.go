package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The address an audit record names comes from X-Forwarded-For only when the
// connection is from a trusted proxy; anyone else would choose their own.
func TestOnlyTrustedProxiesNameTheClient(t *testing.T) {
	sourceIP := func(srv *httptest.Server) string {
		t.Helper()
		r := call(t, srv, http.MethodGet, "/v1/patients/0193c0de-0000-7000-8000-000000000777", adminToken, "",
			"X-Forwarded-For", "203.0.113.9")
		id := r.header.Get("X-Request-Id")
		r = call(t, srv, http.MethodGet, "/v1/audit/events?actor=admin&limit=200", adminToken, "")
		var page struct {
			Data []struct {
				RequestID string `json:"requestId"`
				SourceIP  string `json:"sourceIp"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.body), &page); err != nil {
			t.Fatalf("audit events: %d %s", r.status, r.body)
		}
		for _, rec := range page.Data {
			if rec.RequestID == id {
				return rec.SourceIP
			}
		}
		t.Fatalf("no audit record of request %s", id)
		return ""
	}

	if got := sourceIP(newTestAPI(t)); got != "127.0.0.1" {
		t.Errorf("untrusted X-Forwarded-For was believed: source %s", got)
	}

	d, _ := testDeps(t, nil)
	d.TrustedProxies = []string{"127.0.0.1"}
	behindProxy := httptest.NewServer(NewRouter(d))
	t.Cleanup(behindProxy.Close)
	if got := sourceIP(behindProxy); got != "203.0.113.9" {
		t.Errorf("behind a trusted proxy the source is %s, want the forwarded 203.0.113.9", got)
	}
}
