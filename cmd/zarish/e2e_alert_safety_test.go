package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// mailTo reports whether the dev mail sink holds a message to address
// mentioning every one of words.
func mailTo(e *e2e, address string, words ...string) bool {
	entries, _ := os.ReadDir(e.stack.MailDir)
	for _, f := range entries {
		b, _ := os.ReadFile(e.stack.MailDir + "/" + f.Name())
		msg := string(b)
		if !strings.Contains(msg, address) {
			continue
		}
		found := true
		for _, w := range words {
			found = found && strings.Contains(msg, w)
		}
		if found {
			return true
		}
	}
	return false
}

// TestEndToEndAlertReachesTheFallbackContact: a critical alert for a unit
// with no care team notifies nobody at any level, so it is not left
// waiting: every level is recorded as unreachable, the operator's fallback
// contact (operator@localhost under `zarish dev`) gets the alarm through
// the mail sink, the alert is listed as undeliverable and counted on
// /metrics.
func TestEndToEndAlertReachesTheFallbackContact(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)

	r = e.do(http.MethodPost, "/v1/notifications/alerts", token, map[string]any{"patientId": p.ID, "unit": "ward-empty",
		"severity": "critical", "category": "critical-lab-value", "message": "Potassium 7.1 mmol/L", "source": "e2e/lab"})
	var raised struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	r.json(t, &raised)
	if r.status != http.StatusAccepted || raised.ID == "" || raised.Status != "open" {
		t.Fatalf("raise: %d %s", r.status, r.body)
	}
	var body string
	eventually(t, 30*time.Second, "the alert closed as undeliverable", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts/"+raised.ID, token, nil)
		body = string(r.body)
		return r.status == http.StatusOK && strings.Contains(body, `"status":"undeliverable"`)
	})
	for _, want := range []string{"no nurse on ward-empty", "no charge-nurse on ward-empty",
		"no physician on call for ward-empty or hospital-wide", "operator@localhost"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the timeline does not say %q: %s", want, body)
		}
	}
	eventually(t, 30*time.Second, "the operator alarm in the mail sink", func() bool {
		return mailTo(e, "operator@localhost", raised.ID, "UNDELIVERABLE")
	})
	r = e.do(http.MethodGet, "/v1/notifications/alerts?status=undeliverable", token, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), raised.ID) {
		t.Fatalf("undeliverable alerts: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodGet, "/metrics", "", nil)
	if !strings.Contains(string(r.body), "zarish_alerts_undeliverable_total 1") {
		t.Fatalf("metric missing: %s", grepLines(string(r.body), "zarish_alerts"))
	}
}

// TestEndToEndAlertPoisonedRaiseDoesNotHideTheNext is issue 10's poisoned
// deduplication: a raise whose message cannot be stored (a NUL byte) is
// refused, and the critical alert for the same patient, unit and category
// that follows is raised and reaches the ward's nurse.
func TestEndToEndAlertPoisonedRaiseDoesNotHideTheNext(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)
	r = e.do(http.MethodPost, "/v1/clinical/practitioners", token, map[string]any{
		"name": "Nurse Rokeya", "roles": []string{"nurse"}, "units": []string{"ward-8"}})
	var nurse struct {
		ID string `json:"id"`
	}
	r.json(t, &nurse)

	raise := func(severity, message string) response {
		return e.do(http.MethodPost, "/v1/notifications/alerts", token, `{"patientId":"`+p.ID+`","unit":"ward-8","severity":"`+severity+
			`","category":"critical-lab-value","message":"`+message+`","source":"e2e/lab"}`)
	}
	if r := raise("warning", `a\u0000b`); r.status != http.StatusBadRequest {
		t.Fatalf("a raise that cannot be stored: %d %s", r.status, r.body)
	}
	r = raise("critical", "Potassium 7.1 mmol/L")
	var critical struct {
		ID string `json:"id"`
	}
	r.json(t, &critical)
	if r.status != http.StatusAccepted || critical.ID == "" {
		t.Fatalf("critical raise: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/notifications/alerts/"+critical.ID, token, nil); r.status != http.StatusOK {
		t.Fatalf("the raised alert cannot be read: %d %s", r.status, r.body)
	}
	app := e.actingToken() // the ward's app, reading the nurse's inbox for her
	eventually(t, 30*time.Second, "the nurse notified of the critical alert", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", app, nil, onBehalfOf(nurse.ID)...)
		return strings.Contains(string(r.body), critical.ID)
	})
}

// grepLines keeps the lines of s that contain word.
func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
